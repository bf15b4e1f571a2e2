package storefront

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"shopedge/core/api"
	"shopedge/edge/pages"
	"shopedge/edge/storefront/theme"
)

// Listing page limits.
const (
	facetShown = 8  // facet values listed before "Show more"
	facetMax   = 40 // facet values written at most
	maxPages   = 1000
	// maxAttrFacets bounds the attribute facets of a page.
	maxAttrFacets = 6
)

type crumb struct{ name, url string }

// listing is what a search or category page shows.
type listing struct {
	l      linker
	title  string // <title> and <h1>
	crumbs []crumb
	sub    []api.CategoryNode // subcategories (category pages)
	p      *api.SearchParams
	res    *api.SearchResult
	curr   string // currency of price labels
}

var sortLabels = [...]struct{ value, label string }{
	{api.SortRelevance, "Best match"},
	{api.SortPopularity, "Most popular"},
	{api.SortPriceAsc, "Price: low to high"},
	{api.SortPriceDesc, "Price: high to low"},
}

// render writes the page and returns it with its surrogate keys.
func (v *listing) render() ([]byte, []string) {
	p, res := v.p, v.res
	b := make([]byte, 0, 24<<10)
	b = theme.AppendHead(b, theme.Head{Title: v.title, Description: v.description(), Canonical: v.l.url(p), Page: "listing", Query: p.Query})
	b = appendCrumbs(b, v.crumbs, v.title)
	b = append(b, "<div class=\"listing-head\"><h1>"...)
	b = text(b, v.title)
	b = append(b, "</h1><p class=\"muted\" data-total=\""...)
	b = strconv.AppendInt(b, int64(res.Total), 10)
	b = append(b, "\">"...)
	b = append(b, plural(res.Total, "product", "products")...)
	b = append(b, "</p></div>\n"...)
	if len(v.sub) > 0 {
		b = append(b, "<ul class=\"subcats\" aria-label=\"Subcategories\">"...)
		for _, c := range v.sub {
			b = append(b, `<li><a href="/c/`...)
			b = text(b, c.Slug)
			b = append(b, `">`...)
			b = text(b, c.Name)
			b = append(b, ` <span class="muted">`...)
			b = append(b, count(c.Count)...)
			b = append(b, "</span></a></li>"...)
		}
		b = append(b, "</ul>\n"...)
	}
	b = append(b, "<div class=\"listing\">\n"...)
	b = v.appendFilters(b)
	b = append(b, "<section class=\"results\" aria-label=\"Results\">\n"...)
	b = v.appendToolbar(b)
	b = v.appendChips(b)
	if len(res.Products) > 0 {
		b = appendCards(b, res.Products)
	} else {
		b = v.appendEmpty(b)
	}
	b = v.appendPager(b)
	b = append(b, "</section>\n</div>\n"...)
	b = theme.AppendFoot(b)
	keys := []string{keyStorefront}
	for _, c := range p.Categories {
		keys = append(keys, api.CategoryKey(c))
	}
	for _, br := range p.Brands {
		keys = append(keys, api.BrandKey(br))
	}
	// Then the products shown (the core purges a product's key when it
	// changes), then the brands and categories the facets list: a purge
	// of a brand drops the pages that offer it. The header is cut at
	// maxSurrogateKey bytes, so the facets' keys go last.
	keys = productKeys(keys, res.Products)
	for _, fv := range nonEmpty(res.Facets.Brand) {
		keys = append(keys, api.BrandKey(fv.Value))
	}
	if !v.l.fixedCategory {
		for _, fv := range nonEmpty(res.Facets.Category) {
			keys = append(keys, api.CategoryKey(fv.Value))
		}
	}
	return b, uniq(keys)
}

func (v *listing) description() string {
	if v.res.Total == 0 {
		return ""
	}
	return "Shop " + plural(v.res.Total, "product", "products") + ": " + v.title + "."
}

func appendCrumbs(b []byte, cs []crumb, current string) []byte {
	b = append(b, "<nav aria-label=\"Breadcrumb\"><ol class=\"crumbs\"><li><a href=\"/\">Home</a></li>"...)
	for _, c := range cs {
		b = append(b, `<li><a href="`...)
		b = text(b, c.url)
		b = append(b, `">`...)
		b = text(b, c.name)
		b = append(b, "</a></li>"...)
	}
	b = append(b, `<li aria-current="page">`...)
	b = text(b, current)
	return append(b, "</li></ol></nav>\n"...)
}

// appendFilters writes the facets: each value a link that toggles it,
// with the number of products it would give.
func (v *listing) appendFilters(b []byte) []byte {
	p, f := v.p, &v.res.Facets
	b = append(b, "<details class=\"filters\" open><summary>Filters"...)
	if n := v.selected(); n > 0 {
		b = append(b, " ("...)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, ')')
	}
	b = append(b, "</summary>\n"...)
	if !v.l.fixedCategory {
		b = v.appendFacet(b, "category", "Category", f.Category, func(q *api.SearchParams, val string) { q.Categories = toggle(q.Categories, val) })
	}
	b = v.appendFacet(b, "brand", "Brand", f.Brand, func(q *api.SearchParams, val string) { q.Brands = toggle(q.Brands, val) })
	b = v.appendPrice(b, f.Price)
	for _, name := range shownAttributes(f.Attributes, p.Attributes) {
		b = v.appendFacet(b, "attr."+name, capitalize(name), f.Attributes[name], func(q *api.SearchParams, val string) { toggleAttr(q.Attributes, name, val) })
	}
	b = append(b, "<details class=\"facet\" data-facet=\"in_stock\" open><summary>Availability</summary><ul><li><a href=\""...)
	b = text(b, v.l.with(p, func(q *api.SearchParams) { q.InStock = !q.InStock }))
	b = append(b, `"`...)
	if p.InStock {
		b = append(b, ` class="on" aria-current="true"`...)
	}
	b = append(b, "><span class=\"v\">In stock only</span></a></li></ul></details>\n</details>\n"...)
	return b
}

func (v *listing) appendFacet(b []byte, param, label string, vals []api.FacetValue, fn func(q *api.SearchParams, val string)) []byte {
	vals = nonEmpty(vals)
	if len(vals) == 0 {
		return b
	}
	if len(vals) > facetMax {
		vals = vals[:facetMax]
	}
	shown := min(facetShown, len(vals))
	for i, fv := range vals {
		if fv.Selected && i >= shown {
			shown = i + 1
		}
	}
	b = append(b, `<details class="facet" data-facet="`...)
	b = text(b, param)
	b = append(b, `" open><summary>`...)
	b = text(b, label)
	b = append(b, "</summary><ul>"...)
	for i, fv := range vals {
		if i == shown {
			b = append(b, "</ul><details class=\"more\"><summary>Show "...)
			b = strconv.AppendInt(b, int64(len(vals)-shown), 10)
			b = append(b, " more</summary><ul>"...)
		}
		b = append(b, `<li><a href="`...)
		val := fv.Value
		b = text(b, v.l.with(v.p, func(q *api.SearchParams) { fn(q, val) }))
		b = append(b, `"`...)
		if fv.Selected {
			b = append(b, ` class="on" aria-current="true"`...)
		}
		b = append(b, ` data-value="`...)
		b = text(b, fv.Value)
		b = append(b, `"><span class="v">`...)
		b = text(b, fv.Value)
		b = append(b, `</span><span class="n">`...)
		b = append(b, count(fv.Count)...)
		b = append(b, "</span></a></li>"...)
	}
	if shown < len(vals) {
		b = append(b, "</ul></details>"...)
	} else {
		b = append(b, "</ul>"...)
	}
	return append(b, "</details>\n"...)
}

// nonEmpty returns the values that select something or are selected: a
// link to no results helps nobody.
func nonEmpty(vals []api.FacetValue) []api.FacetValue {
	out := vals[:0:0]
	for _, fv := range vals {
		if fv.Count > 0 || fv.Selected {
			out = append(out, fv)
		}
	}
	return out
}

// shownAttributes picks the attribute facets a page lists: those with a
// selection, then the ones covering the most products, maxAttrFacets in
// all, in name order.
func shownAttributes(facets map[string][]api.FacetValue, selected map[string][]string) []string {
	type cand struct {
		name  string
		total int
	}
	var cs []cand
	for name, vals := range facets {
		t := 0
		for _, fv := range vals {
			t += fv.Count
		}
		if len(selected[name]) > 0 {
			t = math.MaxInt
		}
		cs = append(cs, cand{name, t})
	}
	sort.Slice(cs, func(i, j int) bool {
		return cs[i].total > cs[j].total || cs[i].total == cs[j].total && cs[i].name < cs[j].name
	})
	names := make([]string, 0, maxAttrFacets)
	for i := 0; i < len(cs) && i < maxAttrFacets; i++ {
		names = append(names, cs[i].name)
	}
	sort.Strings(names)
	return names
}

// priceLabel names a price bucket [min, max) (max 0: no upper bound).
func (v *listing) priceLabel(lo, hi int64) string {
	m := func(a int64) string {
		return strings.TrimSuffix(pages.FormatMoney(api.Money{Amount: a, Currency: v.curr}), ".00")
	}
	switch {
	case hi <= 0:
		return m(lo) + " and up"
	case lo <= 0:
		return "Under " + m(hi)
	}
	return m(lo) + " – " + m(hi)
}

func (v *listing) appendPrice(b []byte, buckets []api.PriceBucket) []byte {
	// No facet when no range would narrow the results: none is chosen
	// and at most one holds products.
	useful := 0
	for _, pb := range buckets {
		if pb.Selected {
			useful = 2
			break
		}
		if pb.Count > 0 {
			useful++
		}
	}
	if useful < 2 {
		return b
	}
	b = append(b, "<details class=\"facet\" data-facet=\"price\" open><summary>Price</summary><ul>"...)
	for _, pb := range buckets {
		lo, hi, sel := pb.Min, pb.Max, pb.Selected
		if pb.Count == 0 && !sel {
			continue
		}
		b = append(b, `<li><a href="`...)
		b = text(b, v.l.with(v.p, func(q *api.SearchParams) {
			if sel {
				q.PriceMin, q.PriceMax = 0, 0
			} else {
				q.PriceMin, q.PriceMax = lo, max(hi-1, 0)
			}
		}))
		b = append(b, `"`...)
		if sel {
			b = append(b, ` class="on" aria-current="true"`...)
		}
		b = append(b, `><span class="v">`...)
		b = text(b, v.priceLabel(lo, hi))
		b = append(b, `</span><span class="n">`...)
		b = append(b, count(pb.Count)...)
		b = append(b, "</span></a></li>"...)
	}
	return append(b, "</ul></details>\n"...)
}

func (v *listing) appendToolbar(b []byte) []byte {
	p, res := v.p, v.res
	b = append(b, "<div class=\"toolbar\"><p class=\"muted\">"...)
	if res.Total > 0 && len(res.Products) > 0 {
		first := (res.Page-1)*res.PerPage + 1
		b = append(b, "Showing "...)
		b = append(b, count(first)...)
		b = append(b, "–"...)
		b = append(b, count(first+len(res.Products)-1)...)
		b = append(b, " of "...)
		b = append(b, count(res.Total)...)
	}
	b = append(b, "</p><form class=\"sort\" action=\""...)
	b = text(b, v.l.base)
	b = append(b, "\" method=\"get\">"...)
	q := cloneParams(p)
	q.Sort, q.Page = "", 1
	for _, kv := range v.l.pairs(&q) {
		b = append(b, `<input type="hidden" name="`...)
		b = text(b, kv[0])
		b = append(b, `" value="`...)
		b = text(b, kv[1])
		b = append(b, `">`...)
	}
	b = append(b, "<label for=\"sort\">Sort by</label><select id=\"sort\" name=\"sort\" data-autosubmit>"...)
	cur := p.Sort
	if cur == "" {
		cur = defaultSort(p)
	}
	for _, s := range sortLabels {
		if s.value == api.SortRelevance && p.Query == "" {
			continue
		}
		b = append(b, `<option value="`...)
		b = append(b, s.value...)
		b = append(b, `"`...)
		if s.value == cur {
			b = append(b, " selected"...)
		}
		b = append(b, '>')
		b = append(b, s.label...)
		b = append(b, "</option>"...)
	}
	return append(b, "</select><button class=\"btn\" type=\"submit\" data-nojs>Sort</button></form></div>\n"...)
}

// appendChips writes the selected filters, each a link that removes it.
func (v *listing) appendChips(b []byte) []byte {
	p := v.p
	if v.selected() == 0 {
		return b
	}
	chip := func(b []byte, label string, fn func(q *api.SearchParams)) []byte {
		b = append(b, `<li><a class="chip" href="`...)
		b = text(b, v.l.with(p, fn))
		b = append(b, `" aria-label="Remove filter `...)
		b = text(b, label)
		b = append(b, `">`...)
		b = text(b, label)
		return append(b, "</a></li>"...)
	}
	b = append(b, "<ul class=\"chips\" aria-label=\"Selected filters\">"...)
	if !v.l.fixedCategory {
		for _, c := range p.Categories {
			b = chip(b, c, func(q *api.SearchParams) { q.Categories = toggle(q.Categories, c) })
		}
	}
	for _, br := range p.Brands {
		b = chip(b, br, func(q *api.SearchParams) { q.Brands = toggle(q.Brands, br) })
	}
	if p.PriceMin > 0 || p.PriceMax > 0 {
		hi := p.PriceMax
		if hi > 0 {
			hi++ // the label's bound is exclusive
		}
		b = chip(b, v.priceLabel(p.PriceMin, hi), func(q *api.SearchParams) { q.PriceMin, q.PriceMax = 0, 0 })
	}
	for _, name := range sortedKeys(p.Attributes) {
		for _, val := range p.Attributes[name] {
			b = chip(b, capitalize(name)+": "+val, func(q *api.SearchParams) { toggleAttr(q.Attributes, name, val) })
		}
	}
	if p.InStock {
		b = chip(b, "In stock", func(q *api.SearchParams) { q.InStock = false })
	}
	b = append(b, `<li><a class="chip clear" href="`...)
	b = text(b, v.l.with(p, clearFilters(v.l.fixedCategory)))
	return append(b, "\">Clear all</a></li></ul>\n"...)
}

func clearFilters(fixedCategory bool) func(q *api.SearchParams) {
	return func(q *api.SearchParams) {
		if !fixedCategory {
			q.Categories = nil
		}
		q.Brands, q.Attributes, q.PriceMin, q.PriceMax, q.InStock = nil, nil, 0, 0, false
	}
}

func (v *listing) appendEmpty(b []byte) []byte {
	b = append(b, "<div class=\"empty\"><h2>No products match</h2><p>"...)
	if v.selected() > 0 {
		b = append(b, `Try removing a filter, or <a href="`...)
		b = text(b, v.l.with(v.p, clearFilters(v.l.fixedCategory)))
		b = append(b, `">clear them all</a>.`...)
	} else if v.p.Query != "" {
		b = append(b, "Check the spelling, or search for something more general."...)
	} else {
		b = append(b, "There is nothing here yet."...)
	}
	return append(b, "</p></div>\n"...)
}

// appendPager writes links to the previous and next pages and to a window
// of page numbers around the current one.
func (v *listing) appendPager(b []byte) []byte {
	p, res := v.p, v.res
	per := max(res.PerPage, 1)
	last := min((res.Total+per-1)/per, maxPages)
	cur := max(res.Page, 1)
	if last <= 1 {
		return b
	}
	link := func(b []byte, n int, label, rel string) []byte {
		b = append(b, `<a href="`...)
		b = text(b, v.l.page(p, n))
		b = append(b, `"`...)
		if rel != "" {
			b = append(b, ` rel="`...)
			b = append(b, rel...)
			b = append(b, `"`...)
		}
		b = append(b, '>')
		b = append(b, label...)
		return append(b, "</a>"...)
	}
	b = append(b, "<nav class=\"pager\" aria-label=\"Pages\">"...)
	if cur > 1 {
		b = link(b, cur-1, "‹ Previous", "prev")
	}
	lo, hi := max(1, cur-2), min(last, cur+2)
	if lo > 1 {
		b = link(b, 1, "1", "")
		if lo > 2 {
			b = append(b, `<span class="gap">…</span>`...)
		}
	}
	for n := lo; n <= hi; n++ {
		if n == cur {
			b = append(b, `<span class="cur" aria-current="page">`...)
			b = strconv.AppendInt(b, int64(n), 10)
			b = append(b, "</span>"...)
			continue
		}
		b = link(b, n, strconv.Itoa(n), "")
	}
	if hi < last {
		if hi < last-1 {
			b = append(b, `<span class="gap">…</span>`...)
		}
		b = link(b, last, strconv.Itoa(last), "")
	}
	if cur < last {
		b = link(b, cur+1, "Next ›", "next")
	}
	return append(b, "</nav>\n"...)
}

// selected counts the filters chosen on the page (a category page's own
// category is not one).
func (v *listing) selected() int {
	p := v.p
	n := len(p.Brands)
	for _, vs := range p.Attributes {
		n += len(vs)
	}
	if p.PriceMin > 0 || p.PriceMax > 0 {
		n++
	}
	if p.InStock {
		n++
	}
	if !v.l.fixedCategory {
		n += len(p.Categories)
	}
	return n
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func uniq(keys []string) []string {
	out := keys[:0]
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
