package httpapi

import (
	"bytes"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/fasthttp/router"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/edge/storefront"
	"shopedge/edge/storefront/theme"
	"shopedge/internal/httpserver"
)

// emptyEngine is a search engine with no products.
type emptyEngine struct{}

func (emptyEngine) Parse(args *fasthttp.Args) (api.SearchParams, error) {
	if args.Len() > 0 {
		return api.SearchParams{}, api.Invalid(string(args.QueryString()), "unknown parameter")
	}
	return api.SearchParams{Page: 1, PerPage: 24, Sort: api.SortPopularity}, nil
}
func (emptyEngine) Search(p api.SearchParams) (*api.SearchResult, error) {
	return &api.SearchResult{Page: p.Page, PerPage: p.PerPage}, nil
}
func (emptyEngine) Categories() api.Categories                     { return api.Categories{} }
func (emptyEngine) CategoryBySlug(string) (api.CategoryNode, bool) { return api.CategoryNode{}, false }

// The storefront's routes answer HTML beside the API's routes, through
// the edge's middleware and dispatch, and leave the API's answers alone.
func TestStorefrontRoutes(t *testing.T) {
	sf, err := storefront.New(storefront.DefaultConfig(), emptyEngine{}, zerolog.Nop(), metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	sf.BeginLoad()
	sf.EndLoad(1)
	for deadline := time.Now().Add(5 * time.Second); !sf.Ready(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("storefront not ready")
		}
	}
	a := benchAPI(t)
	r := httpserver.NewRouter()
	a.Register(r)
	RegisterStorefront(r, sf)
	h := dispatchedStorefront(a, sf, r)
	f := func(method, uri string, status int, contentType, contains string) {
		t.Helper()
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(method)
		ctx.Request.SetRequestURI(uri)
		h(&ctx)
		if ctx.Response.StatusCode() != status || !bytes.HasPrefix(ctx.Response.Header.ContentType(), []byte(contentType)) ||
			!bytes.Contains(ctx.Response.Body(), []byte(contains)) {
			t.Fatalf("%s %s: %d %s %.200s", method, uri, ctx.Response.StatusCode(), ctx.Response.Header.ContentType(), ctx.Response.Body())
		}
	}
	f("GET", "/", 200, "text/html", "The catalog has no products yet")
	f("HEAD", "/", 200, "text/html", "")
	f("GET", "/search", 200, "text/html", "No products match")
	f("GET", "/search?nope=1", 400, "text/html", "nope=1")
	f("GET", "/c/none", 404, "text/html", "no category")
	f("GET", "/cart", 200, "text/html", "data-cart-page")
	f("GET", "/checkout", 200, "text/html", "tok_ok")
	f("GET", "/orders/abc?token=x", 200, "text/html", "data-order-page")
	f("GET", theme.CSS.URL, 200, "text/css", ".card")
	f("GET", theme.JS.URL, 200, "text/javascript", "suggestBox")
	f("POST", "/", 405, "application/json", "method_not_allowed")
	f("GET", "/v1/nothing", 404, "application/json", "not_found")
}

// dispatchedStorefront is the edge's handler as the binary serves it with
// the storefront: the middleware, the API's and the storefront's dispatch,
// then the router.
func dispatchedStorefront(a *API, sf *storefront.Storefront, r *router.Router) fasthttp.RequestHandler {
	cfg := httpserver.DefaultConfig()
	cfg.Name = "edge"
	s := httpserver.New(cfg, zerolog.Nop(), metrics.NewSet(), r.Handler)
	s.SetDispatch(WithStorefront(a.Dispatch, sf))
	return s.Handler()
}

// The storefront's dispatch picks the handler and route the router would.
func TestStorefrontDispatchMatchesRouter(t *testing.T) {
	sf, err := storefront.New(storefront.DefaultConfig(), emptyEngine{}, zerolog.Nop(), metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	a := benchAPI(t)
	r := httpserver.NewRouter()
	a.Register(r)
	RegisterStorefront(r, sf)
	d := WithStorefront(a.Dispatch, sf)
	for _, c := range []struct{ method, uri, route string }{
		{"GET", "/", "/"},
		{"HEAD", "/?utm_source=x", "/"},
		{"GET", "/c/audio", "/c/{slug}"},
		{"GET", "/c/audio?brand=x", "/c/{slug}"},
		{"POST", "/", ""},
		{"GET", "/c/", ""},
		{"GET", "/c/a/b", ""},
		{"GET", "/cart", ""},
		{"GET", "/search", ""},
	} {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(c.method)
		ctx.Request.SetRequestURI(c.uri)
		h, route := d(&ctx)
		if route != c.route || (h == nil) != (c.route == "") {
			t.Fatalf("%s %s: route %q, want %q", c.method, c.uri, route, c.route)
		}
		if h == nil {
			continue
		}
		var rc fasthttp.RequestCtx
		rc.Request.Header.SetMethod(c.method)
		rc.Request.SetRequestURI(c.uri)
		r.Handler(&rc)
		if got, _ := rc.UserValue(router.MatchedRoutePathParam).(string); got != route {
			t.Fatalf("%s %s: the router matches %q, dispatch %q", c.method, c.uri, got, route)
		}
	}
}
