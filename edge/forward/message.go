package forward

import (
	"strings"

	"github.com/valyala/fasthttp"

	"shopedge/internal/httpserver"
)

// forwardedRequestHeaders are the request headers a core sees. Everything
// else (cookies, Host, hop-by-hop headers) stays at the edge.
var forwardedRequestHeaders = []string{
	"Content-Type", "Accept", HeaderIdempotencyKey, "Authorization",
}

// droppedResponseHeaders are the core response headers the edge does not
// pass on: hop-by-hop and those the edge's server sets itself.
var droppedResponseHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Transfer-Encoding": true,
	"Content-Length": true, "Date": true, "Server": true, "Cache-Control": true,
	"Content-Type": true, "Upgrade": true, "Trailer": true,
}

// buildRequest fills req from ctx's request: method, path, query, body and
// the forwarded headers, plus the request id and X-Forwarded-For.
func buildRequest(req *fasthttp.Request, ctx *fasthttp.RequestCtx) {
	req.Header.SetMethodBytes(ctx.Method())
	req.SetRequestURIBytes(ctx.URI().RequestURI())
	for _, h := range forwardedRequestHeaders {
		if v := ctx.Request.Header.Peek(h); len(v) > 0 {
			req.Header.SetBytesV(h, v)
		}
	}
	// The id never looks like a card number unless the client sent one,
	// which the core then refuses like any other card data.
	req.Header.SetBytesV(HeaderRequestID, httpserver.RequestID(ctx))
	xff := string(ctx.Request.Header.Peek("X-Forwarded-For"))
	if ip := ctx.RemoteIP().String(); xff == "" {
		xff = ip
	} else {
		xff += ", " + ip
	}
	req.Header.Set("X-Forwarded-For", xff)
	req.SetBody(ctx.Request.Body())
}

// copyResponse writes resp's status, headers and body to ctx.
func copyResponse(ctx *fasthttp.RequestCtx, resp *fasthttp.Response) {
	ctx.SetStatusCode(resp.StatusCode())
	if ct := resp.Header.ContentType(); len(ct) > 0 {
		ctx.Response.Header.SetContentTypeBytes(ct)
	}
	for k, v := range resp.Header.All() {
		if droppedResponseHeaders[string(k)] || strings.EqualFold(string(k), HeaderRequestID) {
			continue
		}
		ctx.Response.Header.AddBytesKV(k, v)
	}
	ctx.SetBody(resp.Body())
}
