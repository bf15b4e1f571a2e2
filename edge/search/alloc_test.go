//go:build !race

package search

import (
	"testing"

	"shopedge/core/api"

	"github.com/valyala/fasthttp"
)

// TestHandleSearchHitAllocatesNothing: a cached search answer is a lookup.
// With hot answers on, a hit is found by the raw query string and its
// bytes are sent as they are; with hot answers off, it is a parse into
// reused scratch, a key built in a pooled buffer, a fastcache lookup and
// a copy into the response. Either way no allocation (the race
// detector's instrumentation allocates, hence the build tag). Seen
// failing: a strings.Clone of q in the parse (1 allocation per answer-
// cache hit, as before queryArgs), a copy of a hot answer's bytes. It
// proves nothing about misses, which compute and marshal an answer, nor
// about what the server around the handler allocates.
func TestHandleSearchHitAllocatesNothing(t *testing.T) {
	products := demoProducts(t)
	for _, hot := range []int{DefaultConfig().HotAnswers, 0} {
		cfg := DefaultConfig()
		cfg.HotAnswers = hot
		s := newLoaded(t, cfg, products)
		for _, c := range []struct{ uri, inm string }{
			{"/v1/search?q=galaxy&per_page=10", ""},
			{"/v1/search?q=samsung+galaxy+s7+case&per_page=10", ""},
			{"/v1/search?q=caf%C3%A9", ""},
			{"/v1/search?per_page=10&q=laptop&sort=price_asc&in_stock=1&page=2", ""},
			{"/v1/search?q=phone&brand=Samsung&brand=Apple&category=Cell+Phones&price_min=1000&price_max=90000", ""},
			{"/v1/search?q=printer&attr.colour=Black&attr.colour=White", ""},
			{"/v1/search", ""},
			{"/v1/search?q=galaxy&per_page=10", "etag"},
		} {
			ctx := new(fasthttp.RequestCtx)
			ctx.Request.SetRequestURI(c.uri)
			s.HandleSearch(ctx) // miss: fills the caches
			if sc := ctx.Response.StatusCode(); sc != 200 {
				t.Fatalf("%s: status %d: %s", c.uri, sc, ctx.Response.Body())
			}
			want := 200
			if c.inm != "" {
				ctx.Request.Header.Set("If-None-Match", "W/"+header(ctx, "ETag"))
				want = 304
			}
			hits := s.hits.Get()
			allocs := testing.AllocsPerRun(200, func() {
				ctx.Response.Reset()
				s.HandleSearch(ctx)
			})
			if sc := ctx.Response.StatusCode(); sc != want {
				t.Fatalf("%s: status %d, want %d", c.uri, sc, want)
			}
			if allocs != 0 {
				t.Errorf("hot answers %d, %s (If-None-Match %v): %.1f allocations per cached answer", hot, c.uri, c.inm != "", allocs)
			}
			if n := s.hits.Get() - hits; n < 200 {
				t.Fatalf("%s: only %d hits", c.uri, n)
			}
		}
	}
}

// TestSearchAllocations: a search (no answer cache) allocates its answer
// and the roaring sets of its intersections, nothing else: the scratch
// (words, word sets, counters, iterators, facet lists, the relevance
// tiers' map and leaves, URL and highlight buffers) is the pooled
// state's. The budget of each query (its roaring sets, and for the
// filtered one the filters' slices) is what it allocates today at the
// demo catalog; the
// answer's own allocations are counted from the answer (one for the
// page's URLs and images, one per highlight list, per facet list, ...), so a budget fails
// when scratch allocations come back, not when a query matches more.
// Seen failing: a map for the tiers per search (+2 on the relevance
// queries), each query word copied to a string (+1 per word). It
// proves nothing about the sets roaring allocates, which are in the
// budget, nor about 1M products (bench/searchcmp reports allocs/search).
func TestSearchAllocations(t *testing.T) {
	s := newLoaded(t, DefaultConfig(), demoProducts(t))
	for _, c := range []struct {
		p    api.SearchParams
		sets float64 // allocations beyond the answer's: roaring's sets
	}{
		{api.SearchParams{Query: "galaxy", PerPage: 10}, 6},
		{api.SearchParams{Query: "samsung galaxy s7 case", PerPage: 10}, 43},
		{api.SearchParams{Query: "laptop", PerPage: 10, Sort: api.SortPriceAsc, Page: 2}, 21},
		{api.SearchParams{Query: "phone", Brands: []string{"Samsung", "Apple"}, PriceMin: 1000, PriceMax: 90000, PerPage: 10}, 83},
		{api.SearchParams{Query: "hp printer ink", PerPage: 10}, 40},
		{api.SearchParams{PerPage: 10}, 9},
	} {
		var r *api.SearchResult
		allocs := testing.AllocsPerRun(50, func() {
			var err error
			if r, err = s.Search(c.p); err != nil {
				t.Fatal(err)
			}
		})
		answer := answerAllocs(r)
		t.Logf("%+v: %.0f allocations, %d the answer's", c.p, allocs, answer)
		if allocs-float64(answer) > c.sets {
			t.Errorf("%+v: %.0f allocations per search, %d of them the answer's: more than %.0f beyond it", c.p, allocs, answer, c.sets)
		}
	}
}

// answerAllocs counts the allocations an answer needs: itself, its
// product list, one string for the page's URLs and images, each
// product's price and highlight list, the facet lists with values, the price buckets and the
// attribute facets' map.
func answerAllocs(r *api.SearchResult) int {
	n := 1 + 1 + 1 // the result, the price buckets, the attribute map
	if len(r.Products) > 0 {
		n += 2 // the list, and one string holding every URL and image
	}
	for _, p := range r.Products {
		if len(p.Highlights) > 0 {
			n++
		}
		if p.Price != nil {
			n++
		}
	}
	for _, f := range [][]api.FacetValue{r.Facets.Category, r.Facets.Brand} {
		if len(f) > 0 {
			n++
		}
	}
	return n
}
