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

// serve wraps every request: request id (echoed; generated for errors and
// whoever asks, see RequestID), panic recovery, metrics and the access log
// for failed and slow requests. It allocates nothing itself.
func (s *Server) serve(ctx *fasthttp.RequestCtx) {
	start := ctx.Time() // taken by fasthttp as the request arrived
	echoRequestID(ctx)
	var route string
	defer s.finish(ctx, start, &route)
	if s.dispatch != nil {
		if h, r := s.dispatch(ctx); h != nil {
			route = r
			h(ctx)
			return
		}
	}
	s.handler(ctx)
}

// finish runs deferred after the handler; it recovers a panic into a 500.
// route is the pattern the dispatch named, or "" for the router's.
func (s *Server) finish(ctx *fasthttp.RequestCtx, start time.Time, route *string) {
	if p := recover(); p != nil {
		id := append([]byte(nil), RequestID(ctx)...)
		s.log.Error().Str("code", api.ECodeInternal).Str("panic", fmt.Sprint(p)).
			Bytes("request_id", id).
			Bytes("method", ctx.Method()).Bytes("path", ctx.Path()).
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
	}
	rs := s.stats.get(ctx, *route)
	rs.observe(status, d)
	slow := s.cfg.SlowRequestThreshold > 0 && d >= s.cfg.SlowRequestThreshold
	if status >= 500 || slow {
		ev := s.log.Warn()
		if status >= 500 {
			ev = s.log.Error()
		}
		ev.Int("status", status).Dur("duration", d).Bool("slow", slow).
			Bytes("method", ctx.Method()).Bytes("path", ctx.Path()).
			Str("route", rs.route).Bytes("request_id", RequestID(ctx)).
			Str("remote_ip", ctx.RemoteIP().String()).Msg("request")
	}
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
			e = api.Errorf(api.ECodeTimeout, "timed out reading the request")
			break
		}
		e = api.Errorf(api.ECodeInvalid, "malformed HTTP request")
	}
	echoRequestID(ctx)
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
// matched route pattern so that Server labels metrics by route.
func NewRouter() *router.Router {
	r := router.New()
	r.SaveMatchedRoutePath = true
	r.HandleMethodNotAllowed = true
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
