package httpapi

import (
	"bytes"
	"testing"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"shopedge/internal/httpserver"
)

// The direct dispatch of product reads answers exactly as the router does,
// records the same route pattern, and hands everything else to the router.
func TestHandlerDispatchMatchesRouter(t *testing.T) {
	a := benchAPI(t)
	a.deps.Suggest = func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("suggest " + string(ctx.QueryArgs().Peek("q"))) }
	r := httpserver.NewRouter()
	a.Register(r)
	direct := a.Handler(r.Handler)
	f := func(method, uri, wantRoute string) {
		t.Helper()
		run := func(h fasthttp.RequestHandler) *fasthttp.RequestCtx {
			var ctx fasthttp.RequestCtx
			ctx.Request.Header.SetMethod(method)
			ctx.Request.SetRequestURI(uri)
			h(&ctx)
			return &ctx
		}
		viaRouter, viaDirect := run(r.Handler), run(direct)
		if viaRouter.Response.StatusCode() != viaDirect.Response.StatusCode() ||
			!bytes.Equal(viaRouter.Response.Body(), viaDirect.Response.Body()) {
			t.Fatalf("%s %s: router %d %q, direct %d %q", method, uri,
				viaRouter.Response.StatusCode(), viaRouter.Response.Body(),
				viaDirect.Response.StatusCode(), viaDirect.Response.Body())
		}
		got, _ := viaDirect.UserValue(router.MatchedRoutePathParam).(string)
		if got != wantRoute {
			t.Fatalf("%s %s: route %q, want %q", method, uri, got, wantRoute)
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
