package forward

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// benchCore answers every request with a small JSON order.
func benchCore(b *testing.B) string {
	b.Helper()
	body := []byte(`{"id":"0123456789abcdef0123456789abcdef","status":"paid","lines":[],"totals":{"amount":29999,"currency":"USD"}}`)
	return startCore(b, func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(201)
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	})
}

const benchBody = `{"cart_id":"0123456789abcdef0123456789abcdef","payment_token":"tok_ok","email":"a@example.com"}`

// BenchmarkForward measures the forwarded checkout route as the edge
// mounts it: router, checks (parameters, card screen), per-client limits
// (the default budgets, with a client address per goroutine so none is
// exhausted), breaker, in-flight bound, one loopback round trip and the
// response copy.
func BenchmarkForward(b *testing.B) {
	cfg := testConfig(benchCore(b))
	cfg.Limits = DefaultLimits()
	cfg.Limits.ClientRate, cfg.Limits.CartRate, cfg.Limits.CheckoutsPerCart = 1e9, 1e9, 0
	f := mustNew(b, cfg)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	var n atomic.Uint32
	b.RunParallel(func(pb *testing.PB) {
		n := n.Add(1)
		remote := &net.TCPAddr{IP: net.IPv4(10, 0, byte(n>>8), byte(n)), Port: 4000}
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
			f.handler(&ctx)
			if ctx.Response.StatusCode() != 201 {
				b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
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
