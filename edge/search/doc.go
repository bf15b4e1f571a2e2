// Package search is the edge's product search and browse (GET /v1/search,
// GET /v1/categories; DESIGN.md "Search"), answered in process from an
// index built when the edge loads the core's snapshot and kept current,
// in place, by the change feed.
//
// # The index
//
// Products get dense ordinals, ordered by category, brand and popularity
// at each load (a word's products sit together). Posting sets are roaring
// bitmaps
// (github.com/RoaringBitmap/roaring/v2): per normalised word (edge/textnorm,
// the normaliser autocomplete uses) and field (title: name and brand;
// category: the names of the path; attribute: values of the facet
// attributes), per category name, brand and facet attribute value, per
// availability, and per sort bucket (popularity, price). A feed event
// moves its product in every one of them under the write lock, so a
// price, band, category or name change shows in results, facets and
// sorts with the event that made it; nothing is rebuilt until the next
// snapshot load. Facet attributes are chosen from the data at each load:
// 2..attr_max_values values, present on attr_min_share of the products of
// the catalog or of a category of attr_min_products products or more.
//
// # Semantics
//
// Every query word must match a word of the product (the last one also
// as a prefix; plural and singular forms match, see stems; one typo is
// forgiven on words of typo_min_chars characters when nothing matches
// the word as typed). Empty q browses. Facets: values ORed within a
// facet, facets ANDed; each facet's counts apply every other facet's
// selection but not its own. Sorts: relevance (first the number of
// query words the title — name, brand — has as typed, then the number it
// matches at all; then popularity), popularity (popularity plus the
// availability boost, then id), price_asc and price_desc (priced products
// first; the rest by popularity). Every order is total, so pages are
// stable under ties.
// Attribute facets are listed for the attributes of the selected
// categories and the selected attributes.
//
// # API for Go callers (the storefront)
//
//	func (s *Service) Parse(args *fasthttp.Args) (api.SearchParams, error)
//	func (s *Service) Search(p api.SearchParams) (*api.SearchResult, error)
//	func (s *Service) Categories() api.Categories
//	func (s *Service) CategoryBySlug(slug string) (api.CategoryNode, bool)
//
// Parse validates a query string as /v1/search does (errors are
// *api.Error naming the parameter: 400); Search answers validated params
// (it checks params built by hand the same way) without the HTTP answer
// cache; Categories is the tree with counts (shared, read-only);
// CategoryBySlug finds the category of a /c/{slug} page, whose Name goes
// into SearchParams.Categories. HandleSearch and HandleCategories are the
// HTTP handlers, with their cache and headers. The service is safe for
// concurrent use; the change follower drives its sink methods.
package search
