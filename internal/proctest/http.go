package proctest

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"shopedge/internal/openapi/openapitest"
)

// Get sends a GET to url with the header pairs hdr (name, value, …) and
// returns the response, failing the test on a transport error or after 5 s.
// It is for shopedge's binaries: the exchange must conform to the OpenAPI
// document (internal/openapi; see openapitest.Validator.Check for the
// rules), else the test fails.
func Get(tb testing.TB, url string, hdr ...string) *fasthttp.Response {
	tb.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI(url)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp := &fasthttp.Response{}
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	checkConformance(tb, req, resp)
	return resp
}

// checkConformance fails tb when the exchange does not conform to the
// OpenAPI document.
func checkConformance(tb testing.TB, req *fasthttp.Request, resp *fasthttp.Response) {
	tb.Helper()
	v, err := openapitest.Default()
	if err != nil {
		tb.Fatal(err)
	}
	x := openapitest.Exchange{Method: string(req.Header.Method()), URL: req.URI().String(),
		RequestHeader: http.Header{}, Status: resp.StatusCode(), Header: http.Header{}, Body: resp.Body()}
	for k, v := range req.Header.All() {
		x.RequestHeader.Add(string(k), string(v))
	}
	for k, v := range resp.Header.All() {
		x.Header.Add(string(k), string(v))
	}
	if err := v.Check(x); err != nil {
		tb.Error(err)
	}
}

// promLine matches one sample line of the Prometheus text format.
var promLine = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:, ?[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? (?:[-+]?[0-9.eE+-]+|NaN|[+-]Inf)$`)

// CheckServing runs the checks every tier's process at base
// ("http://host:port") must pass: /healthz answers 200 within 10 s,
// /readyz answers 200 (at once, or by readyWithin after /healthz), /metrics
// is Prometheus text of at least 10 lines (asked with the bearer token
// opsToken when given; without it /metrics must answer 401), and an
// unknown route is a JSON not_found that echoes X-Request-ID.
func CheckServing(tb testing.TB, base string, readyWithin time.Duration, opsToken ...string) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for Get(tb, base+"/healthz").StatusCode() != 200 {
		if time.Now().After(deadline) {
			tb.Fatal("/healthz never answered 200")
		}
		time.Sleep(20 * time.Millisecond)
	}
	deadline = time.Now().Add(readyWithin)
	for s := Get(tb, base+"/readyz").StatusCode(); s != 200; s = Get(tb, base+"/readyz").StatusCode() {
		if !time.Now().Before(deadline) {
			tb.Fatalf("/readyz = %d, not 200 within %v", s, readyWithin)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := Get(tb, base+"/metrics").StatusCode(); len(opsToken) > 0 && st != 401 {
		tb.Fatalf("/metrics without a token = %d, want 401", st)
	}
	var auth []string
	for _, t := range opsToken {
		auth = append(auth, "Authorization", "Bearer "+t)
	}
	if err := metricsError(Get(tb, base+"/metrics", auth...).Body()); err != nil {
		tb.Fatal(err)
	}
	resp := Get(tb, base+"/no/such/route", "X-Request-ID", "trace-42")
	var body struct{ Error struct{ Code string } }
	if resp.StatusCode() != 404 || json.Unmarshal(resp.Body(), &body) != nil || body.Error.Code != "not_found" {
		tb.Fatalf("unknown route: %d %s", resp.StatusCode(), resp.Body())
	}
	if id := string(resp.Header.Peek("X-Request-ID")); id != "trace-42" {
		tb.Fatalf("X-Request-ID echo = %q", id)
	}
}

// metricsError says why body is not Prometheus text of at least 10
// lines, or returns nil.
func metricsError(body []byte) error {
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if len(lines) < 10 {
		return fmt.Errorf("/metrics has %d lines", len(lines))
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "#") {
			continue
		}
		if !promLine.MatchString(l) {
			return fmt.Errorf("/metrics line is not Prometheus text: %q", l)
		}
	}
	return nil
}
