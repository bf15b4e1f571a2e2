package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"

	"shopedge/internal/openapi"
)

// Transport is an http.RoundTripper that checks every exchange with a
// registered address against the document. A request sent with a context
// from Watch reports its violations there; the others are kept for
// Failures. Exchanges with other addresses (a payment simulator, a CDN)
// pass unchecked.
type Transport struct {
	Base http.RoundTripper
	v    *Validator

	mu       sync.Mutex
	tiers    map[string]openapi.Tier // host:port → tier
	failures []string
	checked  int
}

// NewTransport returns a Transport over base (http.DefaultTransport when
// nil) checking with v.
func NewTransport(base http.RoundTripper, v *Validator) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{Base: base, v: v, tiers: map[string]openapi.Tier{}}
}

// Serve registers addr (host:port) as a listener of tier.
func (t *Transport) Serve(addr string, tier openapi.Tier) {
	t.mu.Lock()
	t.tiers[addr] = tier
	t.mu.Unlock()
}

// Failures returns the violations of requests sent without a Watch
// context, and how many exchanges were checked in all.
func (t *Transport) Failures() (failures []string, checked int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.failures...), t.checked
}

// Report collects the violations of the requests sent with its context.
type Report struct {
	mu   sync.Mutex
	errs []error
}

// Errors returns the violations so far.
func (r *Report) Errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

type reportKey struct{}

// Watch returns ctx carrying a new Report for the requests sent with it.
func Watch(ctx context.Context) (context.Context, *Report) {
	r := &Report{}
	return context.WithValue(ctx, reportKey{}, r), r
}

// RoundTrip sends req with Base and, for a registered address, checks the
// exchange. The response body is read whole and handed back unchanged; a
// body that cannot be read whole (a connection cut mid-answer) is handed
// back with its error and not checked.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	tier, ok := t.tiers[req.URL.Host]
	t.mu.Unlock()
	if !ok {
		return t.Base.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody != nil {
			rc, err := req.GetBody()
			if err == nil {
				reqBody, _ = io.ReadAll(rc)
				rc.Close()
			}
		} else {
			b, err := io.ReadAll(req.Body)
			req.Body.Close()
			if err != nil {
				return nil, err
			}
			reqBody = b
			req.Body = io.NopCloser(bytes.NewReader(b))
		}
	}
	resp, err := t.Base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if rerr != nil {
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{rerr}))
		return resp, nil
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	cerr := t.v.Check(Exchange{
		Tier: tier, Method: req.Method, URL: req.URL.String(), RequestHeader: req.Header, RequestBody: reqBody,
		Status: resp.StatusCode, Header: resp.Header, Body: body,
	})
	t.mu.Lock()
	t.checked++
	if cerr != nil {
		if r, ok := req.Context().Value(reportKey{}).(*Report); ok {
			r.mu.Lock()
			r.errs = append(r.errs, cerr)
			r.mu.Unlock()
		} else {
			t.failures = append(t.failures, fmt.Sprintf("%s (%s)", cerr, tier))
		}
	}
	t.mu.Unlock()
	return resp, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// shared is the Validator of Default.
var shared = sync.OnceValues(New)

// Default returns a Validator of the embedded document, loaded once per
// test binary.
func Default() (*Validator, error) { return shared() }
