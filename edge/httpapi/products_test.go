package httpapi

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/edge/pages"
)

func header(r *fasthttp.Response, name string) string { return string(r.Header.Peek(name)) }

func TestProductJSONHeadersAndBody(t *testing.T) {
	e := newEnv(t, nil)
	p := e.products[1]
	want, _ := pages.Render(p, 5)
	r := e.do(t, "GET", "/v1/products/"+p.ID, "")
	if r.StatusCode() != 200 || !bytes.Equal(r.Body(), want.Bodies[pages.JSON]) {
		t.Fatalf("status %d body %s", r.StatusCode(), r.Body())
	}
	for name, v := range map[string]string{
		"Content-Type":  "application/json",
		"ETag":          string(want.ETags[pages.JSON]),
		"Cache-Control": "public, max-age=60, s-maxage=300, stale-while-revalidate=60, stale-if-error=86400",
		"Surrogate-Key": "product-5191101 category-cell-phones category-unlocked-cell-phones category-all-unlocked-cell-phones brand-motorola",
		"Vary":          "Accept-Encoding",
	} {
		if got := header(r, name); got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
	if header(r, "Content-Encoding") != "" || header(r, "X-Shopedge-Stale") != "" {
		t.Error("unexpected Content-Encoding or stale header")
	}
	var back api.Product
	if err := json.Unmarshal(r.Body(), &back); err != nil || back.SKUs[1].Availability != api.OutOfStock {
		t.Fatalf("JSON lacks availability: %v %+v", err, back)
	}
}

func TestProductGzipNegotiation(t *testing.T) {
	e := newEnv(t, nil)
	p := e.products[0]
	want, _ := pages.Render(p, 5)
	for _, c := range []struct {
		ae   string
		gzip bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"br, gzip;q=0.8", true},
		{"gzip;q=0", false},
		{"gzip; q=0.000, br", false},
		{"deflate, br", false},
		{"*", true},
		{"*;q=0", false},
		{"gzip;q=0, *", false},
		{"identity;q=1, *;q=0.5", true},
		{"x-gzip", true},
		{"gzip;q=bogus", false},
	} {
		r := e.do(t, "GET", "/v1/products/"+p.ID, "", "Accept-Encoding", c.ae)
		gz := header(r, "Content-Encoding") == "gzip"
		if gz != c.gzip || r.StatusCode() != 200 {
			t.Errorf("Accept-Encoding %q: gzip=%v status %d", c.ae, gz, r.StatusCode())
			continue
		}
		body := r.Body()
		if gz {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(zr)
			if header(r, "ETag") != string(want.ETags[pages.JSONGzip]) {
				t.Errorf("gzip response carries ETag %s", header(r, "ETag"))
			}
		}
		if !bytes.Equal(body, want.Bodies[pages.JSON]) {
			t.Errorf("Accept-Encoding %q: body differs", c.ae)
		}
	}
}

func TestProductConditionalAndHead(t *testing.T) {
	e := newEnv(t, nil)
	p := e.products[2]
	r := e.do(t, "GET", "/products/"+p.Slug, "")
	if r.StatusCode() != 200 || header(r, "Content-Type") != "text/html; charset=utf-8" || !strings.Contains(string(r.Body()), "<!DOCTYPE html>") {
		t.Fatalf("HTML: %d %s", r.StatusCode(), header(r, "Content-Type"))
	}
	etag := header(r, "ETag")
	for _, inm := range []string{etag, "W/" + etag, `"nope", ` + etag, "*", `"a",W/` + etag + ` , "b"`} {
		r := e.do(t, "GET", "/products/"+p.Slug, "", "If-None-Match", inm)
		if r.StatusCode() != 304 || len(r.Body()) != 0 || header(r, "ETag") != etag || header(r, "Cache-Control") == "" {
			t.Errorf("If-None-Match %s: status %d, etag %q, body %d bytes", inm, r.StatusCode(), header(r, "ETag"), len(r.Body()))
		}
	}
	if r := e.do(t, "GET", "/products/"+p.Slug, "", "If-None-Match", `"other"`); r.StatusCode() != 200 {
		t.Errorf("non-matching If-None-Match: %d", r.StatusCode())
	}
	full := e.do(t, "GET", "/v1/products/"+p.ID, "", "Accept-Encoding", "gzip")
	h := e.do(t, "HEAD", "/v1/products/"+p.ID, "", "Accept-Encoding", "gzip")
	if h.StatusCode() != 200 || len(h.Body()) != 0 || h.Header.ContentLength() != len(full.Body()) ||
		header(h, "ETag") != header(full, "ETag") || header(h, "Content-Encoding") != "gzip" {
		t.Fatalf("HEAD: status %d, body %d, Content-Length %d (GET %d)", h.StatusCode(), len(h.Body()), h.Header.ContentLength(), len(full.Body()))
	}
}

func TestFeedChangesReachResponses(t *testing.T) {
	e := newEnv(t, nil)
	p := *e.products[0]
	p.Name = "Renamed phone"
	seq := e.core.Upsert(&p)
	waitFor(t, func() bool { return e.follower.Seq() >= seq })
	if r := e.do(t, "GET", "/v1/products/"+p.ID, ""); !strings.Contains(string(r.Body()), "Renamed phone") {
		t.Fatalf("upsert not served: %s", r.Body())
	}
	seq = e.core.Delete(p.ID)
	waitFor(t, func() bool { return e.follower.Seq() >= seq })
	if r := e.do(t, "GET", "/v1/products/"+p.ID, ""); r.StatusCode() != 404 {
		t.Fatalf("deleted product: %d", r.StatusCode())
	}
	if r := e.do(t, "GET", "/products/"+p.Slug, ""); r.StatusCode() != 404 {
		t.Fatalf("deleted product page: %d", r.StatusCode())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

func TestMissFetchesOncePerKey(t *testing.T) {
	e := newEnv(t, nil)
	e.core.ProductDelay = 200 * time.Millisecond
	p := e.products[3]
	e.pages.Purge([]string{p.ID}) // evicted: the next requests miss
	before := e.core.Calls("product")
	want, _ := pages.Render(p, 5)
	const n = 1000
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := e.send("GET", "/v1/products/"+p.ID, "")
			if err != nil {
				errs <- err.Error()
				return
			}
			if r.StatusCode() != 200 || !bytes.Equal(r.Body(), want.Bodies[pages.JSON]) {
				errs <- fmt.Sprintf("status %d: %s", r.StatusCode(), r.Body())
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := e.core.Calls("product") - before; got != 1 {
		t.Fatalf("core asked %d times for one missing product", got)
	}
	// The fetched product is stored: later requests are hits.
	e.do(t, "GET", "/v1/products/"+p.ID, "")
	if got := e.core.Calls("product") - before; got != 1 {
		t.Fatalf("fetched product not stored: %d calls", got)
	}
}

func TestMissUnknownIDIsNegativelyCached(t *testing.T) {
	e := newEnv(t, nil)
	before := e.core.Calls("product")
	for i := 0; i < 50; i++ {
		r := e.do(t, "GET", "/v1/products/does-not-exist", "")
		if r.StatusCode() != 404 || !strings.Contains(string(r.Body()), `"code":"not_found"`) {
			t.Fatalf("unknown id: %d %s", r.StatusCode(), r.Body())
		}
	}
	if got := e.core.Calls("product") - before; got != 1 {
		t.Fatalf("core asked %d times for one unknown id", got)
	}
	for i := 0; i < 20; i++ {
		if r := e.do(t, "GET", "/products/no-such-thing-777", ""); r.StatusCode() != 404 {
			t.Fatalf("unknown slug: %d", r.StatusCode())
		}
	}
	if got := e.core.Calls("product") - before; got != 2 {
		t.Fatalf("core asked %d times in all (want 2)", got)
	}
	// Once the feed brings the id, the negative entry no longer applies,
	// even for a purged page.
	seq := e.core.Upsert(&api.Product{ID: "does-not-exist", Slug: "now-it-does-not-exist", Name: "Now", SKUs: []api.SKU{{SKU: "x"}}})
	waitFor(t, func() bool { return e.follower.Seq() >= seq })
	e.pages.Purge([]string{"does-not-exist"})
	if r := e.do(t, "GET", "/v1/products/does-not-exist", ""); r.StatusCode() != 200 {
		t.Fatalf("created product still negatively cached: %d", r.StatusCode())
	}

	// A product the edge has not heard of yet is found through its slug.
	fresh := &api.Product{ID: "9001", Slug: "fresh-phone-9001", Name: "Fresh", SKUs: []api.SKU{{SKU: "9001", Availability: api.InStock}}}
	e.core.Set(fresh)
	if r := e.do(t, "GET", "/products/fresh-phone-9001", ""); r.StatusCode() != 200 || !strings.Contains(string(r.Body()), "<h1>Fresh</h1>") {
		t.Fatalf("fresh slug: %d", r.StatusCode())
	}
	// The id is right but the slug is not: 404.
	if r := e.do(t, "GET", "/products/wrong-name-9001", ""); r.StatusCode() != 404 {
		t.Fatalf("wrong slug for a real id: %d", r.StatusCode())
	}
}

func TestStaleServingWhenCoreIsDown(t *testing.T) {
	e := newEnv(t, nil)
	p := e.products[0]
	e.pages.Purge([]string{e.products[1].ID})
	e.core.Stop()
	waitFor(t, func() bool { return !e.follower.Connected() })
	for _, uri := range []string{"/v1/products/" + p.ID, "/products/" + p.Slug} {
		r := e.do(t, "GET", uri, "", "Accept-Encoding", "gzip")
		if r.StatusCode() != 200 || header(r, "X-Shopedge-Stale") != "1" {
			t.Fatalf("%s while the core is down: %d stale=%q", uri, r.StatusCode(), header(r, "X-Shopedge-Stale"))
		}
	}
	r := e.do(t, "GET", "/v1/products/"+e.products[1].ID, "")
	if r.StatusCode() != 503 || header(r, "Retry-After") != "5" || !strings.Contains(string(r.Body()), `"code":"unavailable"`) {
		t.Fatalf("miss while the core is down: %d Retry-After %q %s", r.StatusCode(), header(r, "Retry-After"), r.Body())
	}
	if !e.api.Ready() {
		t.Fatal("an outage must not make the edge unready")
	}
	if err := e.core.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, e.follower.Connected)
	if r := e.do(t, "GET", "/v1/products/"+p.ID, ""); header(r, "X-Shopedge-Stale") != "" {
		t.Fatal("stale header after the core is back")
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, nil)
	long := strings.Repeat("a", 129)
	calls, n, neg := e.core.Calls("product"), e.pages.Len(), e.api.neg.EntryCount()
	for _, c := range []struct {
		uri    string
		status int
	}{
		{"/v1/products/" + long, 400},
		{"/v1/products/%C3%A9t%C3%A9", 400},
		{"/v1/products/%FF%FE", 400},
		{"/v1/products/a%20b", 400},
		{"/v1/products/a..b", 400},
		{"/v1/products/a%2Fb", 404},
		{"/v1/products/%3Cscript%3E", 400},
		{"/v1/products/a%00b", 400},
		{"/v1/products/" + e.products[0].ID + "?q=" + strings.Repeat("x", 2000), 400},
		{"/products/" + long, 400},
		{"/products/caf%C3%A9-1", 400},
		{"/products/..", 404},
		{"/v1/products/", 404},
		{"/v1/products/a/b", 404},
	} {
		r := e.do(t, "GET", c.uri, "")
		if r.StatusCode() != c.status || !bytes.HasPrefix(r.Body(), []byte(`{"error":`)) {
			t.Errorf("%s: status %d body %.80s, want %d JSON", c.uri, r.StatusCode(), r.Body(), c.status)
		}
	}
	if e.core.Calls("product") != calls || e.pages.Len() != n || e.api.neg.EntryCount() != neg {
		t.Fatalf("bad input reached the core (%d→%d calls) or created entries", calls, e.core.Calls("product"))
	}
}

func TestUnkeyedInputNeverReachesBodies(t *testing.T) {
	e := newEnv(t, nil)
	p := e.products[2]
	e.pages.Purge([]string{p.ID}) // the evil request is the one that fills the cache
	for _, uri := range []string{"http://evil.example/v1/products/" + p.ID, "http://evil.example/products/" + p.Slug} {
		r := e.do(t, "GET", uri, "", "Host", "evil.example", "X-Forwarded-Host", "evil.example",
			"X-Forwarded-Proto", "javascript", "X-Original-URL", "/evil", "Accept-Encoding", "gzip")
		if r.StatusCode() != 200 {
			t.Fatalf("%s: %d", uri, r.StatusCode())
		}
	}
	want, _ := pages.Render(p, 5)
	for v := pages.Variant(0); v <= pages.HTMLGzip; v++ {
		r := e.pages.Lookup(nil, v, pages.ByID, []byte(p.ID))
		got, ok := r.Entry, r.Found == pages.Shared || r.Found == pages.Copied
		if !ok || !bytes.Equal(got.Body, want.Bodies[v]) || bytes.Contains(got.Body, []byte("evil")) {
			t.Fatalf("variant %d: stored bytes differ from a clean rendering", v)
		}
	}
	clean := e.do(t, "GET", "/products/"+p.Slug, "")
	if !bytes.Equal(clean.Body(), want.Bodies[pages.HTML]) || bytes.Contains(clean.Body(), []byte("evil")) {
		t.Fatal("a clean request got a body influenced by unkeyed input")
	}
}

func TestMountedHandlers(t *testing.T) {
	e := newEnv(t, nil)
	for _, c := range []struct{ method, uri, want string }{
		{"GET", "/v1/suggest?q=sam", "suggest"},
		{"POST", "/v1/carts", "forward POST"},
		{"GET", "/v1/carts/c1", "forward GET"},
		{"PUT", "/v1/carts/c1/items/s1", "forward PUT"},
		{"DELETE", "/v1/carts/c1/items/s1", "forward DELETE"},
		{"POST", "/v1/checkout", "forward POST"},
		{"GET", "/v1/orders/o1", "forward GET"},
		{"POST", "/v1/orders/o1/cancel", "forward POST"},
	} {
		if r := e.do(t, c.method, c.uri, ""); string(r.Body()) != c.want {
			t.Errorf("%s %s: %q", c.method, c.uri, r.Body())
		}
	}
}

// TestMissRendersWhatWasAsked: a JSON miss fetches the product once and
// stores its JSON; a later HTML request, gzip or not, renders its page
// from that JSON without asking the core again, and every body is the
// one Render makes.
func TestMissRendersWhatWasAsked(t *testing.T) {
	e := newEnv(t, nil)
	p := e.products[len(e.products)-1]
	e.pages.Purge([]string{p.ID})
	before := e.core.Calls("product")
	want, _ := pages.Render(p, pages.DefaultConfig().GzipLevel)
	r := e.do(t, "GET", "/v1/products/"+p.ID, "")
	if r.StatusCode() != 200 || !bytes.Equal(r.Body(), want.Bodies[pages.JSON]) {
		t.Fatalf("JSON miss: %d %s", r.StatusCode(), r.Body())
	}
	if ok := held(e.pages, pages.HTML, []byte(p.ID)); ok {
		t.Fatal("a JSON miss stored the HTML page too")
	}
	r = e.do(t, "GET", "/products/"+p.Slug, "", "Accept-Encoding", "gzip")
	if r.StatusCode() != 200 || !bytes.Equal(r.Body(), want.Bodies[pages.HTMLGzip]) ||
		string(r.Header.Peek("ETag")) != string(want.ETags[pages.HTMLGzip]) {
		t.Fatalf("HTML gzip after a JSON miss: %d %q", r.StatusCode(), r.Header.Peek("ETag"))
	}
	r = e.do(t, "GET", "/products/"+p.Slug, "")
	if r.StatusCode() != 200 || !bytes.Equal(r.Body(), want.Bodies[pages.HTML]) {
		t.Fatalf("HTML after a JSON miss: %d", r.StatusCode())
	}
	if got := e.core.Calls("product") - before; got != 1 {
		t.Fatalf("core asked %d times", got)
	}
}

// TestChangedProductOldETagIs200 (issue 13, a gap a mutation run found):
// for a change to any part of a product (first field, last SKU, a nested
// attribute, the availability band), a request carrying the old ETag gets
// 200 with the new body and a new ETag, in every representation. An ETag
// computed over part of a page (its head, or the name alone) passes every
// other test; it fails this one.
func TestChangedProductOldETagIs200(t *testing.T) {
	e := newEnv(t, nil)
	base := *e.products[0]
	for _, c := range []struct {
		name   string
		change func(p *api.Product)
		marker string // in the new JSON body
	}{
		{"name", func(p *api.Product) { p.Name = "Renamed Etag Phone" }, "Renamed Etag Phone"},
		{"description", func(p *api.Product) { p.Description = "A new description, mid-page." }, "mid-page"},
		{"brand", func(p *api.Product) { p.Brand = "Newbrand" }, "Newbrand"},
		{"image", func(p *api.Product) { p.Image = "https://img.example/new.jpg" }, "new.jpg"},
		{"attribute", func(p *api.Product) { p.Attributes = map[string]string{"color": "Ultraviolet"} }, "Ultraviolet"},
		{"last sku price", func(p *api.Product) {
			s := append([]api.SKU(nil), p.SKUs...)
			s[len(s)-1].Price = &api.Money{Amount: 987654, Currency: "USD"}
			p.SKUs = s
		}, "987654"},
		{"last sku availability", func(p *api.Product) {
			s := append([]api.SKU(nil), p.SKUs...)
			s[len(s)-1].Availability = api.OutOfStock
			p.SKUs = s
		}, api.OutOfStock},
	} {
		p := base
		c.change(&p)
		old := map[string]string{}
		variants := [][]string{{"/v1/products/" + p.ID}, {"/v1/products/" + p.ID, "Accept-Encoding", "gzip"},
			{"/products/" + p.Slug}, {"/products/" + p.Slug, "Accept-Encoding", "gzip"}}
		for _, v := range variants {
			r := e.do(t, "GET", v[0], "", v[1:]...)
			old[strings.Join(v, " ")] = header(r, "ETag")
		}
		seq := e.core.Upsert(&p)
		waitFor(t, func() bool { return e.follower.Seq() >= seq })
		for _, v := range variants {
			k := strings.Join(v, " ")
			r := e.do(t, "GET", v[0], "", append(v[1:], "If-None-Match", old[k])...)
			if r.StatusCode() != 200 || header(r, "ETag") == old[k] || header(r, "ETag") == "" {
				t.Fatalf("%s changed, %s with the old ETag %s: status %d, ETag %s", c.name, k, old[k], r.StatusCode(), header(r, "ETag"))
			}
			body := r.Body()
			if header(r, "Content-Encoding") == "gzip" {
				var err error
				if body, err = gunzip(body); err != nil {
					t.Fatal(err)
				}
			}
			if strings.HasPrefix(v[0], "/v1/") && !strings.Contains(string(body), c.marker) {
				t.Fatalf("%s changed, %s: the body lacks %q", c.name, k, c.marker)
			}
		}
		base = p
	}
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}
