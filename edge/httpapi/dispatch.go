package httpapi

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// Route patterns of the hot path, as the router would record them for the
// per-route metrics.
const (
	routeProductJSON = "/v1/products/{id}"
	routeProductHTML = "/products/{slug}"
	routeSuggest     = "/v1/suggest"
)

// Dispatch picks the handler of GET and HEAD of a product and GET of a
// suggestion (the hot paths a CDN origin and a search box spend their time
// on) with no radix-tree walk and no per-request route parameters, and
// names the route pattern the router would have matched, so metrics keep
// their labels; it returns nil for every other request, which the router
// then serves (see httpserver.Dispatch). Measured in stack_timing_test.go.
func (a *API) Dispatch(ctx *fasthttp.RequestCtx) (fasthttp.RequestHandler, string) {
	if ctx.IsGet() || ctx.IsHead() {
		path := ctx.Path()
		switch {
		case lastSegment(path, prefixJSON):
			return a.productJSON, routeProductJSON
		case lastSegment(path, prefixHTML):
			return a.productHTML, routeProductHTML
		case a.deps.Suggest != nil && ctx.IsGet() && string(path) == routeSuggest:
			return a.deps.Suggest, routeSuggest
		}
	}
	return nil, ""
}

// lastSegment reports whether path is prefix followed by one non-empty
// segment (no further '/'), the shape the router's {param} matches.
func lastSegment(path []byte, prefix string) bool {
	return len(path) > len(prefix) && bytes.HasPrefix(path, s2b(prefix)) &&
		bytes.IndexByte(path[len(prefix):], '/') < 0
}
