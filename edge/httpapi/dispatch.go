package httpapi

import (
	"bytes"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"
)

// Route patterns of the hot path, as the router would record them for the
// per-route metrics.
const (
	routeProductJSON = "/v1/products/{id}"
	routeProductHTML = "/products/{slug}"
	routeSuggest     = "/v1/suggest"
)

// Handler returns the edge's request handler: GET and HEAD of a product
// and GET of a suggestion (the hot paths a CDN origin and a search box
// spend their time on) go straight to their handlers, with no radix-tree walk and no per-request allocation for route
// parameters; every other request goes to next, the router. The matched
// route pattern is recorded as the router would record it, so metrics keep
// their labels. Measured in stack_timing_test.go.
func (a *API) Handler(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	// Boxed once: converting the router's key variable (and the patterns)
	// to interfaces on every request would allocate.
	var (
		key      any = router.MatchedRoutePathParam
		jsonPath any = routeProductJSON
		htmlPath any = routeProductHTML
		suggest  any = routeSuggest
	)
	return func(ctx *fasthttp.RequestCtx) {
		if ctx.IsGet() || ctx.IsHead() {
			path := ctx.Path()
			switch {
			case lastSegment(path, prefixJSON):
				ctx.SetUserValue(key, jsonPath)
				a.ProductJSON(ctx)
				return
			case lastSegment(path, prefixHTML):
				ctx.SetUserValue(key, htmlPath)
				a.ProductHTML(ctx)
				return
			case a.deps.Suggest != nil && ctx.IsGet() && string(path) == routeSuggest:
				ctx.SetUserValue(key, suggest)
				a.deps.Suggest(ctx)
				return
			}
		}
		next(ctx)
	}
}

// lastSegment reports whether path is prefix followed by one non-empty
// segment (no further '/'), the shape the router's {param} matches.
func lastSegment(path []byte, prefix string) bool {
	return len(path) > len(prefix) && bytes.HasPrefix(path, s2b(prefix)) &&
		bytes.IndexByte(path[len(prefix):], '/') < 0
}
