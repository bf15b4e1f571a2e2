package storefront

import (
	"maps"
	"net/url"
	"slices"
	"sort"
	"strconv"

	"shopedge/core/api"
)

// linker writes the URLs of one listing page (search or category) for
// variations of its search: facet toggles, sort, pages. URLs list the
// parameters in one canonical order, leaving defaults out, so equal
// searches have equal URLs (and so one CDN entry).
type linker struct {
	base          string // "/search" or "/c/{slug}"
	fixedCategory bool   // the category is the path's, not a parameter
	perPage       int    // the engine's default page size
}

// defaultSort is the sort a search gets when it names none.
func defaultSort(p *api.SearchParams) string {
	if p.Query != "" {
		return api.SortRelevance
	}
	return api.SortPopularity
}

func (l *linker) url(p *api.SearchParams) string {
	b := make([]byte, 0, 96)
	b = append(b, l.base...)
	for i, kv := range l.pairs(p) {
		if i == 0 {
			b = append(b, '?')
		} else {
			b = append(b, '&')
		}
		b = append(b, url.QueryEscape(kv[0])...)
		b = append(b, '=')
		b = append(b, url.QueryEscape(kv[1])...)
	}
	return string(b)
}

// pairs returns p's parameters in canonical order, without defaults.
func (l *linker) pairs(p *api.SearchParams) [][2]string {
	var kv [][2]string
	add := func(k, v string) { kv = append(kv, [2]string{k, v}) }
	if p.Query != "" {
		add("q", p.Query)
	}
	if !l.fixedCategory {
		for _, c := range p.Categories {
			add("category", c)
		}
	}
	for _, v := range p.Brands {
		add("brand", v)
	}
	if p.PriceMin > 0 {
		add("price_min", strconv.FormatInt(p.PriceMin, 10))
	}
	if p.PriceMax > 0 {
		add("price_max", strconv.FormatInt(p.PriceMax, 10))
	}
	for _, name := range sortedKeys(p.Attributes) {
		for _, v := range p.Attributes[name] {
			add("attr."+name, v)
		}
	}
	if p.InStock {
		add("in_stock", "1")
	}
	if p.Sort != "" && p.Sort != defaultSort(p) {
		add("sort", p.Sort)
	}
	if p.Page > 1 {
		add("page", strconv.Itoa(p.Page))
	}
	if p.PerPage > 0 && p.PerPage != l.perPage {
		add("per_page", strconv.Itoa(p.PerPage))
	}
	return kv
}

// with returns the URL of p changed by fn, back on the first page: every
// filter change starts the results over.
func (l *linker) with(p *api.SearchParams, fn func(q *api.SearchParams)) string {
	q := cloneParams(p)
	q.Page = 1
	fn(&q)
	if q.Sort == api.SortRelevance && q.Query == "" {
		q.Sort = "" // relevance needs a query
	}
	return l.url(&q)
}

// page returns the URL of page n of p's results.
func (l *linker) page(p *api.SearchParams, n int) string {
	q := *p
	q.Page = n
	return l.url(&q)
}

func cloneParams(p *api.SearchParams) api.SearchParams {
	q := *p
	q.Categories = slices.Clone(p.Categories)
	q.Brands = slices.Clone(p.Brands)
	q.Attributes = make(map[string][]string, len(p.Attributes))
	for k, v := range p.Attributes {
		q.Attributes[k] = slices.Clone(v)
	}
	return q
}

// toggle returns list with v removed when present, else added; the
// result stays sorted, as SearchParams keeps its lists.
func toggle(list []string, v string) []string {
	if i, ok := slices.BinarySearch(list, v); ok {
		return slices.Delete(list, i, i+1)
	} else {
		return slices.Insert(list, i, v)
	}
}

func toggleAttr(m map[string][]string, name, v string) {
	if l := toggle(m[name], v); len(l) > 0 {
		m[name] = l
	} else {
		delete(m, name)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := slices.Collect(maps.Keys(m))
	sort.Strings(keys)
	return keys
}
