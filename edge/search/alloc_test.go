//go:build !race

package search

import (
	"testing"

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
