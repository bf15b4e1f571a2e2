package httpserver

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/fasthttp/router"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/internal/proctest"
)

// startTCP serves r behind a Server on 127.0.0.1:0 (real sockets, for
// timeouts and listener behaviour) and returns it with its address.
func startTCP(t *testing.T, cfg Config, r *router.Router, logs io.Writer) (*Server, string) {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	if logs == nil {
		logs = io.Discard
	}
	s := New(cfg, zerolog.New(logs), metrics.NewSet(), r.Handler)
	s.RegisterStandard(r, Standard{Tokens: []string{testOpsToken}})
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe() }()
	deadline := time.Now().Add(5 * time.Second)
	for s.Addr() == nil {
		if time.Now().After(deadline) {
			t.Fatal("not listening")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()); <-done })
	return s, s.Addr().String()
}

// exchange writes request on a new connection and returns every byte the
// server sends until it closes the connection (or 3 s pass).
func exchange(t *testing.T, addr, request string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write([]byte(request)); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

// TestHeaderNameWithSpaceIs400 (issue 13): "Content Length: 29" is not a
// Content-Length; fasthttp would keep it as a header and read the body as
// a second request. The server answers 400 and closes the connection, so
// the smuggled request is never served. Without the check the first
// answer is 200 and /items/2 is served too.
func TestHeaderNameWithSpaceIs400(t *testing.T) {
	var served atomic.Int32
	r := echoRouter()
	r.GET("/hit/{n}", func(ctx *fasthttp.RequestCtx) { served.Add(1) })
	_, addr := startTCP(t, testConfig(), r, nil)
	smuggled := "GET /hit/2 HTTP/1.1\r\nHost: shop\r\n\r\n"
	for _, hdr := range []string{
		"Content Length: " + strconv.Itoa(len(smuggled)),
		"Transfer Encoding: chunked",
		"X Request Id: abc",
	} {
		out := exchange(t, addr, "GET /hit/1 HTTP/1.1\r\nHost: shop\r\n"+hdr+"\r\n\r\n"+smuggled)
		if !strings.HasPrefix(out, "HTTP/1.1 400 ") || !strings.Contains(out, `"code":"invalid"`) {
			t.Fatalf("%q: answer %q", hdr, out)
		}
		if n := strings.Count(out, "HTTP/1.1 "); n != 1 {
			t.Fatalf("%q: %d answers on one connection: %q", hdr, n, out)
		}
	}
	if n := served.Load(); n != 0 {
		t.Fatalf("handler ran %d times for requests with malformed header names", n)
	}
	// A well-formed request with the same shape is served.
	if out := exchange(t, addr, "GET /hit/1 HTTP/1.1\r\nHost: shop\r\nX-Request-Id: abc\r\nConnection: close\r\n\r\n"); !strings.HasPrefix(out, "HTTP/1.1 200 ") {
		t.Fatalf("well-formed request: %q", out)
	}
}

// TestRequestThatNeverArrivesIs408: a client that sends nothing, or only
// part of its headers, within read_timeout gets 408 (a gateway's 504 would
// blame an upstream) and a closed connection.
func TestRequestThatNeverArrivesIs408(t *testing.T) {
	cfg := testConfig()
	cfg.ReadTimeout = 300 * time.Millisecond
	_, addr := startTCP(t, cfg, echoRouter(), nil)
	for _, partial := range []string{"", "GET /items/1 HTTP/1.1\r\nHost: sh"} {
		start := time.Now()
		out := exchange(t, addr, partial)
		if out != "" && (!strings.HasPrefix(out, "HTTP/1.1 408 ") || !strings.Contains(out, `"code":"request_timeout"`)) {
			t.Fatalf("partial %q: answer %q, want 408 or a plain close", partial, out)
		}
		if strings.Contains(out, " 504 ") {
			t.Fatalf("partial %q: 504", partial)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("partial %q: connection held %s with a 300ms read timeout", partial, d)
		}
	}
}

// TestNoRedirectFromClientValues: the router's trailing-slash and
// fixed-path redirects put the request's Host and path in Location; they
// are off, so such paths are 404 without a Location.
func TestNoRedirectFromClientValues(t *testing.T) {
	ts := startServer(t, testConfig(), echoRouter(), nil)
	for _, p := range []string{"/items/1/", "/ITEMS/1", "/echo/", "//items/1", "/items/../items/1"} {
		resp := ts.raw(t, "GET "+p+" HTTP/1.1\r\nHost: evil.example\r\n\r\n")
		if loc := resp.Header.Peek("Location"); len(loc) != 0 || resp.StatusCode()/100 == 3 {
			t.Fatalf("%s: %d Location %q", p, resp.StatusCode(), loc)
		}
	}
}

// TestEvery503CarriesRetryAfter: a 503 without Retry-After gets one; a
// handler's own value is kept.
func TestEvery503CarriesRetryAfter(t *testing.T) {
	r := echoRouter()
	r.GET("/down", func(ctx *fasthttp.RequestCtx) { api.WriteError(ctx, api.Errorf(api.ECodeUnavailable, "down")) })
	r.GET("/down7", func(ctx *fasthttp.RequestCtx) {
		api.WriteError(ctx, api.Errorf(api.ECodePaymentUnknown, "later"))
		ctx.Response.Header.Set("Retry-After", "7")
	})
	ts := startServer(t, testConfig(), r, func() bool { return false })
	for path, want := range map[string]string{"/down": "1", "/down7": "7", "/readyz": "1"} {
		if got := string(ts.do(t, "GET", path, nil).Header.Peek("Retry-After")); got != want {
			t.Fatalf("%s: Retry-After %q, want %q", path, got, want)
		}
	}
	if got := ts.do(t, "GET", "/nowhere", nil).Header.Peek("Retry-After"); len(got) != 0 {
		t.Fatalf("404 with Retry-After %q", got)
	}
}

// TestAccessLogRedactsCardNumbers: a failed request whose path carries a
// card number is logged with its digits masked; a card-like request id is
// replaced before it is logged.
func TestAccessLogRedactsCardNumbers(t *testing.T) {
	var logs proctest.SyncBuffer
	r := echoRouter()
	r.GET("/fail/{sku}", func(ctx *fasthttp.RequestCtx) { api.WriteError(ctx, api.Errorf(api.ECodeUnavailable, "down")) })
	_, addr := startTCP(t, testConfig(), r, &logs)
	for _, p := range []string{"/fail/4111-1111-1111-1111", "/fail/4111111111111111", "/fail/%34111111111111111"} {
		exchange(t, addr, "GET "+p+" HTTP/1.1\r\nHost: shop\r\nX-Request-Id: 5555.5555.5555.4444\r\nConnection: close\r\n\r\n")
	}
	out := logs.String()
	if strings.Count(out, `"status":503`) != 3 || !strings.Contains(out, `"path":"/fail/****-****-****-****"`) {
		t.Fatalf("logs: %s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if api.ContainsCardNumber([]byte(line)) {
			t.Fatalf("card number logged: %s", line)
		}
	}
}

// TestOpsRoutesNeedAToken: /metrics and /debug/pprof/ answer 401 without
// one of the server's tokens; /healthz and /readyz need none.
func TestOpsRoutesNeedAToken(t *testing.T) {
	ts := startServer(t, testConfig(), echoRouter(), nil)
	for _, path := range []string{"/metrics", "/debug/pprof/heap", "/debug/pprof/goroutine?debug=1"} {
		for _, auth := range []string{"", "Bearer wrong", "Basic " + testOpsToken, "Bearer " + testOpsToken + "x", testOpsToken} {
			resp := ts.do(t, "GET", path, nil, "Authorization", auth)
			wantError(t, resp, 401, api.ECodeUnauthorized)
			if strings.Contains(string(resp.Body()), "shopedge_") {
				t.Fatalf("%s: 401 leaks metrics", path)
			}
		}
		resp := ts.do(t, "GET", path, nil, "Authorization", "Bearer "+testOpsToken)
		if resp.StatusCode() != 200 || len(resp.Body()) == 0 || string(resp.Header.Peek("Cache-Control")) != "no-store" {
			t.Fatalf("%s with the token: %d, %d bytes, Cache-Control %q", path, resp.StatusCode(), len(resp.Body()), resp.Header.Peek("Cache-Control"))
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if s := ts.do(t, "GET", path, nil).StatusCode(); s != 200 {
			t.Fatalf("%s: %d", path, s)
		}
	}
	// No token configured and not open: closed to everyone.
	r := NewRouter()
	s := New(testConfig(), zerolog.Nop(), metrics.NewSet(), r.Handler)
	s.RegisterStandard(r, Standard{Tokens: []string{""}})
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/metrics")
	ctx.Request.Header.Set("Authorization", "Bearer ")
	r.Handler(&ctx)
	if ctx.Response.StatusCode() != 401 {
		t.Fatalf("empty token list: %d", ctx.Response.StatusCode())
	}
}

// TestDrainDelayAnswersNotReady: while a stopping server waits its
// drain_delay it still accepts and serves, /readyz answers 503 and every
// response closes its connection; afterwards it stops accepting.
func TestDrainDelayAnswersNotReady(t *testing.T) {
	cfg := testConfig()
	cfg.DrainDelay = 400 * time.Millisecond
	s, addr := startTCP(t, cfg, echoRouter(), nil)
	get := func(path string) (int, bool, error) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://" + addr + path)
		err := fasthttp.DoTimeout(req, resp, time.Second)
		return resp.StatusCode(), resp.ConnectionClose(), err
	}
	if st, closed, err := get("/readyz"); st != 200 || closed || err != nil {
		t.Fatalf("before: %d close=%v %v", st, closed, err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- s.Shutdown(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	if st, closed, err := get("/readyz"); st != 503 || !closed || err != nil {
		t.Fatalf("draining /readyz: %d close=%v %v", st, closed, err)
	}
	if st, closed, err := get("/items/1"); st != 200 || !closed || err != nil {
		t.Fatalf("draining request: %d close=%v %v", st, closed, err)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if _, _, err := get("/readyz"); err == nil {
		t.Fatal("still accepting after the drain delay")
	}
}
