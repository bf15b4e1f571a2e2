package storefront

import (
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
)

// Engine is what the storefront needs from the edge's search index
// (edge/search implements it). Its methods are called concurrently with
// each other and with the index's own updates from the change feed.
type Engine interface {
	// Parse validates the parameters of a search as GET /v1/search takes
	// them; a bad one is an *api.Error naming it. Empty args give the
	// defaults (browse everything, first page).
	Parse(args *fasthttp.Args) (api.SearchParams, error)
	// Search runs a validated search.
	Search(p api.SearchParams) (*api.SearchResult, error)
	// Categories returns the category tree with product counts.
	Categories() api.Categories
	// CategoryBySlug returns the category with this slug (the storefront
	// filters its page on the category's Name).
	CategoryBySlug(slug string) (api.CategoryNode, bool)
}
