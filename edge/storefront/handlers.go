package storefront

import (
	"bytes"
	"errors"
	"strings"

	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/edge/storefront/theme"
	"shopedge/internal/httpneg"
)

// Route prefixes of the storefront.
const (
	PathHome     = "/"
	PathSearch   = "/search"
	PathCategory = "/c/"
	PathCart     = "/cart"
	PathCheckout = "/checkout"
	PathOrder    = "/orders/"
)

// maxQuery bounds a storefront page's query string (the engine bounds
// each parameter; this bounds the work before it looks).
const maxQuery = 4096

var (
	assetCacheControl = []byte("public, max-age=31536000, immutable")
	noStore           = []byte("no-store")
	retryAfter        = []byte("2")
	hRetryAfter       = []byte("Retry-After")
)

// Route patterns of the precomputed pages, as the router names them.
const (
	RouteHome     = PathHome
	RouteCategory = PathCategory + "{slug}"
)

// Dispatch picks the handler of GET and HEAD of the home page and of a
// category page without the router (whose match of a {param} route
// allocates), naming the route the router would have matched; it returns
// nil for every other request (see httpserver.Dispatch).
func (s *Storefront) Dispatch(ctx *fasthttp.RequestCtx) (fasthttp.RequestHandler, string) {
	if !ctx.IsGet() && !ctx.IsHead() {
		return nil, ""
	}
	path := ctx.Path()
	switch {
	case len(path) == 1 && path[0] == '/':
		return s.home_, RouteHome
	case len(path) > len(PathCategory) && bytes.HasPrefix(path, []byte(PathCategory)) &&
		bytes.IndexByte(path[len(PathCategory):], '/') < 0:
		return s.category, RouteCategory
	}
	return nil, ""
}

// Home serves GET|HEAD /: precomputed bytes. Query parameters (campaign
// tags) are ignored; nothing of the request reaches the page.
func (s *Storefront) Home(ctx *fasthttp.RequestCtx) {
	r := s.home.Load()
	if r == nil {
		s.unavailable(ctx)
		return
	}
	s.hits.Inc()
	s.write(ctx, r, s.cacheControl)
}

// Category serves GET|HEAD /c/{slug}: the precomputed page when there are
// no parameters and the category is among the precomputed ones, else a
// page rendered from the index for the filters in the query.
func (s *Storefront) Category(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	if !bytes.HasPrefix(path, []byte(PathCategory)) || !validSlug(path[len(PathCategory):]) {
		s.notFound(ctx, "There is no category at this address.")
		return
	}
	slug := path[len(PathCategory):]
	if len(ctx.URI().QueryString()) == 0 {
		if c := s.cats.Load().bySlug[string(slug)]; c != nil {
			if r := c.r.Load(); r != nil {
				s.hits.Inc()
				s.write(ctx, r, s.cacheControl)
				return
			}
		}
	}
	if s.home.Load() == nil {
		s.unavailable(ctx)
		return
	}
	node, ok := s.eng.CategoryBySlug(string(slug))
	if !ok {
		s.notFound(ctx, "There is no category at this address.")
		return
	}
	p, ok := s.parse(ctx)
	if !ok {
		return
	}
	if len(p.Categories) > 0 {
		s.bad(ctx, api.Invalid("category", "is the page's own category; use /search to pick others"))
		return
	}
	p.Categories = []string{node.Name}
	key := dynKey(linker{base: PathCategory + node.Slug, fixedCategory: true, perPage: s.defaults.PerPage}, &p)
	if r := s.dyn.get(key); r != nil {
		s.dynHits.Inc()
		s.write(ctx, r, s.cacheControl)
		return
	}
	gen := s.dyn.gen.Load() // before the tree and the search: see dynCache
	parents, sub := s.placeInTree(node.Slug)
	body, keys, err := s.categoryPage(node, parents, sub, &p)
	if err != nil {
		s.failed(ctx, err)
		return
	}
	s.writeDynamic(ctx, key, gen, body, keys)
}

// placeInTree returns the parents and children of the category with slug,
// from the tree of the last refresh.
func (s *Storefront) placeInTree(slug string) ([]crumb, []api.CategoryNode) {
	if c := s.cats.Load().tree[slug]; c != nil {
		return c.parents, c.sub
	}
	return nil, nil
}

// Search serves GET|HEAD /search?…: the parameters of GET /v1/search,
// rendered as a results page with facets, sort and pages. A bad parameter
// gets a 400 page naming it.
func (s *Storefront) Search(ctx *fasthttp.RequestCtx) {
	if s.home.Load() == nil {
		s.unavailable(ctx)
		return
	}
	p, ok := s.parse(ctx)
	if !ok {
		return
	}
	l := linker{base: PathSearch, perPage: s.defaults.PerPage}
	key := dynKey(l, &p)
	if r := s.dyn.get(key); r != nil {
		s.dynHits.Inc()
		s.write(ctx, r, s.cacheControl)
		return
	}
	gen := s.dyn.gen.Load() // before the search: see dynCache
	res, err := s.eng.Search(p)
	if err != nil {
		s.failed(ctx, err)
		return
	}
	title := "All products"
	if p.Query != "" {
		title = "Results for “" + p.Query + "”"
	}
	v := &listing{l: l, title: title, p: &p, res: res, curr: currencyOf(res)}
	body, keys := v.render()
	s.writeDynamic(ctx, key, gen, body, keys)
}

// Cart serves GET|HEAD /cart, the same bytes for everyone (the script
// shows the shopper's cart; /cart?add={sku}&qty=n adds to it first).
func (s *Storefront) Cart(ctx *fasthttp.RequestCtx) {
	s.write(ctx, s.shells[shellCart], s.cacheControl)
}

// Checkout serves GET|HEAD /checkout.
func (s *Storefront) Checkout(ctx *fasthttp.RequestCtx) {
	s.write(ctx, s.shells[shellCheckout], s.cacheControl)
}

// Order serves GET|HEAD /orders/{id}?token=…: one page for every order
// (the script reads the order with the id and token of the URL). The URL
// holds the order's secret, so the page is neither stored by caches nor
// sent as a referrer.
func (s *Storefront) Order(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	if !bytes.HasPrefix(path, []byte(PathOrder)) || !validSlug(path[len(PathOrder):]) {
		s.notFound(ctx, "There is no order at this address.")
		return
	}
	ctx.Response.Header.SetCanonical(hReferrerPolicy, vNoReferrer)
	s.write(ctx, s.shells[shellOrder], noStore)
}

// Asset serves GET|HEAD of the theme's stylesheet and script. A request
// for the current version (?v=…) may be cached for a year; any other is
// answered with the current bytes and the pages' caching.
func (s *Storefront) Asset(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	for _, a := range theme.Assets() {
		if string(path) != a.Path {
			continue
		}
		cc := s.cacheControl
		if string(ctx.QueryArgs().Peek("v")) == a.Version {
			cc = assetCacheControl
		}
		s.writeAsset(ctx, a, cc)
		return
	}
	s.notFound(ctx, "There is nothing at this address.")
}

func (s *Storefront) writeAsset(ctx *fasthttp.RequestCtx, a *theme.Asset, cc []byte) {
	h := &ctx.Response.Header
	h.SetContentType(a.ContentType)
	body, etag, gz := a.Body, a.ETag, httpneg.AcceptsGzip(ctx.Request.Header.PeekCanonical(hAcceptEncoding))
	if gz {
		body, etag = a.Gzip, a.GzipETag
	}
	h.SetCanonical(hETag, etag)
	h.SetCanonical(hCacheControl, cc)
	h.SetCanonical(hVary, vAcceptEncoding)
	if httpneg.ETagMatches(ctx.Request.Header.PeekCanonical(hIfNoneMatch), etag) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		ctx.Response.ResetBody()
		return
	}
	if gz {
		h.SetCanonical(hContentEncoding, vGzip)
	}
	ctx.Response.SetBodyRaw(body)
}

// write writes precomputed page r: headers, then 304 or the plain or gzip
// body (fasthttp sends no body for HEAD). It allocates nothing.
func (s *Storefront) write(ctx *fasthttp.RequestCtx, r *rendered, cc []byte) {
	h := &ctx.Response.Header
	gz := httpneg.AcceptsGzip(ctx.Request.Header.PeekCanonical(hAcceptEncoding))
	body, etag := r.body, r.etag
	if gz {
		body, etag = r.gz, r.gzETag
	}
	h.SetContentTypeBytes(ctHTML)
	h.SetCanonical(hETag, etag)
	h.SetCanonical(hCacheControl, cc)
	h.SetCanonical(hSurrogateKey, r.surrogateKey)
	h.SetCanonical(hVary, vAcceptEncoding)
	if f := s.feed.Load(); f != nil && !(*f).Connected() {
		h.SetCanonical(hStale, vOne)
	}
	if httpneg.ETagMatches(ctx.Request.Header.PeekCanonical(hIfNoneMatch), etag) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		ctx.Response.ResetBody()
		return
	}
	if gz {
		h.SetCanonical(hContentEncoding, vGzip)
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.Response.SetBodyRaw(body)
}

// writeDynamic writes a page rendered for this request (gzip-compressed
// at the fastest level, as the client may ask either way) and keeps it in
// the cache of rendered pages under key for generation gen.
func (s *Storefront) writeDynamic(ctx *fasthttp.RequestCtx, key string, gen uint64, body []byte, keys []string) {
	s.renders.Inc()
	r := newRendered(body, keys, fasthttp.CompressBestSpeed)
	s.dyn.put(key, gen, r)
	s.write(ctx, r, s.cacheControl)
}

// parse validates the query with the engine, without campaign tags
// (utm_*, gclid, fbclid, msclkid), which links from ads and mail carry
// and which change nothing on the page.
func (s *Storefront) parse(ctx *fasthttp.RequestCtx) (api.SearchParams, bool) {
	args := ctx.QueryArgs()
	if len(ctx.URI().QueryString()) > maxQuery {
		s.bad(ctx, api.Invalid("query", "longer than %d bytes", maxQuery))
		return api.SearchParams{}, false
	}
	tagged := false
	for k := range args.All() {
		if isCampaignTag(k) {
			tagged = true
			break
		}
	}
	if tagged {
		var clean fasthttp.Args
		for k, v := range args.All() {
			if !isCampaignTag(k) {
				clean.AddBytesKV(k, v)
			}
		}
		args = &clean
	}
	p, err := s.eng.Parse(args)
	if err != nil {
		s.bad(ctx, err)
		return api.SearchParams{}, false
	}
	return p, true
}

func isCampaignTag(k []byte) bool {
	switch string(k) {
	case "gclid", "fbclid", "msclkid":
		return true
	}
	return bytes.HasPrefix(k, []byte("utm_"))
}

// validSlug reports whether v can be a category slug or an order id:
// 1..128 bytes of [A-Za-z0-9._~-].
func validSlug(v []byte) bool {
	if len(v) == 0 || len(v) > 128 {
		return false
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~') {
			return false
		}
	}
	return true
}

// bad answers a bad parameter with a 400 page naming it.
func (s *Storefront) bad(ctx *fasthttp.RequestCtx, err error) {
	s.badRequests.Inc()
	var e *api.Error
	if !errors.As(err, &e) {
		s.failed(ctx, err)
		return
	}
	msg := e.Message
	if e.Field != "" && !strings.HasPrefix(msg, e.Field+":") {
		msg = e.Field + ": " + msg
	}
	s.writeMessage(ctx, api.Status(e.Code), "This search cannot be shown", "The address has a parameter we cannot use: "+msg+".")
}

func (s *Storefront) notFound(ctx *fasthttp.RequestCtx, msg string) {
	s.writeMessage(ctx, fasthttp.StatusNotFound, "Page not found", msg)
}

func (s *Storefront) unavailable(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.SetCanonical(hRetryAfter, retryAfter)
	s.writeMessage(ctx, fasthttp.StatusServiceUnavailable, "The shop is opening", "The catalog is loading. Try again in a moment.")
}

func (s *Storefront) failed(ctx *fasthttp.RequestCtx, err error) {
	var e *api.Error
	if errors.As(err, &e) && e.Code != api.ECodeInternal {
		s.writeMessage(ctx, api.Status(e.Code), "This page cannot be shown", e.Message)
		return
	}
	s.log.Error().Err(err).Str("path", string(ctx.Path())).Msg("cannot render a storefront page")
	s.writeMessage(ctx, fasthttp.StatusInternalServerError, "Something went wrong", "This page cannot be shown right now. Try again in a moment.")
}

// writeMessage writes an error page; error pages are not cached.
func (s *Storefront) writeMessage(ctx *fasthttp.RequestCtx, status int, title, msg string) {
	ctx.Response.Header.SetContentTypeBytes(ctHTML)
	ctx.Response.Header.SetCanonical(hCacheControl, noStore)
	ctx.SetStatusCode(status)
	ctx.SetBody(messagePage(title, msg))
}
