package httpserver

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
)

// retryAfterDefault is the Retry-After of a 503 whose handler set none:
// every 503 either tier sends tells the client when to come back.
var (
	hRetryAfter        = []byte(fasthttp.HeaderRetryAfter)
	vRetryAfterDefault = []byte("1")
)

// errBadHeaderName is the answer to a request with a malformed header name.
var errBadHeaderName = api.Errorf(api.ECodeInvalid, "malformed header name (a field name is a token: no spaces)")

// serve wraps every request: panic recovery, metrics, malformed header
// names refused (see badHeaderName), request ids on error answers (see
// RequestID) and the access log for failed and slow requests. It
// allocates nothing itself.
func (s *Server) serve(ctx *fasthttp.RequestCtx) {
	start := ctx.Time() // taken by fasthttp as the request arrived
	var route string
	defer s.finish(ctx, start, &route)
	if s.dispatch != nil {
		if h, r := s.dispatch(ctx); h != nil {
			route = r
			h(ctx)
			return
		}
	}
	if badHeaderName(&ctx.Request.Header) {
		// fasthttp keeps a field name with an inner space ("Content
		// Length: 50") as an ordinary header and reads the body as the
		// next request; RFC 9112 §5.1 wants 400. The connection is closed
		// so that nothing after this request is read.
		ctx.SetConnectionClose()
		api.WriteError(ctx, errBadHeaderName)
		return
	}
	s.handler(ctx)
}

// badHeaderName reports whether a request header's name holds a space,
// the one malformation fasthttp's parser lets through (it rejects other
// bytes outside a token, and whitespace before the colon, by itself).
//
// Every request the router serves is checked (every request to a core;
// on an edge, writes, admin routes and misses of the router), not the
// dispatched read fast path (an edge's cached product pages and
// suggestions, GET and HEAD): the check walks every header, 1.5-3 % of a
// hit's CPU (edge/httpapi StackEdgeHitDirect, measured beside the
// build without it), and there a malformed name changes nothing a
// client could not do anyway: the bytes after the header block are read
// as a pipelined request, as a proxy in front that ignores the line (as
// Varnish, nginx and HAProxy refuse or ignore such names) reads them too.
func badHeaderName(h *fasthttp.RequestHeader) bool {
	for k := range h.All() {
		for _, c := range k {
			if c == ' ' {
				return true
			}
		}
	}
	return false
}

// finish runs deferred after the handler; it recovers a panic into a 500.
// route is the pattern the dispatch named, or "" for the router's.
func (s *Server) finish(ctx *fasthttp.RequestCtx, start time.Time, route *string) {
	if p := recover(); p != nil {
		id := append([]byte(nil), RequestID(ctx)...)
		var buf [512]byte
		s.log.Error().Str("code", api.ECodeInternal).Str("panic", fmt.Sprint(p)).
			Bytes("request_id", redact(&buf, id)).
			Bytes("method", ctx.Method()).Bytes("path", redact(&buf, ctx.Path())).
			Str("stack", string(debug.Stack())).Msg("handler panicked")
		ctx.Response.Reset()
		api.WriteError(ctx, api.Errorf(api.ECodeInternal, "internal error"))
		ctx.Response.Header.SetCanonical(canonicalRequestID, id)
		s.stats.panics.Inc()
	}
	d := time.Since(start)
	status := ctx.Response.StatusCode()
	if status >= 400 {
		RequestID(ctx) // an error answer always carries an id
		if status == fasthttp.StatusServiceUnavailable && len(ctx.Response.Header.PeekCanonical(hRetryAfter)) == 0 {
			ctx.Response.Header.SetCanonical(hRetryAfter, vRetryAfterDefault)
		}
	}
	if s.draining.Load() {
		ctx.SetConnectionClose() // a stopping server sheds its keep-alive clients
	}
	rs := s.stats.get(ctx, *route)
	rs.observe(status, d)
	slow := s.cfg.SlowRequestThreshold > 0 && d >= s.cfg.SlowRequestThreshold
	if status >= 500 || slow {
		s.logRequest(ctx, rs.route, status, d, slow)
	}
}

// logRequest writes the access log line of a failed or slow request.
// Client-controlled fields (path, request id) pass through redact first:
// a card number in a SKU segment or a request id never reaches the log.
func (s *Server) logRequest(ctx *fasthttp.RequestCtx, route string, status int, d time.Duration, slow bool) {
	ev := s.log.Warn()
	if status >= 500 {
		ev = s.log.Error()
	}
	var pathBuf, idBuf [512]byte
	ev.Int("status", status).Dur("duration", d).Bool("slow", slow).
		Bytes("method", ctx.Method()).Bytes("path", redact(&pathBuf, ctx.Path())).
		Str("route", route).Bytes("request_id", redact(&idBuf, RequestID(ctx))).
		Str("remote_ip", ctx.RemoteIP().String()).Msg("request")
}

// redact returns b, or a copy of it in buf (or on the heap when larger)
// with the digits of every card number masked.
func redact(buf *[512]byte, b []byte) []byte {
	if !api.ContainsCardNumber(b) {
		return b
	}
	out, _ := api.RedactCardNumbers(buf[:0], b)
	return out
}

// serveError answers requests fasthttp could not read or parse.
func (s *Server) serveError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var e *api.Error
	switch {
	case errors.As(err, &small):
		e = api.Errorf(api.ECodeHeaderTooLarge, "request headers exceed %s", s.cfg.ReadBufferSize)
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		e = api.Errorf(api.ECodeTooLarge, "request body exceeds %s", s.cfg.MaxRequestBodySize)
	default:
		var te interface{ Timeout() bool }
		if errors.As(err, &te) && te.Timeout() {
			// The client did not send a whole request within read_timeout
			// (or nothing at all): 408, never a gateway's 504.
			e = api.Errorf(api.ECodeRequestTimeout, "the request did not arrive within %s", s.cfg.ReadTimeout)
			break
		}
		e = api.Errorf(api.ECodeInvalid, "malformed HTTP request")
	}
	ctx.SetConnectionClose()
	api.WriteError(ctx, e)
	RequestID(ctx)
	s.stats.rejected.count(ctx.Response.StatusCode())
}

func statusClass(status int) int {
	c := status / 100
	if c < 1 || c > 5 {
		return 0
	}
	return c
}

// NewRouter returns a fasthttp/router whose unknown routes answer a JSON
// 404 and wrong methods a JSON 405 (with Allow), and which records the
// matched route pattern so that Server labels metrics by route. It never
// redirects: the router's trailing-slash and fixed-path redirects build
// Location from the request's path and Host, values a client chooses
// (and a CDN would cache), so such a path is simply not found.
func NewRouter() *router.Router {
	r := router.New()
	r.SaveMatchedRoutePath = true
	r.HandleMethodNotAllowed = true
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.NotFound = func(ctx *fasthttp.RequestCtx) {
		api.WriteError(ctx, api.Errorf(api.ECodeNotFound, "no route for %s %s", ctx.Method(), truncate(ctx.Path(), 256)))
	}
	r.MethodNotAllowed = func(ctx *fasthttp.RequestCtx) {
		api.WriteError(ctx, api.Errorf(api.ECodeMethod, "method %s is not allowed here (allowed: %s)",
			truncate(ctx.Method(), 16), ctx.Response.Header.Peek("Allow")))
	}
	return r
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
