package httpapi

import (
	"bytes"
	"testing"

	"github.com/VictoriaMetrics/metrics"
	"github.com/fasthttp/router"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"shopedge/internal/httpserver"
)

// dispatched returns the edge's handler as the binary serves it: the
// server's middleware, with a's dispatch in front of r.
func dispatched(a *API, r *router.Router) fasthttp.RequestHandler {
	cfg := httpserver.DefaultConfig()
	cfg.Name = "edge"
	s := httpserver.New(cfg, zerolog.Nop(), metrics.NewSet(), r.Handler)
	s.SetDispatch(a.Dispatch)
	return s.Handler()
}

// The direct dispatch of product reads answers exactly as the router does,
// records the same route pattern, and hands everything else to the router.
func TestHandlerDispatchMatchesRouter(t *testing.T) {
	a := benchAPI(t)
	a.deps.Suggest = func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("suggest " + string(ctx.QueryArgs().Peek("q"))) }
	r := httpserver.NewRouter()
	a.Register(r)
	f := func(method, uri, wantRoute string) {
		t.Helper()
		req := func() *fasthttp.RequestCtx {
			var ctx fasthttp.RequestCtx
			ctx.Request.Header.SetMethod(method)
			ctx.Request.SetRequestURI(uri)
			return &ctx
		}
		viaRouter := req()
		r.Handler(viaRouter)
		routerRoute, _ := viaRouter.UserValue(router.MatchedRoutePathParam).(string)
		viaDirect := req()
		h, route := a.Dispatch(viaDirect)
		if route != wantRoute || (h == nil) != (wantRoute == "") {
			t.Fatalf("%s %s: dispatched to route %q (handler %v), want %q", method, uri, route, h != nil, wantRoute)
		}
		if h == nil {
			return // the router serves it
		}
		if route != routerRoute {
			t.Fatalf("%s %s: dispatch names route %q, the router %q", method, uri, route, routerRoute)
		}
		h(viaDirect)
		if viaRouter.Response.StatusCode() != viaDirect.Response.StatusCode() ||
			!bytes.Equal(viaRouter.Response.Body(), viaDirect.Response.Body()) {
			t.Fatalf("%s %s: router %d %q, direct %d %q", method, uri,
				viaRouter.Response.StatusCode(), viaRouter.Response.Body(),
				viaDirect.Response.StatusCode(), viaDirect.Response.Body())
		}
	}
	f("GET", "/v1/products/5191101", routeProductJSON)
	f("HEAD", "/v1/products/5191101", routeProductJSON)
	f("GET", "/v1/products/bad%00id", routeProductJSON)
	f("GET", "/products/motorola-moto-g-4th-generation-4g-lte-with-16gb-memory-cell-5191101", routeProductHTML)
	f("GET", "/v1/suggest?q=sam", routeSuggest)
	f("HEAD", "/v1/suggest?q=sam", "")
	f("GET", "/v1/suggest/x", "")
	f("GET", "/v1/products/", "")
	f("GET", "/v1/products/a/b", "")
	f("POST", "/v1/products/5191101", "")
	f("GET", "/healthz/x", "")
}
