package httpapi

import (
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/pprofhandler"

	"shopedge/core/api"
)

// Debug serves GET /debug/pprof/... (Go's runtime profiles: heap, CPU,
// goroutines…) to holders of the admin token, for finding where an edge's
// memory and time go on a live node.
func (a *API) Debug(ctx *fasthttp.RequestCtx) {
	if !a.authorized(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)) {
		ctx.Response.Header.Set(fasthttp.HeaderWWWAuthenticate, `Bearer realm="shopedge-admin"`)
		api.WriteError(ctx, api.Errorf(api.ECodeUnauthorized, "a valid admin bearer token is required"))
		return
	}
	pprofhandler.PprofHandler(ctx)
}
