package suggest

import (
	"net/url"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
)

func serve(s *Service, uri string) *fasthttp.RequestCtx {
	ctx := new(fasthttp.RequestCtx)
	ctx.Request.SetRequestURI(uri)
	s.Handle(ctx)
	return ctx
}

func suggestURI(q string, limit string) string {
	v := url.Values{"q": {q}}
	if limit != "" {
		v.Set("limit", limit)
	}
	return "/v1/suggest?" + v.Encode()
}

func TestHandleBadInput(t *testing.T) {
	s := newLoaded(t, testConfig(), demoProducts(t)[:200])
	f := func(uri, field string) {
		t.Helper()
		ctx := serve(s, uri)
		if ctx.Response.StatusCode() != 400 {
			t.Fatalf("%s: status %d, want 400", uri, ctx.Response.StatusCode())
		}
		var body api.ErrorBody
		if err := json.Unmarshal(ctx.Response.Body(), &body); err != nil || body.Error == nil || body.Error.Field != field {
			t.Fatalf("%s: body %s, want an error naming %q", uri, ctx.Response.Body(), field)
		}
	}
	f("/v1/suggest?q=sam&limit=abc", "limit")
	f("/v1/suggest?q=sam&limit=0", "limit")
	f("/v1/suggest?q=sam&limit=21", "limit")
	f("/v1/suggest?q=sam&limit=-1", "limit")
	f("/v1/suggest?q=sam&limit=", "limit")
	f("/v1/suggest?q=sam%FFtv", "q")
	f(suggestURI(strings.Repeat("a", 101), ""), "q")
	f(suggestURI("a b c d e f g h i j k", ""), "q")
	f(suggestURI("a"+strings.Repeat("\u0301", 10000), ""), "q")
}

func TestHandleEmptyQuery(t *testing.T) {
	s := newLoaded(t, testConfig(), demoProducts(t)[:200])
	for _, uri := range []string{"/v1/suggest", "/v1/suggest?q=", "/v1/suggest?q=%20%20-", "/v1/suggest?q=%E2%80%8B"} {
		ctx := serve(s, uri)
		if ctx.Response.StatusCode() != 200 {
			t.Fatalf("%s: status %d", uri, ctx.Response.StatusCode())
		}
		if got, want := string(ctx.Response.Body()), `{"query":"","products":[],"categories":[]}`; got != want {
			t.Fatalf("%s: body %s, want %s", uri, got, want)
		}
	}
}

func TestHandleAnswer(t *testing.T) {
	s := newLoaded(t, testConfig(), demoProducts(t))
	ctx := serve(s, suggestURI("sam tv", "3"))
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	h := &ctx.Response.Header
	for k, want := range map[string]string{"Content-Type": "application/json", "Cache-Control": "public, max-age=60", "Vary": "Accept-Encoding"} {
		if got := string(h.Peek(k)); got != want {
			t.Fatalf("%s: %q, want %q", k, got, want)
		}
	}
	var a api.Suggest
	if err := json.Unmarshal(ctx.Response.Body(), &a); err != nil {
		t.Fatal(err)
	}
	if a.Query != "sam tv" || len(a.Products) != 3 {
		t.Fatalf("answer %+v", a)
	}
	keys := strings.Fields(string(h.Peek("Surrogate-Key")))
	if len(keys) != 4 || keys[0] != "suggest" {
		t.Fatalf("Surrogate-Key %q", keys)
	}
	for i, p := range a.Products {
		if keys[i+1] != api.ProductKey(p.ID) {
			t.Fatalf("Surrogate-Key %q does not name %s", keys, p.ID)
		}
		lower := strings.ToLower(p.Name)
		if !strings.Contains(lower, "samsung") || !strings.Contains(lower, "tv") || !strings.HasPrefix(p.URL, "/products/") || p.Price == nil {
			t.Fatalf("product %+v", p)
		}
		for _, hl := range p.Highlights {
			w := strings.ToLower(p.Name[hl[0]:hl[1]])
			if w != "sam" && w != "tv" {
				t.Fatalf("highlight %v = %q in %q", hl, w, p.Name)
			}
		}
	}
	if len(a.Categories) == 0 || a.Categories[0].Count < 3 {
		t.Fatalf("categories %+v", a.Categories)
	}
}

// TestHandleEquivalentQueries checks that spellings normalising alike
// share one cache entry and one body.
func TestHandleEquivalentQueries(t *testing.T) {
	s := newLoaded(t, testConfig(), demoProducts(t))
	forms := []string{"Galaxy S7", "galaxy   s7", "ＧＡＬＡＸＹ Ｓ７", "gal\u200baxy-s7", "GALAXY\ts7 "}
	first := string(serve(s, suggestURI(forms[0], "")).Response.Body())
	misses := s.misses.Get()
	for _, f := range forms[1:] {
		if got := string(serve(s, suggestURI(f, "")).Response.Body()); got != first {
			t.Fatalf("%q: body %s, want %s", f, got, first)
		}
	}
	if s.misses.Get() != misses {
		t.Fatalf("equivalent queries missed the cache %d times", s.misses.Get()-misses)
	}
}

func TestHandleInvalidatedByEvents(t *testing.T) {
	ps := demoProducts(t)[:300]
	s := newLoaded(t, testConfig(), ps)
	before := string(serve(s, suggestURI("zebra", "")).Response.Body())
	if !strings.Contains(before, `"products":[]`) {
		t.Fatalf("unexpected zebra: %s", before)
	}
	p := *ps[0]
	p.Name = `Zebra <script>"quoted"</script> Phone`
	s.Apply(&api.Event{Seq: 5, Type: api.EventUpsert, Product: &p})
	after := serve(s, suggestURI("zebra", "")).Response.Body()
	var a api.Suggest
	if err := json.Unmarshal(after, &a); err != nil || len(a.Products) != 1 || a.Products[0].Name != p.Name {
		t.Fatalf("after upsert: %s (%v)", after, err)
	}
	if strings.Contains(string(after), "<script>") {
		t.Fatalf("name not escaped: %s", after)
	}
	s.Apply(&api.Event{Seq: 6, Type: api.EventDelete, ID: p.ID})
	if got := string(serve(s, suggestURI("zebra", "")).Response.Body()); got != before {
		t.Fatalf("after delete: %s", got)
	}
}

func TestHandleHostileInput(t *testing.T) {
	s := newLoaded(t, testConfig(), demoProducts(t))
	hostile := []string{
		strings.Repeat("\u0301", 10000),
		strings.Repeat("\x01\x02\x7f", 30),
		"\u202egalaxy\u202c \u2066s7\u2069",
		strings.Repeat("\u200b", 33),
		"</script><script>alert(1)</script>",
		"\"\\\u2028",
		strings.Repeat("a", 100),
		strings.Repeat("zqxw ", 10)[:49],
		"\ufdfa\ufdfa\ufdfa\ufdfa",
	}
	for _, q := range hostile {
		start := time.Now()
		ctx := serve(s, suggestURI(q, "20"))
		if c := ctx.Response.StatusCode(); c != 200 && c != 400 {
			t.Fatalf("%q: status %d", q, c)
		}
		if !json.Valid(ctx.Response.Body()) || strings.Contains(string(ctx.Response.Body()), "<script>") {
			t.Fatalf("%q: body %s", q, ctx.Response.Body())
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("%q took %v", q, d)
		}
	}
}

// TestHandleHotAnswers: a repeated raw query is answered from the hot
// answers (with the answer cache off, so nothing else could), byte for
// byte as computed, and never across an index change.
func TestHandleHotAnswers(t *testing.T) {
	cfg := testConfig()
	cfg.CacheBytes = 0
	ps := demoProducts(t)[:300]
	s := newLoaded(t, cfg, ps)
	uri := suggestURI("gal", "3")
	first := string(serve(s, uri).Response.Body())
	hits, misses := s.hits.Get(), s.misses.Get()
	for range 3 {
		ctx := serve(s, uri)
		if got := string(ctx.Response.Body()); got != first {
			t.Fatalf("hot answer %s, want %s", got, first)
		}
		if cc := string(ctx.Response.Header.Peek("Cache-Control")); !strings.HasPrefix(cc, "public, max-age=") {
			t.Fatalf("Cache-Control %q", cc)
		}
	}
	if s.hits.Get()-hits != 3 || s.misses.Get() != misses {
		t.Fatalf("hits +%d, misses +%d: want 3 hot hits", s.hits.Get()-hits, s.misses.Get()-misses)
	}
	p := *ps[0]
	p.Name = "Galaxy Hot Answer Test"
	p.Popularity = 1 << 40
	s.Apply(&api.Event{Seq: 9, Type: api.EventUpsert, Product: &p})
	if got := string(serve(s, uri).Response.Body()); !strings.Contains(got, "Galaxy Hot Answer Test") {
		t.Fatalf("after an upsert the old hot answer came back: %s", got)
	}
}
