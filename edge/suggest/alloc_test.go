//go:build !race

package suggest

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// TestHandleHitAllocatesNothing: a hot answer is a lookup by raw query;
// with hot answers off, a cached answer is a normalise, a fastcache lookup
// and a copy into the response.
func TestHandleHitAllocatesNothing(t *testing.T) {
	for _, hot := range []int{testConfig().HotAnswers, 0} {
		cfg := testConfig()
		cfg.HotAnswers = hot
		testHandleHitAllocatesNothing(t, cfg)
	}
}

func testHandleHitAllocatesNothing(t *testing.T, cfg Config) {
	s := newLoaded(t, cfg, demoProducts(t))
	for _, q := range []string{"sam", "galaxy%20s7", "%EF%BD%89%EF%BC%B0hone", "caf%C3%A9"} {
		ctx := new(fasthttp.RequestCtx)
		ctx.Request.SetRequestURI("/v1/suggest?limit=5&q=" + q)
		s.Handle(ctx) // miss: fills the cache
		hits := s.hits.Get()
		allocs := testing.AllocsPerRun(200, func() {
			ctx.Response.Reset()
			s.Handle(ctx)
		})
		if allocs != 0 {
			t.Fatalf("hot answers %d, q=%s: %.1f allocations per cached hit", cfg.HotAnswers, q, allocs)
		}
		if s.hits.Get()-hits < 200 {
			t.Fatalf("q=%s: only %d hits", q, s.hits.Get()-hits)
		}
	}
}
