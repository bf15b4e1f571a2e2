//go:build !race

package suggest

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// TestHandleHitAllocatesNothing: a cached answer is a normalise, a
// fastcache lookup and a copy into the response.
func TestHandleHitAllocatesNothing(t *testing.T) {
	s := newLoaded(t, testConfig(), demoProducts(t))
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
			t.Fatalf("q=%s: %.1f allocations per cached hit", q, allocs)
		}
		if s.hits.Get()-hits < 200 {
			t.Fatalf("q=%s: only %d hits", q, s.hits.Get()-hits)
		}
	}
}
