package storefront

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/edge/storefront/theme"
)

func gunzip(tb testing.TB, b []byte) []byte {
	tb.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func header(r *fasthttp.Response, name string) string { return string(r.Header.Peek(name)) }

// Every page answers with the caching headers a CDN needs, gzip when
// asked (the same page), 304 to its ETag, HEAD without a body, and no
// cookie: nothing in a response depends on who asks.
func TestPagesHeaders(t *testing.T) {
	e := newEnv(t, testProducts(t), nil)
	cc := DefaultConfig().cacheControl()
	for _, c := range []struct {
		uri, cacheControl, key string
	}{
		{"/", cc, "storefront-home"},
		{"/c/cell-phones", cc, "category-cell-phones"},
		{"/c/computers?brand=Intel", cc, "brand-intel"},
		{"/search?q=apple", cc, "storefront"},
		{"/cart", cc, "storefront"},
		{"/checkout", cc, "storefront"},
		{"/orders/o1?token=t1", "no-store", "storefront"},
	} {
		r := e.get(t, c.uri)
		if r.StatusCode() != 200 {
			t.Fatalf("%s: %d", c.uri, r.StatusCode())
		}
		if got := header(r, "Content-Type"); got != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", c.uri, got)
		}
		if got := header(r, "Cache-Control"); got != c.cacheControl {
			t.Errorf("%s: Cache-Control %q, want %q", c.uri, got, c.cacheControl)
		}
		if got := header(r, "Vary"); got != "Accept-Encoding" {
			t.Errorf("%s: Vary %q", c.uri, got)
		}
		if keys := strings.Fields(header(r, "Surrogate-Key")); !contains(keys, c.key) || !contains(keys, "storefront") {
			t.Errorf("%s: Surrogate-Key %q lacks %q", c.uri, keys, c.key)
		}
		if len(r.Header.PeekCookie("")) > 0 || header(r, "Set-Cookie") != "" {
			t.Errorf("%s: sets a cookie", c.uri)
		}
		etag := header(r, "ETag")
		if !strings.HasPrefix(etag, `"`) {
			t.Errorf("%s: ETag %q", c.uri, etag)
		}
		plain := append([]byte(nil), r.Body()...)
		// Another shopper, with cookies, a cart and another language,
		// gets the same bytes.
		other := e.get(t, c.uri, "Cookie", "cart=abc; session=xyz", "Accept-Language", "de", "X-Forwarded-Host", "evil.example")
		if !bytes.Equal(other.Body(), plain) || header(other, "ETag") != etag {
			t.Errorf("%s: the page depends on request headers", c.uri)
		}
		gz := e.get(t, c.uri, "Accept-Encoding", "gzip, br")
		if header(gz, "Content-Encoding") != "gzip" || !bytes.Equal(gunzip(t, gz.Body()), plain) {
			t.Errorf("%s: gzip body is not the plain page", c.uri)
		}
		if header(gz, "ETag") == etag {
			t.Errorf("%s: gzip and plain share an ETag", c.uri)
		}
		if nm := e.get(t, c.uri, "If-None-Match", `"x", `+etag); nm.StatusCode() != 304 || len(nm.Body()) != 0 {
			t.Errorf("%s: If-None-Match: %d, %d bytes", c.uri, nm.StatusCode(), len(nm.Body()))
		}
		if h := e.do(t, "HEAD", c.uri); h.StatusCode() != 200 || len(h.Body()) != 0 || header(h, "ETag") != etag {
			t.Errorf("%s: HEAD: %d, %d bytes, ETag %q", c.uri, h.StatusCode(), len(h.Body()), header(h, "ETag"))
		}
	}
	if r := e.get(t, "/orders/o1?token=t1"); header(r, "Referrer-Policy") != "no-referrer" {
		t.Errorf("order page: Referrer-Policy %q", header(r, "Referrer-Policy"))
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Listing pages carry the keys of the products they show, so a purge of
// one product (what the core sends a CDN on a change) drops them too, and
// of the brands their facets offer.
func TestListingSurrogateKeysNameShownProducts(t *testing.T) {
	e := newEnv(t, testProducts(t), nil)
	r := e.get(t, "/c/audio")
	keys := strings.Fields(header(r, "Surrogate-Key"))
	n := 0
	for _, k := range keys {
		if strings.HasPrefix(k, "product-") {
			n++
			if !bytes.Contains(r.Body(), []byte(`href="/products/`)) {
				t.Fatal("no product links")
			}
		}
	}
	if n != 10 || !contains(keys, "category-audio") {
		t.Fatalf("keys %q: want category-audio and the 10 products shown", keys)
	}
	for _, brand := range []string{"Sony", "Philips"} {
		if !contains(keys, api.BrandKey(brand)) || !bytes.Contains(r.Body(), []byte(`data-value="`+brand+`"`)) {
			t.Fatalf("keys %q lack brand %s of the facet", keys, brand)
		}
	}
}

// Bad input gets a 400 page naming the parameter and is not cached.
func TestBadSearchIs400NamingTheParameter(t *testing.T) {
	e := newEnv(t, testProducts(t), nil)
	f := func(uri string, status int, name string) {
		t.Helper()
		r := e.get(t, uri)
		if r.StatusCode() != status {
			t.Fatalf("%.80s: status %d, want %d", uri, r.StatusCode(), status)
		}
		if !bytes.Contains(r.Body(), []byte(name)) || !bytes.Contains(r.Body(), []byte("<!DOCTYPE html>")) {
			t.Fatalf("%s: page does not name %q: %s", uri, name, r.Body())
		}
		if header(r, "Cache-Control") != "no-store" {
			t.Fatalf("%s: Cache-Control %q", uri, header(r, "Cache-Control"))
		}
	}
	f("/search?per_page=1000", 400, "per_page")
	f("/search?page=0", 400, "page")
	f("/search?color=red", 400, "color")
	f("/search?q=a&q=b", 400, "q")
	f("/search?sort=cheapest", 400, "sort")
	f("/search?price_min=500&price_max=100", 400, "price_min")
	f("/search?q="+strings.Repeat("a", maxQuery), 400, "query")
	f("/c/cell-phones?category=Audio", 400, "category")
	f("/c/cell-phones?page=x", 400, "page")
	f("/c/no-such-category", 404, "category")
	f("/c/bad%20slug", 404, "category")
	f("/orders/"+strings.Repeat("7", 129)+"?token=x", 404, "order")
	// Campaign tags are no parameters of the page: dropped, not refused.
	if r := e.get(t, "/search?q=apple&utm_source=mail&gclid=x"); r.StatusCode() != 200 {
		t.Fatalf("campaign tags: %d", r.StatusCode())
	}
}

// The precomputed category page is the page a request with no filters
// would render: the same bytes, whichever path answers.
func TestPrecomputedCategoryEqualsRendered(t *testing.T) {
	e := newEnv(t, testProducts(t), nil)
	hit := e.get(t, "/c/cell-phones")
	before := e.sf.renders.Get()
	rendered := e.get(t, "/c/cell-phones?utm_campaign=x")
	if e.sf.renders.Get() != before+1 {
		t.Fatal("the tagged request did not render the page")
	}
	if !bytes.Equal(hit.Body(), rendered.Body()) {
		t.Fatalf("precomputed and rendered pages differ")
	}
}

// Before the first catalog load, listing pages say the shop is opening.
func TestUnavailableBeforeLoad(t *testing.T) {
	eng := newFakeEngine(testProducts(t))
	sf, err := New(testConfig(), eng, testLog, testMetrics())
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	for _, h := range []fasthttp.RequestHandler{sf.Home, sf.Search, sf.Category} {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/c/cell-phones")
		h(&ctx)
		if ctx.Response.StatusCode() != 503 || string(ctx.Response.Header.Peek("Retry-After")) == "" {
			t.Fatalf("before load: %d", ctx.Response.StatusCode())
		}
	}
}

func TestAssets(t *testing.T) {
	e := newEnv(t, nil, nil)
	for _, a := range theme.Assets() {
		r := e.get(t, a.URL)
		if r.StatusCode() != 200 || !bytes.Equal(r.Body(), a.Body) || header(r, "Cache-Control") != "public, max-age=31536000, immutable" {
			t.Fatalf("%s: %d %q", a.URL, r.StatusCode(), header(r, "Cache-Control"))
		}
		if !strings.HasPrefix(header(r, "Content-Type"), a.ContentType[:8]) {
			t.Fatalf("%s: Content-Type %q", a.URL, header(r, "Content-Type"))
		}
		// An old version's URL gets today's bytes, cached briefly.
		old := e.get(t, a.Path+"?v=0123", "Accept-Encoding", "gzip")
		if old.StatusCode() != 200 || header(old, "Cache-Control") != DefaultConfig().cacheControl() || !bytes.Equal(gunzip(t, old.Body()), a.Body) {
			t.Fatalf("%s: old version %d %q", a.Path, old.StatusCode(), header(old, "Cache-Control"))
		}
	}
	if r := e.get(t, "/assets/other.js"); r.StatusCode() != 404 {
		t.Fatalf("unknown asset: %d", r.StatusCode())
	}
}

// Catalog data cannot inject markup into a listing page: names, brands,
// categories, attribute values and availability are escaped, and an
// image URL that is not http(s) is dropped.
func TestListingEscapes(t *testing.T) {
	e := newEnv(t, append(testProducts(t), hostileProduct(t)), nil)
	for _, uri := range []string{
		"/search?brand=" + url.QueryEscape("Brand</title><x>"),
		"/search?category=" + url.QueryEscape("A & <b>B</b>") + "&attr." + url.QueryEscape(`"k"`) + "=" + url.QueryEscape("<v>"),
		"/c/" + api.KeyToken("A & <b>B</b>"),
	} {
		b := e.body(t, uri)
		if !strings.Contains(b, "&lt;script&gt;alert(1)&lt;/script&gt; &#34;Quoted&#34; &amp; Co") {
			t.Errorf("%s: the hostile product is not listed, escaped", uri)
		}
		for _, bad := range []string{"<script>", "javascript:", "<x>", "<b>B</b>", "<v>", `avail "`} {
			if strings.Contains(b, bad) {
				t.Errorf("%s: page contains %q", uri, bad)
			}
		}
	}
}
