package forward

import (
	"crypto/rand"
	"encoding/hex"
	"strings"

	"github.com/valyala/fasthttp"

	"shopedge/core/api"
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
func buildRequest(req *fasthttp.Request, ctx *fasthttp.RequestCtx, rid string) {
	req.Header.SetMethodBytes(ctx.Method())
	req.SetRequestURIBytes(ctx.URI().RequestURI())
	for _, h := range forwardedRequestHeaders {
		if v := ctx.Request.Header.Peek(h); len(v) > 0 {
			req.Header.SetBytesV(h, v)
		}
	}
	req.Header.Set(HeaderRequestID, rid)
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

// requestID returns ctx's X-Request-ID when it is a sane token, or a new
// random one. A new id never looks like a card number (about 0.4% of random
// 32-hex strings hold a Luhn-valid run of 13+ digits), so the core's card
// screen, which reads every header, never rejects a request for its id.
func requestID(ctx *fasthttp.RequestCtx) string {
	if v := ctx.Request.Header.Peek(HeaderRequestID); validRequestID(v) {
		return string(v)
	}
	var b [16]byte
	var h [32]byte
	for {
		_, _ = rand.Read(b[:])
		hex.Encode(h[:], b[:])
		if !api.ContainsCardNumber(h[:]) {
			return string(h[:])
		}
	}
}

// validRequestID accepts 1–128 bytes of [A-Za-z0-9._:-].
func validRequestID(v []byte) bool {
	if len(v) == 0 || len(v) > 128 {
		return false
	}
	for _, c := range v {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}
