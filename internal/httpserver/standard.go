package httpserver

import (
	"bytes"
	"crypto/subtle"

	"github.com/VictoriaMetrics/metrics"
	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/pprofhandler"

	"shopedge/core/api"
)

// Standard configures the operational routes RegisterStandard adds.
type Standard struct {
	// Ready reports whether the tier can serve; nil means always. It is
	// called on every /readyz request and must be cheap and safe for
	// concurrent use.
	Ready func() bool
	// Tokens are the bearer tokens that open /metrics and /debug/pprof/
	// (empty ones are ignored). Without Open and without a token those
	// routes answer 401 to everyone.
	Tokens []string
	// Open serves /metrics and /debug/pprof/ without a token: for an
	// operations listener bound to a private address, never for the
	// public one.
	Open bool
	// Extra are metric sets written on /metrics before the server's own
	// (an operations listener writes the main server's set this way).
	Extra []*metrics.Set
}

// RegisterStandard adds the operational routes to r:
//
//	GET /healthz        200 while the process runs
//	GET /readyz         200 when st.Ready reports true and the server is not draining, else 503
//	GET /metrics        Prometheus text: st.Extra, the server's metrics.Set, process metrics
//	GET /debug/pprof/…  Go's runtime profiles (heap, CPU, goroutines…)
//
// /healthz and /readyz answer HEAD too, for load-balancer probes; they
// need no token. /metrics and /debug/pprof/ (the core's address, breaker
// states, versions, memory) need one of st.Tokens as a bearer token
// unless st.Open.
func (s *Server) RegisterStandard(r *router.Router, st Standard) {
	healthz := func(ctx *fasthttp.RequestCtx) {
		noStore(ctx, "application/json")
		ctx.SetBodyString(`{"status":"ok"}`)
	}
	readyz := func(ctx *fasthttp.RequestCtx) {
		if s.Draining() || (st.Ready != nil && !st.Ready()) {
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
	guard := opsGuard(st)
	r.GET("/metrics", guard(func(ctx *fasthttp.RequestCtx) {
		noStore(ctx, "text/plain; version=0.0.4; charset=utf-8")
		for _, ms := range st.Extra {
			ms.WritePrometheus(ctx)
		}
		s.ms.WritePrometheus(ctx)
		metrics.WriteProcessMetrics(ctx)
	}))
	r.GET("/debug/pprof/{profile:*}", guard(func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "no-store")
		pprofhandler.PprofHandler(ctx)
	}))
}

// opsGuard returns a wrapper that answers 401 unless the request carries
// one of st's tokens (compared in constant time) or st is open.
func opsGuard(st Standard) func(fasthttp.RequestHandler) fasthttp.RequestHandler {
	var want [][]byte
	for _, t := range st.Tokens {
		if t != "" {
			want = append(want, []byte("Bearer "+t))
		}
	}
	return func(h fasthttp.RequestHandler) fasthttp.RequestHandler {
		if st.Open {
			return h
		}
		return func(ctx *fasthttp.RequestCtx) {
			got := bytes.TrimSpace(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization))
			ok := 0
			for _, w := range want {
				ok |= subtle.ConstantTimeCompare(got, w)
			}
			if ok != 1 {
				ctx.Response.Header.Set(fasthttp.HeaderWWWAuthenticate, `Bearer realm="shopedge-ops"`)
				api.WriteError(ctx, api.Errorf(api.ECodeUnauthorized, "a valid bearer token is required (or use the operations listener)"))
				return
			}
			h(ctx)
		}
	}
}

func noStore(ctx *fasthttp.RequestCtx, contentType string) {
	ctx.Response.Header.SetContentType(contentType)
	ctx.Response.Header.Set("Cache-Control", "no-store")
}
