package storefront

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"

	"shopedge/core/api"
)

// fakeEngine is a brute-force Engine over a product list, following the
// search contract (core/api/search.go, DESIGN.md) closely enough for the
// storefront's tests: it is no model of edge/search's ranking.
type fakeEngine struct {
	mu       sync.RWMutex
	products map[string]*api.Product
	searches int
}

func newFakeEngine(ps []*api.Product) *fakeEngine {
	e := &fakeEngine{products: map[string]*api.Product{}}
	for _, p := range ps {
		e.products[p.ID] = p
	}
	return e
}

func (e *fakeEngine) upsert(p *api.Product) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.products[p.ID] = p
}

func (e *fakeEngine) remove(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.products, id)
}

var fakeBuckets = [][2]int64{{0, 5000}, {5000, 10000}, {10000, 25000}, {25000, 50000}, {50000, 100000}, {100000, 0}}

func (e *fakeEngine) Parse(args *fasthttp.Args) (api.SearchParams, error) {
	p := api.SearchParams{Page: 1, PerPage: 24, Attributes: map[string][]string{}}
	seen := map[string]bool{}
	var err error
	for k, v := range args.All() {
		key, val := string(k), string(v)
		scalar := func() bool {
			if seen[key] {
				err = api.Invalid(key, "given more than once")
				return false
			}
			seen[key] = true
			return true
		}
		num := func(lo, hi int64) int64 {
			n, perr := strconv.ParseInt(val, 10, 64)
			if perr != nil || n < lo || n > hi {
				err = api.Invalid(key, "must be a whole number from %d to %d", lo, hi)
			}
			return n
		}
		switch {
		case key == "q" && scalar():
			p.Query = val
		case key == "category":
			p.Categories = append(p.Categories, val)
		case key == "brand":
			p.Brands = append(p.Brands, val)
		case key == "price_min" && scalar():
			p.PriceMin = num(0, 1<<40)
		case key == "price_max" && scalar():
			p.PriceMax = num(0, 1<<40)
		case key == "in_stock" && scalar():
			p.InStock = val == "1"
		case key == "sort" && scalar():
			switch val {
			case api.SortRelevance, api.SortPopularity, api.SortPriceAsc, api.SortPriceDesc:
				p.Sort = val
			default:
				err = api.Invalid("sort", "must be relevance, popularity, price_asc or price_desc")
			}
		case key == "page" && scalar():
			p.Page = int(num(1, 1000))
		case key == "per_page" && scalar():
			p.PerPage = int(num(1, 100))
		case strings.HasPrefix(key, "attr.") && len(key) > 5:
			p.Attributes[key[5:]] = append(p.Attributes[key[5:]], val)
		case err == nil && !seen[key]:
			err = api.Invalid(key, "unknown parameter")
		}
		if err != nil {
			return api.SearchParams{}, err
		}
	}
	if p.PriceMax > 0 && p.PriceMin > p.PriceMax {
		return api.SearchParams{}, api.Invalid("price_min", "is above price_max")
	}
	if p.Sort == "" {
		p.Sort = defaultSort(&p)
	}
	norm := func(l []string) []string { sort.Strings(l); return slices.Compact(l) }
	p.Categories, p.Brands = norm(p.Categories), norm(p.Brands)
	for k, v := range p.Attributes {
		p.Attributes[k] = norm(v)
	}
	return p, nil
}

func minPrice(p *api.Product) *api.Money {
	var m *api.Money
	for _, s := range p.SKUs {
		if s.Price != nil && (m == nil || s.Price.Amount < m.Amount) {
			m = s.Price
		}
	}
	return m
}

func band(p *api.Product) string {
	best := api.OutOfStock
	for _, s := range p.SKUs {
		if s.Availability == api.InStock {
			return api.InStock
		}
		if s.Availability == api.LowStock {
			best = api.LowStock
		}
	}
	return best
}

// matches applies p to product x, leaving out the facet named skip.
func matches(x *api.Product, p *api.SearchParams, skip string) bool {
	words := strings.Fields(strings.ToLower(x.Name + " " + x.Brand))
	for _, q := range strings.Fields(strings.ToLower(p.Query)) {
		if !slices.ContainsFunc(words, func(w string) bool { return strings.HasPrefix(w, q) }) {
			return false
		}
	}
	if skip != "category" && len(p.Categories) > 0 && !slices.ContainsFunc(x.Categories, func(c string) bool { return slices.Contains(p.Categories, c) }) {
		return false
	}
	if skip != "brand" && len(p.Brands) > 0 && !slices.Contains(p.Brands, x.Brand) {
		return false
	}
	if skip != "price" && (p.PriceMin > 0 || p.PriceMax > 0) {
		m := minPrice(x)
		if m == nil || m.Amount < p.PriceMin || (p.PriceMax > 0 && m.Amount > p.PriceMax) {
			return false
		}
	}
	for name, vals := range p.Attributes {
		if skip != "attr."+name && !slices.Contains(vals, x.Attributes[name]) {
			return false
		}
	}
	return !p.InStock || band(x) != api.OutOfStock
}

func (e *fakeEngine) Search(p api.SearchParams) (*api.SearchResult, error) {
	e.mu.Lock()
	e.searches++
	e.mu.Unlock()
	e.mu.RLock()
	defer e.mu.RUnlock()
	var hits []*api.Product
	counts := map[string]map[string]int{"category": {}, "brand": {}}
	attrCounts := map[string]map[string]int{}
	price := make([]int, len(fakeBuckets))
	for _, x := range e.products {
		if matches(x, &p, "") {
			hits = append(hits, x)
		}
		if matches(x, &p, "category") {
			for _, c := range x.Categories {
				counts["category"][c]++
			}
		}
		if x.Brand != "" && matches(x, &p, "brand") {
			counts["brand"][x.Brand]++
		}
		if m := minPrice(x); m != nil && matches(x, &p, "price") {
			for i, b := range fakeBuckets {
				if m.Amount >= b[0] && (b[1] == 0 || m.Amount < b[1]) {
					price[i]++
				}
			}
		}
		for name, v := range x.Attributes {
			if matches(x, &p, "attr."+name) {
				if attrCounts[name] == nil {
					attrCounts[name] = map[string]int{}
				}
				attrCounts[name][v]++
			}
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		switch p.Sort {
		case api.SortPriceAsc, api.SortPriceDesc:
			pa, pb := minPrice(a), minPrice(b)
			if pa != nil && pb != nil && pa.Amount != pb.Amount {
				return (pa.Amount < pb.Amount) == (p.Sort == api.SortPriceAsc)
			}
		}
		if a.Popularity != b.Popularity {
			return a.Popularity > b.Popularity
		}
		return a.ID < b.ID
	})
	res := &api.SearchResult{Query: p.Query, Total: len(hits), Page: p.Page, PerPage: p.PerPage}
	for _, x := range hits[min((p.Page-1)*p.PerPage, len(hits)):min(p.Page*p.PerPage, len(hits))] {
		res.Products = append(res.Products, api.SearchProduct{ID: x.ID, Name: x.Name, URL: "/products/" + x.Slug,
			Price: minPrice(x), Image: x.Image, Availability: band(x), Highlights: [][2]int{}})
	}
	facet := func(m map[string]int, sel []string) []api.FacetValue {
		var out []api.FacetValue
		for v, n := range m {
			out = append(out, api.FacetValue{Value: v, Count: n, Selected: slices.Contains(sel, v)})
		}
		sort.Slice(out, func(i, j int) bool {
			return out[i].Count > out[j].Count || out[i].Count == out[j].Count && out[i].Value < out[j].Value
		})
		return out
	}
	res.Facets.Category = facet(counts["category"], p.Categories)
	res.Facets.Brand = facet(counts["brand"], p.Brands)
	for i, b := range fakeBuckets {
		sel := p.PriceMin == b[0] && p.PriceMax == max(b[1]-1, 0) && (p.PriceMin > 0 || p.PriceMax > 0)
		res.Facets.Price = append(res.Facets.Price, api.PriceBucket{Min: b[0], Max: b[1], Count: price[i], Selected: sel})
	}
	res.Facets.Attributes = map[string][]api.FacetValue{}
	for name, m := range attrCounts {
		res.Facets.Attributes[name] = facet(m, p.Attributes[name])
	}
	return res, nil
}

func (e *fakeEngine) Categories() api.Categories {
	e.mu.RLock()
	defer e.mu.RUnlock()
	type node struct {
		n        api.CategoryNode
		children map[string]*node
	}
	root := &node{children: map[string]*node{}}
	for _, x := range e.products {
		at := root
		for _, c := range x.Categories {
			ch := at.children[c]
			if ch == nil {
				ch = &node{n: api.CategoryNode{Name: c, Slug: api.KeyToken(c)}, children: map[string]*node{}}
				at.children[c] = ch
			}
			ch.n.Count++
			at = ch
		}
	}
	var build func(n *node) []api.CategoryNode
	build = func(n *node) []api.CategoryNode {
		var out []api.CategoryNode
		for _, ch := range n.children {
			c := ch.n
			c.Children = build(ch)
			out = append(out, c)
		}
		sort.Slice(out, func(i, j int) bool {
			return out[i].Count > out[j].Count || out[i].Count == out[j].Count && out[i].Name < out[j].Name
		})
		return out
	}
	return api.Categories{Categories: build(root)}
}

func (e *fakeEngine) CategoryBySlug(slug string) (api.CategoryNode, bool) {
	var find func(ns []api.CategoryNode) (api.CategoryNode, bool)
	find = func(ns []api.CategoryNode) (api.CategoryNode, bool) {
		for _, n := range ns {
			if n.Slug == slug {
				return n, true
			}
			if c, ok := find(n.Children); ok {
				return c, true
			}
		}
		return api.CategoryNode{}, false
	}
	return find(e.Categories().Categories)
}
