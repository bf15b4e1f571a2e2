package httpapi

import (
	"testing"

	"github.com/valyala/fasthttp"
)

func TestSearchDispatch(t *testing.T) {
	var got string
	h := SearchHandlers{
		Search:     func(*fasthttp.RequestCtx) { got = "search" },
		Categories: func(*fasthttp.RequestCtx) { got = "categories" },
	}
	next := func(ctx *fasthttp.RequestCtx) (fasthttp.RequestHandler, string) {
		if string(ctx.Path()) == "/v1/suggest" {
			return func(*fasthttp.RequestCtx) { got = "suggest" }, "/v1/suggest"
		}
		return nil, ""
	}
	d := SearchDispatch(next, h)
	f := func(method, uri, wantHandler, wantRoute string) {
		t.Helper()
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(method)
		ctx.Request.SetRequestURI(uri)
		got = ""
		handler, route := d(&ctx)
		if handler != nil {
			handler(&ctx)
		}
		if got != wantHandler || route != wantRoute {
			t.Fatalf("%s %s: handler %q route %q, want %q %q", method, uri, got, route, wantHandler, wantRoute)
		}
	}
	f("GET", "/v1/search?q=tv", "search", "/v1/search")
	f("GET", "/v1/suggest?q=tv", "suggest", "/v1/suggest")
	f("HEAD", "/v1/search?q=tv", "", "") // the router serves it
	f("GET", "/v1/search/x", "", "")     // not the route
	f("GET", "/v1/categories", "", "")   // the router serves it
	f("POST", "/v1/search", "", "")      // the router answers 405
}
