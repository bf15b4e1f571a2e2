package forward

import (
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// benchCore answers every request with a small JSON order.
func benchCore(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"id":"0123456789abcdef0123456789abcdef","status":"paid","lines":[],"totals":{"amount":29999,"currency":"USD"}}`)
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(201)
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}}
	go func() { _ = s.Serve(ln) }()
	b.Cleanup(func() { _ = s.Shutdown() })
	return ln.Addr().String()
}

const benchBody = `{"cart_id":"0123456789abcdef0123456789abcdef","payment_token":"tok_ok","email":"a@example.com"}`

// BenchmarkForward measures Handle: request copy, breaker, in-flight
// bound, one loopback round trip and the response copy.
func BenchmarkForward(b *testing.B) {
	f := mustNewB(b, benchCore(b))
	remote := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 7), Port: 4000}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	b.RunParallel(func(pb *testing.PB) {
		var req fasthttp.Request
		var ctx fasthttp.RequestCtx
		for pb.Next() {
			req.Reset()
			req.Header.SetMethod("POST")
			req.SetRequestURI("/v1/checkout")
			req.Header.Set("Idempotency-Key", "k")
			req.Header.SetContentType("application/json")
			req.SetBodyString(benchBody)
			ctx.Init(&req, remote, nil)
			f.Handle(&ctx)
			if ctx.Response.StatusCode() != 201 {
				b.Fatalf("status %d", ctx.Response.StatusCode())
			}
		}
	})
}

// BenchmarkForwardBaseline is the twin: the same round trip with a bare
// HostClient, no forwarding logic.
func BenchmarkForwardBaseline(b *testing.B) {
	addr := benchCore(b)
	hc := &fasthttp.HostClient{Addr: addr, MaxConns: 512}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	b.RunParallel(func(pb *testing.PB) {
		var req fasthttp.Request
		var resp fasthttp.Response
		for pb.Next() {
			req.Reset()
			req.Header.SetMethod("POST")
			req.SetRequestURI("http://" + addr + "/v1/checkout")
			req.Header.Set("Idempotency-Key", "k")
			req.Header.SetContentType("application/json")
			req.SetBodyString(benchBody)
			if err := hc.DoTimeout(&req, &resp, 5*time.Second); err != nil || resp.StatusCode() != 201 {
				b.Fatalf("status %d: %v", resp.StatusCode(), err)
			}
		}
	})
}

func mustNewB(b *testing.B, addr string) *Forwarder {
	b.Helper()
	cfg := testConfig(addr)
	f, err := New(cfg, nopLogger(), newSet())
	if err != nil {
		b.Fatal(err)
	}
	return f
}
