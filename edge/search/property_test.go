package search

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"shopedge/core/api"
)

// The property test: random catalogs, random searches (words, typos,
// prefixes, every filter and sort, pages), each answer compared whole
// (total, the page's products in order, every facet's values and counts)
// with the oracle's linear scan; then the same after random feed events
// (price, stock band, name and category changes, deletes, new products,
// stale and repeated events). The sort structures are shrunk so that
// small catalogs take the bucketed paths.
//
// What it proves: on these catalogs the index and the oracle agree. What
// it does not: the oracle shares the normaliser, stems, oneEdit and
// niceRanges with the index, so a wrong definition there would be wrong
// in both (they have tests of their own).

var vocab = []string{"alpha", "alphas", "alpine", "beta", "betas", "gamma", "delta", "deltas", "echo", "foxtrot",
	"phone", "phones", "case", "cases", "lens", "lenses", "battery", "batteries", "tv", "tvs", "ab", "abc", "café",
	"galaxy", "galaxies", "iphone", "charger", "chargers", "7", "128gb", "x"}

var brandsPool = []string{"Acme", "Globex", "Initech", "Umbrella", "Café Co", "Alpha"}

var catTree = [][]string{
	{"Phones", "Cell Phones"}, {"Phones", "Accessories", "Cases"}, {"Phones", "Accessories"},
	{"TV & Video", "TVs"}, {"TV & Video", "Accessories"}, {"Computers"}, {"Computers", "Laptops", "Laptops"},
	{"Beta Things"}, {"", "Echo"}, nil,
}

var attrPool = map[string][]string{
	"color":    {"Black", "White", "Red", "Alpha Blue", "black", "alpha blue", "RED"}, // 4 values as shown
	"size":     {"S", "M", "L"},
	"material": {"Gamma Steel", "Plastic"},
	"lonely":   {"Only"},
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.AttrMinProducts = 5
	cfg.AttrMaxValues = 5
	cfg.AttrMinShare = 0.2
	cfg.FacetValues = 3
	cfg.PriceRanges = 4
	cfg.AttrFacets = 2
	cfg.MaxPerPage = 10
	cfg.DefaultPerPage = 5
	cfg.CacheBytes = 0
	cfg.HotAnswers = 0
	return cfg
}

// smallBuckets shrinks the sort structures and the heavy prefixes'
// threshold for the test.
func smallBuckets(t *testing.T) {
	old := [5]int{bucketSize, maxBuckets, ltStep, directMax, heavyMin}
	bucketSize, maxBuckets, ltStep, directMax, heavyMin = 4, 64, 3, 6, 3
	t.Cleanup(func() { bucketSize, maxBuckets, ltStep, directMax, heavyMin = old[0], old[1], old[2], old[3], old[4] })
	// The top score taken bucket by bucket (lazyTop) for result sets
	// of more than 8 products whatever its expected density, over 2
	// buckets before it is made: both its ways of filling a page run.
	oldMin, oldBuckets, oldPages := lazyMin, lazyBuckets, lazyPages
	lazyMin, lazyBuckets, lazyPages = 8, 2, 0
	t.Cleanup(func() { lazyMin, lazyBuckets, lazyPages = oldMin, oldBuckets, oldPages })
}

type gen struct {
	rng *rand.Rand
	n   int
}

func (g *gen) pick(vs []string) string { return vs[g.rng.IntN(len(vs))] }

func (g *gen) product(id string) *api.Product {
	r := g.rng
	var words []string
	for range 1 + r.IntN(4) {
		words = append(words, g.pick(vocab))
	}
	name := strings.Join(words, " ")
	if r.IntN(4) == 0 {
		name = strings.ToUpper(name[:1]) + name[1:] + " - Ed. " + fmt.Sprint(r.IntN(3))
	}
	p := &api.Product{ID: id, Name: name, Popularity: int64(r.IntN(5))}
	p.Slug = api.Slug(name, id)
	if r.IntN(8) == 0 {
		p.Slug = "custom-" + id
	}
	if r.IntN(6) != 0 {
		p.Brand = g.pick(brandsPool)
	}
	p.Categories = slices.Clone(catTree[r.IntN(len(catTree))])
	if r.IntN(5) != 0 {
		p.Image = "https://img.example/" + fmt.Sprint(r.IntN(3)) + "/" + id + ".jpg"
	}
	for _, k := range slices.Sorted(maps.Keys(attrPool)) {
		if r.IntN(3) != 0 {
			if p.Attributes == nil {
				p.Attributes = map[string]string{}
			}
			p.Attributes[k] = g.pick(attrPool[k])
		}
	}
	if r.IntN(3) == 0 {
		if p.Attributes == nil {
			p.Attributes = map[string]string{}
		}
		p.Attributes["ean"] = fmt.Sprint(r.IntN(1000)) // many values: never a facet
	}
	for k := range r.IntN(3) {
		s := api.SKU{SKU: fmt.Sprintf("%s-%d", id, k)}
		if r.IntN(5) != 0 {
			s.Price = &api.Money{Amount: int64(r.IntN(6)) * 500, Currency: g.pick([]string{"USD", "EUR"})}
		}
		s.Availability = g.pick([]string{api.InStock, api.LowStock, api.OutOfStock, ""})
		p.SKUs = append(p.SKUs, s)
	}
	return p
}

func (g *gen) query() string {
	r := g.rng
	var ws []string
	for range r.IntN(4) {
		w := g.pick(vocab)
		switch r.IntN(6) {
		case 0: // a typo
			rs := []rune(w)
			if len(rs) > 1 {
				i := r.IntN(len(rs) - 1)
				switch r.IntN(3) {
				case 0:
					rs[i], rs[i+1] = rs[i+1], rs[i]
				case 1:
					rs = append(rs[:i], rs[i+1:]...)
				default:
					rs[i] = 'z'
				}
			}
			w = string(rs)
		case 1: // a prefix
			rs := []rune(w)
			w = string(rs[:1+r.IntN(len(rs))])
		case 2:
			w = strings.ToUpper(w)
		}
		ws = append(ws, w)
	}
	return strings.Join(ws, " ")
}

func (g *gen) params(facets []string) api.SearchParams {
	r := g.rng
	p := api.SearchParams{Query: g.query(), Page: 1 + r.IntN(4), PerPage: 1 + r.IntN(7)}
	names := []string{"Phones", "Accessories", "TVs", "Computers", "Laptops", "Echo", "Nope"}
	for range r.IntN(3) / 2 * (1 + r.IntN(2)) {
		p.Categories = append(p.Categories, g.pick(names))
	}
	for range r.IntN(3) / 2 * (1 + r.IntN(2)) {
		p.Brands = append(p.Brands, g.pick(append(brandsPool, "Nobody")))
	}
	prices := []int64{0, 0, 500, 999, 1000, 1500, 2000}
	p.PriceMin = prices[r.IntN(len(prices))]
	p.PriceMax = prices[r.IntN(len(prices))]
	if p.PriceMax > 0 && p.PriceMin > p.PriceMax {
		p.PriceMin, p.PriceMax = p.PriceMax, p.PriceMin
	}
	if r.IntN(3) == 0 && len(facets) > 0 {
		p.Attributes = map[string][]string{}
		for range 1 + r.IntN(2) {
			a := g.pick(facets)
			p.Attributes[a] = append(p.Attributes[a], g.pick(append(attrPool[a], "Nope")))
		}
	}
	p.InStock = r.IntN(3) == 0
	p.Sort = []string{"", api.SortRelevance, api.SortPopularity, api.SortPriceAsc, api.SortPriceDesc}[r.IntN(5)]
	return p
}

// comparable strips what the oracle does not compute (highlights) and
// makes nil and empty slices alike.
func comparable(r *api.SearchResult) string {
	c := *r
	c.Products = slices.Clone(r.Products)
	for i := range c.Products {
		c.Products[i].Highlights = nil
	}
	b, _ := json.MarshalIndent(c, "", " ")
	return string(b)
}

func checkSearches(t *testing.T, g *gen, s *Service, o *oracle, n int) {
	t.Helper()
	facets := slices.Sorted(maps.Keys(o.facet))
	for range n {
		p := g.params(facets)
		got, err := s.Search(p)
		if err != nil {
			t.Fatalf("Search(%+v): %v", p, err)
		}
		// The oracle takes the params as Search checked them.
		st := newState()
		if err := s.prepare(&p, st); err != nil {
			t.Fatal(err)
		}
		want := o.search(p)
		if gs, ws := comparable(got), comparable(want); gs != ws {
			t.Fatalf("search %+v:\n got %s\nwant %s", p, gs, ws)
		}
		for _, pr := range got.Products {
			for _, h := range pr.Highlights {
				if h[0] < 0 || h[0] >= h[1] || h[1] > len(pr.Name) {
					t.Fatalf("bad highlight %v in %q", h, pr.Name)
				}
			}
		}
	}
}

func TestSearchMatchesOracle(t *testing.T) {
	smallBuckets(t)
	for seed := range uint64(12) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			g := &gen{rng: rand.New(rand.NewPCG(seed, 7))}
			var ps []*api.Product
			for i := range 20 + g.rng.IntN(150) {
				// Ids sharing 8 bytes are ordered by the whole id.
				ps = append(ps, g.product(fmt.Sprintf("%s%03d", []string{"p", "product-", "product-x"}[i%3], i)))
			}
			if seed%3 == 0 && len(ps) > 3 {
				// a snapshot naming a product twice keeps the last
				ps = append(ps, g.product(ps[2].ID))
			}
			cfg := testConfig()
			s := newLoaded(t, cfg, ps)
			o := newOracle(cfg, dedupLast(ps))
			if !reflect.DeepEqual(facetSet(s), o.facet) {
				t.Fatalf("facet attributes %v, want %v", facetSet(s), o.facet)
			}
			checkSearches(t, g, s, o, 150)
			// Feed events, checked as they come.
			seq := uint64(1)
			for round := range 40 {
				for range 1 + g.rng.IntN(4) {
					seq++
					ev := g.event(o, seq)
					s.Apply(ev)
					switch ev.Type {
					case api.EventUpsert:
						o.upsert(ev.Product, ev.Seq)
					case api.EventDelete:
						o.remove(ev.ID, ev.Seq)
					}
				}
				checkSearches(t, g, s, o, 10+round%3*10)
			}
		})
	}
}

func facetSet(s *Service) map[string]bool {
	x := s.idx.Load()
	m := map[string]bool{}
	for _, a := range x.attrs {
		if a.facet {
			m[a.name] = true
		}
	}
	return m
}

func dedupLast(ps []*api.Product) []*api.Product {
	last := map[string]*api.Product{}
	for _, p := range ps {
		last[p.ID] = p
	}
	return slices.Collect(maps.Values(last))
}

// event returns a random change: mostly changes of a live product, some
// new products, deletes, and stale or repeated events.
func (g *gen) event(o *oracle, seq uint64) *api.Event {
	r := g.rng
	ids := slices.Sorted(maps.Keys(o.products))
	if len(ids) == 0 || r.IntN(10) == 0 {
		g.n++
		return &api.Event{Seq: seq, Type: api.EventUpsert, Product: g.product(fmt.Sprintf("n%03d", g.n))}
	}
	id := g.pick(ids)
	if r.IntN(12) == 0 {
		if r.IntN(2) == 0 {
			return &api.Event{Seq: seq, Type: api.EventDelete, ID: id}
		}
		return &api.Event{Seq: seq, Type: api.EventDelete, ID: "never-" + id}
	}
	cur := o.products[id]
	p := *cur
	p.SKUs = slices.Clone(cur.SKUs)
	switch r.IntN(7) {
	case 0: // price change
		for i := range p.SKUs {
			p.SKUs[i].Price = &api.Money{Amount: int64(r.IntN(8)) * 300, Currency: "USD"}
		}
	case 1: // stock band change
		for i := range p.SKUs {
			p.SKUs[i].Availability = g.pick([]string{api.InStock, api.LowStock, api.OutOfStock})
		}
	case 2: // category change
		p.Categories = slices.Clone(catTree[r.IntN(len(catTree))])
	case 3: // name change
		p.Name = g.query() + " " + g.pick(vocab)
		p.Slug = api.Slug(p.Name, p.ID)
	case 4: // popularity, attributes
		p.Popularity = int64(r.IntN(5))
		p.Attributes = maps.Clone(p.Attributes)
		if p.Attributes == nil {
			p.Attributes = map[string]string{}
		}
		p.Attributes["color"] = g.pick(append(attrPool["color"], "Green", "green"))
	case 5: // a stale state: ignored
		np := g.product(id)
		return &api.Event{Seq: o.seqs[id], Type: api.EventUpsert, Product: np}
	default: // a whole new state
		np := g.product(id)
		return &api.Event{Seq: seq, Type: api.EventUpsert, Product: np}
	}
	return &api.Event{Seq: seq, Type: api.EventUpsert, Product: &p}
}
