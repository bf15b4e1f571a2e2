//go:build !race

package httpapi

import (
	"fmt"
	"testing"

	"github.com/valyala/fasthttp"

	"shopedge/edge/pages"
)

// TestHitPathAllocatesNothing covers hits from the hot tier and, with the
// tier off, from the off-heap cache.
func TestHitPathAllocatesNothing(t *testing.T) {
	for _, hot := range []int{pages.DefaultConfig().HotEntries, 0} {
		t.Run(fmt.Sprintf("hot=%d", hot), func(t *testing.T) { testHitPathAllocatesNothing(t, hot) })
	}
}

func testHitPathAllocatesNothing(t *testing.T, hot int) {
	a, _ := newHitAPI(t, true, hot)
	stale, _ := newHitAPI(t, false, hot)
	ps := realProducts(t)
	r, err := pages.Render(ps[0], 5)
	if err != nil {
		t.Fatal(err)
	}
	etagJSON := string(r.ETags[pages.JSON])
	for _, c := range []struct {
		name    string
		api     *API
		uri     string
		headers []string
		status  int
		handler func(*API) fasthttp.RequestHandler
	}{
		{"json hit", a, "/v1/products/" + ps[0].ID, nil, 200, func(a *API) fasthttp.RequestHandler { return a.ProductJSON }},
		{"gzip hit", a, "/v1/products/" + ps[0].ID, []string{"Accept-Encoding", "br, gzip;q=0.9"}, 200, func(a *API) fasthttp.RequestHandler { return a.ProductJSON }},
		{"304", a, "/v1/products/" + ps[0].ID, []string{"If-None-Match", `"x", ` + etagJSON}, 304, func(a *API) fasthttp.RequestHandler { return a.ProductJSON }},
		{"html hit", a, "/products/" + ps[1].Slug, nil, 200, func(a *API) fasthttp.RequestHandler { return a.ProductHTML }},
		{"html gzip hit", a, "/products/" + ps[1].Slug, []string{"Accept-Encoding", "gzip"}, 200, func(a *API) fasthttp.RequestHandler { return a.ProductHTML }},
		{"stale hit", stale, "/v1/products/" + ps[2].ID, nil, 200, func(a *API) fasthttp.RequestHandler { return a.ProductJSON }},
	} {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(c.uri)
		for i := 0; i < len(c.headers); i += 2 {
			ctx.Request.Header.Set(c.headers[i], c.headers[i+1])
		}
		h := c.handler(c.api)
		run := func() {
			ctx.Response.Reset()
			h(&ctx)
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
