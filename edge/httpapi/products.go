package httpapi

import (
	"bytes"

	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/edge/pages"
	"shopedge/internal/httpneg"
)

// Header names and values written on every product response, kept as
// bytes so the hit path allocates nothing.
var (
	hETag            = []byte("ETag")
	hCacheControl    = []byte("Cache-Control")
	hSurrogateKey    = []byte("Surrogate-Key")
	hVary            = []byte("Vary")
	hContentEncoding = []byte("Content-Encoding")
	hStale           = []byte("X-Shopedge-Stale")
	// Request header names as fasthttp stores them: PeekCanonical skips
	// normalising the name on every request.
	hAcceptEncoding = []byte(fasthttp.HeaderAcceptEncoding)
	hIfNoneMatch    = []byte(fasthttp.HeaderIfNoneMatch)
	vAcceptEncoding = []byte("Accept-Encoding")
	vGzip           = []byte("gzip")
	vOne            = []byte("1")
	ctJSON          = []byte("application/json")
	ctHTML          = []byte("text/html; charset=utf-8")
)

const (
	prefixJSON = "/v1/products/"
	prefixHTML = "/products/"
	maxIDLen   = 128
)

// ProductJSON serves GET|HEAD /v1/products/{id}.
func (a *API) ProductJSON(ctx *fasthttp.RequestCtx) {
	id, ok := a.param(ctx, prefixJSON, "id")
	if !ok {
		return
	}
	a.serve(ctx, pages.ByID, id, variant(ctx, pages.JSON))
}

// ProductHTML serves GET|HEAD /products/{slug}.
func (a *API) ProductHTML(ctx *fasthttp.RequestCtx) {
	slug, ok := a.param(ctx, prefixHTML, "slug")
	if !ok {
		return
	}
	a.serve(ctx, pages.BySlug, slug, variant(ctx, pages.HTML))
}

// variant returns base, or its gzip twin when the client accepts gzip.
func variant(ctx *fasthttp.RequestCtx, base pages.Variant) pages.Variant {
	if httpneg.AcceptsGzip(ctx.Request.Header.PeekCanonical(hAcceptEncoding)) {
		return base + 1 // JSON → JSONGzip, HTML → HTMLGzip
	}
	return base
}

// param returns the last path segment after prefix, or writes 400 and
// returns false when it or the query string is not acceptable. The value
// comes from the decoded path, so it aliases the request and must not be
// kept after the handler returns.
func (a *API) param(ctx *fasthttp.RequestCtx, prefix, name string) ([]byte, bool) {
	path := ctx.Path()
	if !bytes.HasPrefix(path, s2b(prefix)) {
		a.bad(ctx, api.Invalid(name, "missing"))
		return nil, false
	}
	v := path[len(prefix):]
	if msg := checkID(v); msg != "" {
		a.bad(ctx, api.Invalid(name, "%s", msg))
		return nil, false
	}
	if len(ctx.URI().QueryString()) > a.cfg.MaxQueryBytes {
		a.bad(ctx, api.Invalid("query", "longer than %d bytes", a.cfg.MaxQueryBytes))
		return nil, false
	}
	return v, true
}

func (a *API) bad(ctx *fasthttp.RequestCtx, err error) {
	a.badRequests.Inc()
	api.WriteError(ctx, err)
}

// checkID returns why v is not a valid product id or slug, or "".
// Ids and slugs are 1..128 bytes of [A-Za-z0-9._~-] without "..".
func checkID(v []byte) string {
	if len(v) == 0 {
		return "empty"
	}
	if len(v) > maxIDLen {
		return "longer than 128 bytes"
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~') {
			return "only A-Z a-z 0-9 . _ ~ - are allowed"
		}
	}
	if bytes.Contains(v, s2b("..")) {
		return `must not contain ".."`
	}
	return ""
}

// serve writes representation v of the product named by key (an id or
// a slug, per by) from the page cache, fetching it from the core on a
// miss.
func (a *API) serve(ctx *fasthttp.RequestCtx, by pages.By, key []byte, v pages.Variant) {
	r := a.deps.Pages.Lookup(&a.bufs, v, by, key)
	switch r.Found {
	case pages.Shared, pages.Copied:
		a.hits.Inc()
		a.write(ctx, r.Entry, v, r.Found == pages.Shared)
	}
	r.Release()
	switch r.Found {
	case pages.Miss:
		a.misses.Inc()
		a.miss(ctx, string(r.ID), v)
	case pages.NoSlug:
		a.missSlug(ctx, string(key))
	}
}

// write writes entry e of representation v: headers, then 304 or the body
// (fasthttp sends only headers and Content-Length for HEAD). With shared,
// e's bytes are immutable (from the store's hot tier) and the body is sent
// without a copy; else it copies what it writes, so e may point into a
// reused buffer.
func (a *API) write(ctx *fasthttp.RequestCtx, e pages.Entry, v pages.Variant, shared bool) {
	h := &ctx.Response.Header
	if v == pages.HTML || v == pages.HTMLGzip {
		h.SetContentTypeBytes(ctHTML)
	} else {
		h.SetContentTypeBytes(ctJSON)
	}
	h.SetCanonical(hETag, e.ETag)
	h.SetCanonical(hCacheControl, a.cacheControl)
	h.SetCanonical(hSurrogateKey, e.SurrogateKey)
	h.SetCanonical(hVary, vAcceptEncoding)
	if f := a.deps.Follower; f != nil && !f.Connected() {
		a.stale.Inc()
		h.SetCanonical(hStale, vOne)
	}
	if httpneg.ETagMatches(ctx.Request.Header.PeekCanonical(hIfNoneMatch), e.ETag) {
		a.notModified.Inc()
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		ctx.Response.ResetBody()
		return
	}
	if v.Gzip() {
		h.SetCanonical(hContentEncoding, vGzip)
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	if shared {
		ctx.Response.SetBodyRaw(e.Body)
		return
	}
	ctx.SetBody(e.Body)
}
