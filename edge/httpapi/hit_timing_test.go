package httpapi

import (
	"bytes"
	"testing"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"shopedge/edge/pages"
)

// benchAPI returns an API over a store holding the real test products.
func benchAPI(b testing.TB) *API {
	a, _ := newHitAPI(b, true, pages.DefaultConfig().HotEntries)
	return a
}

// newHitAPI returns an API over a store loaded with the real test
// products, without a core (every request must be a hit), with a hot tier
// of hot entries (0: off).
func newHitAPI(tb testing.TB, connected bool, hot int) (*API, *pages.Cache) {
	tb.Helper()
	ps, l := newStoreHot(tb, hot)
	l.BeginLoad()
	for _, p := range realProducts(tb) {
		l.Load(p)
	}
	l.EndLoad(1)
	for _, p := range realProducts(tb) {
		l.FillFor(p.ID, pages.HTMLGzip) // and the HTML
		l.FillFor(p.ID, pages.JSONGzip)
	}
	return apiOver(ps, l, connected), ps
}

// apiOver returns an API over ps, loaded by l, without a core: its feed
// is ready, and connected or not.
func apiOver(ps *pages.Cache, l *pages.Loader, connected bool) *API {
	feed := &staticFeed{}
	feed.ready.Store(true)
	feed.connected.Store(connected)
	return New(Deps{Pages: ps, Loader: l, Follower: feed, Log: zerolog.Nop(), Metrics: metrics.NewSet()}, DefaultConfig())
}

// benchHandler runs h in parallel on one reused RequestCtx per goroutine.
func benchHandler(b *testing.B, h fasthttp.RequestHandler, uri string, headers ...string) {
	var probe fasthttp.RequestCtx
	probe.Request.SetRequestURI(uri)
	h(&probe)
	if probe.Response.StatusCode() != 200 {
		b.Fatalf("status %d", probe.Response.StatusCode())
	}
	b.SetBytes(int64(len(probe.Response.Body())))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(uri)
		for i := 0; i+1 < len(headers); i += 2 {
			ctx.Request.Header.Set(headers[i], headers[i+1])
		}
		for pb.Next() {
			ctx.Response.Reset()
			h(&ctx)
		}
	})
}

func BenchmarkHitJSON(b *testing.B) {
	a := benchAPI(b)
	benchHandler(b, a.ProductJSON, "/v1/products/5191101")
}

func BenchmarkHitJSONGzip(b *testing.B) {
	a := benchAPI(b)
	benchHandler(b, a.ProductJSON, "/v1/products/5191101", "Accept-Encoding", "gzip, deflate, br")
}

func BenchmarkHitHTML(b *testing.B) {
	a := benchAPI(b)
	benchHandler(b, a.ProductHTML, "/products/motorola-moto-g-4th-generation-4g-lte-with-16gb-memory-cell-5191101")
}

// BenchmarkBaselineFixed2KB is the floor: a handler writing a fixed 2 KB
// body with the same number of headers and no lookup.
func BenchmarkBaselineFixed2KB(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 2048)
	etag := []byte(`"0123456789abcdef"`)
	sk := []byte("product-1 category-a brand-b")
	cc := []byte(DefaultConfig().cacheControl())
	h := func(ctx *fasthttp.RequestCtx) {
		hd := &ctx.Response.Header
		hd.SetContentTypeBytes(ctJSON)
		hd.SetCanonical(hETag, etag)
		hd.SetCanonical(hCacheControl, cc)
		hd.SetCanonical(hSurrogateKey, sk)
		hd.SetCanonical(hVary, vAcceptEncoding)
		ctx.SetBody(body)
	}
	benchHandler(b, h, "/v1/products/1")
}

// BenchmarkStoreGet measures the page cache lookup alone.
func BenchmarkStoreGet(b *testing.B) {
	a := benchAPI(b)
	id := []byte("5191101")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := a.deps.Pages.Lookup(&a.bufs, pages.JSON, pages.ByID, id)
			r.Release()
		}
	})
}
