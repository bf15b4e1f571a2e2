package httpserver

import (
	"github.com/VictoriaMetrics/metrics"
	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
)

// RegisterStandard adds the operational routes to r:
//
//	GET /healthz  200 while the process runs
//	GET /readyz   200 when ready() is true and the server is not draining, else 503
//	GET /metrics  Prometheus text: the server's metrics.Set plus process metrics
//
// /healthz and /readyz answer HEAD too, for load-balancer probes.
//
// ready is called on every /readyz request and must be cheap and safe for
// concurrent use; nil means always ready.
func (s *Server) RegisterStandard(r *router.Router, ready func() bool) {
	healthz := func(ctx *fasthttp.RequestCtx) {
		noStore(ctx, "application/json")
		ctx.SetBodyString(`{"status":"ok"}`)
	}
	readyz := func(ctx *fasthttp.RequestCtx) {
		if s.Draining() || (ready != nil && !ready()) {
			api.WriteError(ctx, api.Errorf(api.ECodeUnavailable, "not ready"))
			return
		}
		noStore(ctx, "application/json")
		ctx.SetBodyString(`{"status":"ready"}`)
	}
	r.GET("/healthz", healthz)
	r.HEAD("/healthz", healthz)
	r.GET("/readyz", readyz)
	r.HEAD("/readyz", readyz)
	r.GET("/metrics", func(ctx *fasthttp.RequestCtx) {
		noStore(ctx, "text/plain; version=0.0.4; charset=utf-8")
		s.ms.WritePrometheus(ctx)
		metrics.WriteProcessMetrics(ctx)
	})
}

func noStore(ctx *fasthttp.RequestCtx, contentType string) {
	ctx.Response.Header.SetContentType(contentType)
	ctx.Response.Header.Set("Cache-Control", "no-store")
}
