package httpapi

import (
	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"
)

// SearchHandlers serve the edge's search routes (edge/search.Service's
// HandleSearch and HandleCategories).
type SearchHandlers struct {
	Search     fasthttp.RequestHandler // GET|HEAD /v1/search
	Categories fasthttp.RequestHandler // GET|HEAD /v1/categories
}

// RegisterSearch mounts the search routes on r.
func RegisterSearch(r *router.Router, h SearchHandlers) {
	r.GET(routeSearch, h.Search)
	r.HEAD(routeSearch, h.Search)
	r.GET(routeCategories, h.Categories)
	r.HEAD(routeCategories, h.Categories)
}

// Route patterns of the search routes, as the router records them.
const (
	routeSearch     = "/v1/search"
	routeCategories = "/v1/categories"
)

// SearchDispatch returns next's dispatch (see API.Dispatch) extended with
// GET /v1/search, so that a search answered from the edge's hot answers
// skips the router too.
func SearchDispatch(next func(*fasthttp.RequestCtx) (fasthttp.RequestHandler, string), h SearchHandlers) func(*fasthttp.RequestCtx) (fasthttp.RequestHandler, string) {
	return func(ctx *fasthttp.RequestCtx) (fasthttp.RequestHandler, string) {
		if handler, route := next(ctx); handler != nil {
			return handler, route
		}
		if ctx.IsGet() && string(ctx.Path()) == routeSearch {
			return h.Search, routeSearch
		}
		return nil, ""
	}
}
