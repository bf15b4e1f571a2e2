package forward

import (
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/internal/httpserver"
)

// forwardedRequestHeaders are the client's request headers a core sees;
// nothing else of the client's headers (Authorization, Cookie, Host,
// hop-by-hop headers, X-Forwarded-*) crosses the edge. The edge adds the
// request id and X-Forwarded-For (the client's address) itself.
var forwardedRequestHeaders = []string{"Accept", HeaderIdempotencyKey}

// passedResponseHeaders are the core's response headers a client sees,
// besides the status, Content-Type and body: what the routes' answers
// mean to a client. The edge's server sets its own framing, date and
// caching headers, and the request id.
var passedResponseHeaders = []string{"Retry-After", "Idempotent-Replayed", "Allow", "Content-Encoding", api.HeaderCartDigest}

// buildRequest fills req for a core from rt, the validated parameters p,
// the validated token, and ctx's allow-listed headers and body.
func buildRequest(req *fasthttp.Request, ctx *fasthttp.RequestCtx, rt *route, p *[2]string, token string, client []byte) {
	req.Header.SetMethod(rt.method)
	uri := rt.build(req.Header.RequestURI()[:0], p)
	if rt.token {
		uri = append(append(uri, "?token="...), token...)
	}
	req.Header.SetRequestURIBytes(uri)
	for _, h := range forwardedRequestHeaders {
		if v := ctx.Request.Header.Peek(h); len(v) > 0 {
			req.Header.SetBytesV(h, v)
		}
	}
	// A valid client id (one that does not look like card data), else a
	// new one; the same id goes back to the client.
	req.Header.SetBytesV(HeaderRequestID, httpserver.RequestID(ctx))
	req.Header.SetBytesV("X-Forwarded-For", client)
	if rt.body {
		if ct := ctx.Request.Header.ContentType(); len(ct) > 0 {
			req.Header.SetContentTypeBytes(ct)
		}
		req.SetBody(ctx.Request.Body())
	}
}

// copyResponse writes resp's status, allow-listed headers and body to ctx.
func copyResponse(ctx *fasthttp.RequestCtx, resp *fasthttp.Response) {
	ctx.SetStatusCode(resp.StatusCode())
	if ct := resp.Header.ContentType(); len(ct) > 0 {
		ctx.Response.Header.SetContentTypeBytes(ct)
	}
	for _, h := range passedResponseHeaders {
		if v := resp.Header.Peek(h); len(v) > 0 {
			ctx.Response.Header.SetBytesV(h, v)
		}
	}
	ctx.SetBody(resp.Body())
}
