//go:build !race

package storefront

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// TestHitPathAllocatesNothing: the home page and a precomputed category
// page are served like product pages, a lookup and a write, plain, gzip
// and 304, with no allocation (the race detector's instrumentation
// allocates, hence the build tag).
func TestHitPathAllocatesNothing(t *testing.T) {
	e := newEnv(t, testProducts(t), nil)
	etag := string(e.sf.home.Load().etag)
	for _, c := range []struct {
		name    string
		uri     string
		headers []string
		status  int
		h       fasthttp.RequestHandler
	}{
		{"home", "/", nil, 200, e.sf.Home},
		{"home gzip", "/", []string{"Accept-Encoding", "gzip, deflate, br"}, 200, e.sf.Home},
		{"home 304", "/", []string{"If-None-Match", etag}, 304, e.sf.Home},
		{"category", "/c/cell-phones", nil, 200, e.sf.Category},
		{"category gzip", "/c/audio", []string{"Accept-Encoding", "gzip"}, 200, e.sf.Category},
		{"cart", "/cart", []string{"Accept-Encoding", "gzip"}, 200, e.sf.Cart},
	} {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(c.uri)
		for i := 0; i < len(c.headers); i += 2 {
			ctx.Request.Header.Set(c.headers[i], c.headers[i+1])
		}
		run := func() {
			ctx.Response.Reset()
			c.h(&ctx)
		}
		run()
		if ctx.Response.StatusCode() != c.status {
			t.Fatalf("%s: status %d, want %d", c.name, ctx.Response.StatusCode(), c.status)
		}
		if c.status == 200 && len(ctx.Response.Body()) == 0 {
			t.Fatalf("%s: empty body", c.name)
		}
		if n := testing.AllocsPerRun(200, run); n != 0 {
			t.Errorf("%s: %.1f allocations per request, want 0", c.name, n)
		}
	}
}
