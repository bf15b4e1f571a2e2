package httpserver

import (
	"sync/atomic"
	"testing"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
)

var benchSink atomic.Int64

func benchHandler(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(`{"id":"1"}`) }

// BenchmarkHandlerBare is the baseline: the routed handler alone.
func BenchmarkHandlerBare(b *testing.B) {
	r := NewRouter()
	r.GET("/v1/products/{id}", benchHandler)
	benchServe(b, r.Handler)
}

// BenchmarkHandlerMiddleware is the same handler behind Server's middleware
// (request id, metrics by route, recovery).
func BenchmarkHandlerMiddleware(b *testing.B) {
	r := NewRouter()
	r.GET("/v1/products/{id}", benchHandler)
	s := New(testConfig(), zerolog.Nop(), metrics.NewSet(), r.Handler)
	benchServe(b, s.serve)
}

func benchServe(b *testing.B, h fasthttp.RequestHandler) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/v1/products/1502983")
		n := 0
		for pb.Next() {
			ctx.Request.Header.Del(HeaderRequestID)
			ctx.Response.Reset()
			ctx.ResetUserValues()
			h(&ctx)
			n += len(ctx.Response.Body())
		}
		benchSink.Add(int64(n))
	})
}
