package httpapi

import (
	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"shopedge/edge/storefront"
	"shopedge/internal/httpserver"
)

// RegisterStorefront mounts the storefront's HTML pages and its
// stylesheet and script (GET and HEAD): the home page, search and
// category pages, the cart, checkout and order pages. Product pages are
// the API's own (/products/{slug}).
func RegisterStorefront(r *router.Router, s *storefront.Storefront) {
	for _, m := range []string{fasthttp.MethodGet, fasthttp.MethodHead} {
		r.Handle(m, storefront.PathHome, s.Home)
		r.Handle(m, storefront.PathSearch, s.Search)
		r.Handle(m, storefront.PathCategory+"{slug}", s.Category)
		r.Handle(m, storefront.PathCart, s.Cart)
		r.Handle(m, storefront.PathCheckout, s.Checkout)
		r.Handle(m, storefront.PathOrder+"{id}", s.Order)
		r.Handle(m, "/assets/{file}", s.Asset)
	}
}

// WithStorefront returns d followed by the storefront's fast path for its
// precomputed pages (storefront.Storefront.Dispatch): the edge's one
// Dispatch.
func WithStorefront(d httpserver.Dispatch, s *storefront.Storefront) httpserver.Dispatch {
	return func(ctx *fasthttp.RequestCtx) (fasthttp.RequestHandler, string) {
		if h, route := d(ctx); h != nil {
			return h, route
		}
		return s.Dispatch(ctx)
	}
}
