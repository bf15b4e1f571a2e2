//go:build !race

package httpserver

import (
	"testing"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
)

// The middleware adds no allocation to a request, whether the client sent
// a request id or the server generates one, and whether the router or a
// dispatch picked the handler.
func TestMiddlewareAllocs(t *testing.T) {
	s := New(testConfig(), zerolog.Nop(), metrics.NewSet(), func(ctx *fasthttp.RequestCtx) {
		ctx.SetBodyString("ok")
	})
	f := func(id string) {
		t.Helper()
		var ctx fasthttp.RequestCtx
		// Init stamps the request's arrival time, as serving does: a zero
		// time would make every request "slow" and logged.
		ctx.Init(&fasthttp.Request{}, nil, nil)
		ctx.Request.SetRequestURI("/p/1")
		run := func() {
			ctx.Request.Header.Set(HeaderRequestID, id)
			ctx.Response.Reset()
			s.serve(&ctx)
		}
		run()
		if n := testing.AllocsPerRun(200, run); n != 0 {
			t.Fatalf("id %q: %.1f allocations per request", id, n)
		}
	}
	f("client-id-1")
	f("")
	s.SetDispatch(func(ctx *fasthttp.RequestCtx) (fasthttp.RequestHandler, string) {
		return s.handler, "/p/{id}"
	})
	f("client-id-1")
	f("")
}
