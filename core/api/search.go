package api

// Search wire shapes (DESIGN.md "Search"): GET /v1/search and
// GET /v1/categories on the edge. Prices are minor units.

// Sort orders of a search.
const (
	SortRelevance  = "relevance"  // default with a query
	SortPopularity = "popularity" // default without
	SortPriceAsc   = "price_asc"
	SortPriceDesc  = "price_desc"
)

// SearchParams is a validated search: what /v1/search and the storefront's
// /search and /c/{slug} pages take. Slices are sorted and free of
// duplicates, so two equal searches have equal params.
type SearchParams struct {
	Query      string              // the raw query (q); empty browses
	Categories []string            // category names (ORed)
	Brands     []string            // brand names (ORed)
	PriceMin   int64               // minor units, inclusive; 0: no bound
	PriceMax   int64               // minor units, inclusive; 0: no bound
	Attributes map[string][]string // attribute name → values (ORed within, ANDed across)
	InStock    bool                // only products with a SKU in or low stock
	Sort       string              // one of the Sort constants
	Page       int                 // 1-based
	PerPage    int                 // 1–100
}

// SearchProduct is one product of a search answer.
type SearchProduct struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	URL          string   `json:"url"`
	Price        *Money   `json:"price,omitempty"`
	Image        string   `json:"image,omitempty"`
	Availability string   `json:"availability"`
	Highlights   [][2]int `json:"highlights"`
}

// FacetValue is one value of a facet with the number of products it would
// select, given every other facet's selection.
type FacetValue struct {
	Value    string `json:"value"`
	Count    int    `json:"count"`
	Selected bool   `json:"selected"`
}

// PriceBucket is one price range of the price facet: [Min, Max) in minor
// units (Max 0: no upper bound).
type PriceBucket struct {
	Min      int64 `json:"min"`
	Max      int64 `json:"max"`
	Count    int   `json:"count"`
	Selected bool  `json:"selected"`
}

// SearchFacets are a search answer's facets.
type SearchFacets struct {
	Category   []FacetValue            `json:"category"`
	Brand      []FacetValue            `json:"brand"`
	Price      []PriceBucket           `json:"price"`
	Attributes map[string][]FacetValue `json:"attributes"`
}

// SearchResult is the body of GET /v1/search.
type SearchResult struct {
	Query    string          `json:"query"`
	Total    int             `json:"total"`
	Page     int             `json:"page"`
	PerPage  int             `json:"per_page"`
	Products []SearchProduct `json:"products"`
	Facets   SearchFacets    `json:"facets"`
}

// CategoryNode is one category of the tree GET /v1/categories returns,
// with the number of products in it or below it.
type CategoryNode struct {
	Name     string         `json:"name"`
	Slug     string         `json:"slug"`
	Count    int            `json:"count"`
	Children []CategoryNode `json:"children,omitempty"`
}

// Categories is the body of GET /v1/categories.
type Categories struct {
	Categories []CategoryNode `json:"categories"`
}
