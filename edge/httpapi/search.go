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
	r.GET("/v1/search", h.Search)
	r.HEAD("/v1/search", h.Search)
	r.GET("/v1/categories", h.Categories)
	r.HEAD("/v1/categories", h.Categories)
}
