package search

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"shopedge/core/api"
)

// smallCatalog is a hand-made catalog for the handler and parser tests.
func smallCatalog() []*api.Product {
	mk := func(id, name, brand string, cats []string, price int64, pop int64, color string) *api.Product {
		p := &api.Product{ID: id, Name: name, Slug: api.Slug(name, id), Brand: brand, Categories: cats, Popularity: pop,
			Image: "https://img.example/" + id + ".jpg",
			SKUs:  []api.SKU{{SKU: id, Price: &api.Money{Amount: price, Currency: "USD"}, Availability: api.InStock}}}
		if color != "" {
			p.Attributes = map[string]string{"color": color, "ean": id}
		}
		return p
	}
	var ps []*api.Product
	colors := []string{"Black", "White", "Red"}
	for i := range 30 {
		id := "p" + string(rune('a'+i%26)) + string(rune('0'+i/26))
		ps = append(ps, mk(id, "Galaxy Phone "+id, []string{"Samsung", "Apple", "Acme"}[i%3],
			[]string{"Cell Phones", []string{"Smartphones", "Cases"}[i%2]}, int64(1000+i*700), int64(i), colors[i%3]))
	}
	ps = append(ps, mk("tv1", "Samsung TV 55", "Samsung", []string{"TV & Video", "TVs"}, 49999, 100, ""))
	return ps
}

func newSmall(t *testing.T) *Service {
	t.Helper()
	cfg := DefaultConfig()
	cfg.AttrMinProducts = 5
	cfg.AttrMaxValues = 10 // ean has 30 values: not a facet
	return newLoaded(t, cfg, smallCatalog())
}

// parseQuery runs Parse on a raw query string.
func parseQuery(s *Service, raw string) (api.SearchParams, error) {
	var args fasthttp.Args
	args.Parse(raw)
	return s.Parse(&args)
}

func TestParse(t *testing.T) {
	s := newSmall(t)
	ok := func(raw string, want api.SearchParams) {
		t.Helper()
		got, err := parseQuery(s, raw)
		if err != nil {
			t.Fatalf("Parse(%q): %v", raw, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Parse(%q) = %+v, want %+v", raw, got, want)
		}
	}
	ok("", api.SearchParams{Sort: api.SortPopularity, Page: 1, PerPage: 24})
	ok("q=galaxy", api.SearchParams{Query: "galaxy", Sort: api.SortRelevance, Page: 1, PerPage: 24})
	ok("q=galaxy&brand=Samsung&brand=Apple&brand=Samsung&price_min=10000&sort=price_asc&page=2&per_page=24",
		api.SearchParams{Query: "galaxy", Brands: []string{"Apple", "Samsung"}, PriceMin: 10000, Sort: api.SortPriceAsc, Page: 2, PerPage: 24})
	ok("category=TVs&category=Cell+Phones&attr.color=Red&attr.color=Black&in_stock=1&price_max=5000&price_min=5000",
		api.SearchParams{Categories: []string{"Cell Phones", "TVs"}, Attributes: map[string][]string{"color": {"Black", "Red"}},
			InStock: true, PriceMin: 5000, PriceMax: 5000, Sort: api.SortPopularity, Page: 1, PerPage: 24})
	// Empty form fields count as absent.
	ok("q=&price_min=&sort=&brand=", api.SearchParams{Sort: api.SortPopularity, Page: 1, PerPage: 24})
	// Punctuation only: no words, so no relevance.
	ok("q=%21%21", api.SearchParams{Query: "!!", Sort: api.SortPopularity, Page: 1, PerPage: 24})

	bad := func(raw, field string) {
		t.Helper()
		_, err := parseQuery(s, raw)
		var e *api.Error
		if !errors.As(err, &e) || e.Code != api.ECodeInvalid || e.Field != field {
			t.Fatalf("Parse(%q) = %v, want invalid %q", raw, err, field)
		}
	}
	bad("foo=1", "foo")
	bad("q=a&q=b", "q")
	bad("sort=price_asc&sort=price_asc", "sort")
	bad("per_page=101", "per_page")
	bad("per_page=0", "per_page")
	bad("page=1001", "page")
	bad("page=x", "page")
	bad("price_min=500&price_max=100", "price_min")
	bad("price_min=-1", "price_min")
	bad("price_max=0", "price_max")
	bad("price_min=1e3", "price_min")
	bad("attr.nope=x", "attr.nope")
	bad("attr.ean=x", "attr.ean") // in the catalog, but not a facet: too many values
	bad("q=%ff", "q")
	bad("brand=%c3", "brand")
	bad("q="+strings.Repeat("a", 201), "q")
	bad("q=a+b+c+d+e+f+g+h+i+j+k", "q")
	bad("sort=cheapest", "sort")
	bad("in_stock=yes", "in_stock")
	bad("category="+strings.Repeat("x", 201), "category")
	bad(strings.Repeat("brand=b&", 33), "brand")
}

// header returns a response header as a client sees it (names compared
// without case: the handlers set them as written, unnormalised).
func header(ctx *fasthttp.RequestCtx, name string) string {
	for k, v := range ctx.Response.Header.All() {
		if strings.EqualFold(string(k), name) {
			return string(v)
		}
	}
	return ""
}

// get serves one request to h and returns the context.
func get(h fasthttp.RequestHandler, uri string, headers ...string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI(uri)
	for i := 0; i+1 < len(headers); i += 2 {
		ctx.Request.Header.Set(headers[i], headers[i+1])
	}
	h(&ctx)
	return &ctx
}

func TestHandleSearch(t *testing.T) {
	s := newSmall(t)
	ctx := get(s.HandleSearch, "/v1/search?q=galaxy&brand=Samsung&category=Cell+Phones&per_page=5")
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	for name, want := range map[string]string{
		"Cache-Control": "public, max-age=30, s-maxage=60, stale-while-revalidate=30, stale-if-error=86400",
		"Vary":          "Accept-Encoding",
		"Content-Type":  "application/json",
	} {
		if got := header(ctx, name); got != want {
			t.Fatalf("%s: %q, want %q", name, got, want)
		}
	}
	keys := strings.Fields(header(ctx, "Surrogate-Key"))
	for _, k := range []string{"search", "category-cell-phones", "brand-samsung"} {
		if !slices.Contains(keys, k) {
			t.Fatalf("Surrogate-Key %v lacks %s", keys, k)
		}
	}
	var res api.SearchResult
	if err := json.Unmarshal(ctx.Response.Body(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Total != 10 || len(res.Products) != 5 || res.PerPage != 5 {
		t.Fatalf("total %d, %d products", res.Total, len(res.Products))
	}
	for _, p := range res.Products {
		if !slices.Contains(keys, "product-"+p.ID) {
			t.Fatalf("Surrogate-Key %v lacks product %s", keys, p.ID)
		}
	}
	etag := header(ctx, "ETag")
	if len(etag) != etagLen || etag[0] != '"' {
		t.Fatalf("ETag %q", etag)
	}
	// The same answer again (a hot hit), a 304, and HEAD.
	again := get(s.HandleSearch, "/v1/search?q=galaxy&brand=Samsung&category=Cell+Phones&per_page=5")
	if !bytes.Equal(again.Response.Body(), ctx.Response.Body()) || header(again, "ETag") != etag {
		t.Fatal("a repeated search answered differently")
	}
	if c := get(s.HandleSearch, "/v1/search?q=galaxy&brand=Samsung&category=Cell+Phones&per_page=5", "If-None-Match", etag); c.Response.StatusCode() != 304 || len(c.Response.Body()) != 0 {
		t.Fatalf("If-None-Match: %d", c.Response.StatusCode())
	}
	var head fasthttp.RequestCtx
	head.Request.Header.SetMethod("HEAD")
	head.Request.SetRequestURI("/v1/search?q=galaxy")
	s.HandleSearch(&head)
	if head.Response.StatusCode() != 200 || !head.Response.SkipBody {
		t.Fatalf("HEAD: %d", head.Response.StatusCode())
	}
	// Nothing found: 200, total 0, facets present.
	empty := get(s.HandleSearch, "/v1/search?q=zzzzzzzz")
	var er api.SearchResult
	if err := json.Unmarshal(empty.Response.Body(), &er); err != nil || empty.Response.StatusCode() != 200 || er.Total != 0 ||
		er.Products == nil || er.Facets.Price == nil || !strings.Contains(string(empty.Response.Body()), `"facets":{"category":[]`) {
		t.Fatalf("empty: %d %s", empty.Response.StatusCode(), empty.Response.Body())
	}
	// Bad input: 400 naming the parameter.
	bad := get(s.HandleSearch, "/v1/search?q=a&per_page=500")
	if bad.Response.StatusCode() != 400 || !strings.Contains(string(bad.Response.Body()), `"field":"per_page"`) {
		t.Fatalf("bad: %d %s", bad.Response.StatusCode(), bad.Response.Body())
	}
}

// TestHandleSearchChanges: a change of the catalog shows in the next
// answer at once, though the same request was cached (hot and fastcache).
func TestHandleSearchChanges(t *testing.T) {
	s := newSmall(t)
	const uri = "/v1/search?q=samsung+tv"
	first := get(s.HandleSearch, uri)
	if !strings.Contains(string(first.Response.Body()), `"amount":49999`) {
		t.Fatalf("first: %s", first.Response.Body())
	}
	p := *smallCatalog()[30]
	p.SKUs = []api.SKU{{SKU: "tv1", Price: &api.Money{Amount: 39999, Currency: "USD"}, Availability: api.InStock}}
	s.Apply(&api.Event{Seq: 2, Type: api.EventUpsert, Product: &p})
	second := get(s.HandleSearch, uri)
	if !strings.Contains(string(second.Response.Body()), `"amount":39999`) {
		t.Fatalf("after the price change: %s", second.Response.Body())
	}
	s.Apply(&api.Event{Seq: 3, Type: api.EventDelete, ID: "tv1"})
	if third := get(s.HandleSearch, uri); !strings.Contains(string(third.Response.Body()), `"total":0`) {
		t.Fatalf("after the delete: %s", third.Response.Body())
	}
}

// TestCacheKeyNormalised: equivalent requests share an answer cache key;
// different ones do not.
func TestCacheKeyNormalised(t *testing.T) {
	s := newSmall(t)
	key := func(raw string) string {
		t.Helper()
		var args fasthttp.Args
		args.Parse(raw)
		st := newState()
		if err := s.parseArgs(&args, st); err != nil {
			t.Fatal(err)
		}
		_ = st.q.Normalize(st.args.p.Query)
		return string(appendKey(nil, 7, &st.args, st.q.Text))
	}
	same := func(a, b string) {
		t.Helper()
		if key(a) != key(b) {
			t.Fatalf("%q and %q have different keys", a, b)
		}
	}
	differ := func(a, b string) {
		t.Helper()
		if key(a) == key(b) {
			t.Fatalf("%q and %q share a key", a, b)
		}
	}
	same("q=Galaxy+Phone&brand=B&brand=A", "brand=A&q=galaxy%20%20phone!&brand=B&brand=A")
	same("q=", "sort=popularity")
	same("sort=relevance", "sort=popularity") // no words: the same ranking
	same("attr.color=Red&attr.color=Black", "attr.color=Black&attr.color=Red&attr.color=Red")
	differ("q=galaxy", "q=galaxy&page=2")
	differ("brand=A&category=B", "brand=B&category=A")
	differ("brand=ab", "brand=a&brand=b")
	differ("q=galaxy", "q=galaxy&in_stock=1")
	differ("price_min=100", "price_max=100")
}

func TestHandleCategories(t *testing.T) {
	s := newSmall(t)
	ctx := get(s.HandleCategories, "/v1/categories")
	var c api.Categories
	if err := json.Unmarshal(ctx.Response.Body(), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Categories) != 2 || c.Categories[0].Name != "Cell Phones" || c.Categories[0].Count != 30 ||
		len(c.Categories[0].Children) != 2 || c.Categories[0].Children[0].Count != 15 || c.Categories[1].Slug != "tv-video" {
		t.Fatalf("categories %s", ctx.Response.Body())
	}
	if header(ctx, "ETag") == "" || header(ctx, "Surrogate-Key") != "categories" {
		t.Fatal("headers")
	}
	n, ok := s.CategoryBySlug("smartphones")
	if !ok || n.Name != "Smartphones" || n.Count != 15 {
		t.Fatalf("CategoryBySlug = %+v %v", n, ok)
	}
	if _, ok := s.CategoryBySlug("nope"); ok {
		t.Fatal("unknown slug found")
	}
	// A category emptied by the feed leaves the tree.
	s.Apply(&api.Event{Seq: 2, Type: api.EventDelete, ID: "tv1"})
	if c := s.Categories(); len(c.Categories) != 1 {
		t.Fatalf("after the delete: %+v", c)
	}
}

// FuzzParse: any query string is either refused with an *api.Error naming
// a parameter, or parsed into params Search answers within its limits.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"q=galaxy&brand=Samsung&price_min=10", "attr.color=Red&attr.color=x", "q=%ff", "page=1000&per_page=100",
		"category=Cell+Phones&sort=price_desc", "q=galxy+phne&in_stock=1", "price_min=5&price_max=4", "q=a&q=b", "&&=&q"} {
		f.Add(s)
	}
	s := newLoaded(f, DefaultConfig(), smallCatalog())
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := parseQuery(s, raw)
		if err != nil {
			var e *api.Error
			if !errors.As(err, &e) || e.Code != api.ECodeInvalid || e.Field == "" {
				t.Fatalf("Parse(%q): %v", raw, err)
			}
			return
		}
		if !slices.IsSorted(p.Categories) || !slices.IsSorted(p.Brands) || p.PerPage < 1 || p.PerPage > 100 || p.Page < 1 || p.Page > 1000 {
			t.Fatalf("Parse(%q) = %+v", raw, p)
		}
		res, err := s.Search(p)
		if err != nil {
			t.Fatalf("Search(%+v): %v", p, err)
		}
		if len(res.Products) > p.PerPage || res.Total < len(res.Products) {
			t.Fatalf("Search(%+v): %d of %d", p, len(res.Products), res.Total)
		}
	})
}
