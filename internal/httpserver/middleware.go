package httpserver

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/VictoriaMetrics/metrics"
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
	rs.byClass[statusClass(status)].Inc()
	rs.duration.Update(d.Seconds())
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
	s.stats.rejected.byClass[statusClass(ctx.Response.StatusCode())].Inc()
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

// routeStats are the pre-created metrics of one route label.
type routeStats struct {
	route    string
	byClass  [6]*metrics.Counter // index: status/100; 0 = anything else
	duration *metrics.PrometheusHistogram
}

// routeStatsSet creates each route's metrics once, on its first request;
// after that a request costs a scan of a few pointers, or one lock-free
// map lookup: both are replaced (copied) when a route is added, never
// changed in place.
type routeStatsSet struct {
	ms        *metrics.Set
	server    string
	mu        sync.Mutex // serialises adding routes
	routes    atomic.Pointer[map[string]*routeStats]
	recent    atomic.Pointer[[]patternStats]
	unmatched *routeStats
	rejected  *routeStats
	panics    *metrics.Counter
}

// patternStats are a route's stats keyed by the address and length of its
// pattern's bytes. A router, and a dispatch returning constants, pass the
// same string for a route on every request, so comparing two words finds
// its stats where the map would hash the pattern and compare its bytes.
// (p keeps the bytes alive, and Go strings do not change, so an address
// found here still holds the pattern it was remembered with.)
type patternStats struct {
	p  *byte
	n  int
	rs *routeStats
}

// maxRecent bounds the patterns found by address.
const maxRecent = 16

func newRouteStatsSet(ms *metrics.Set, server string) *routeStatsSet {
	s := &routeStatsSet{ms: ms, server: server}
	s.routes.Store(&map[string]*routeStats{})
	s.unmatched = s.create("unmatched")
	s.rejected = s.create("unreadable")
	s.panics = ms.GetOrCreateCounter(fmt.Sprintf(`shopedge_http_panics_total{server=%q}`, server))
	return s
}

func (s *routeStatsSet) create(route string) *routeStats {
	rs := &routeStats{route: route}
	labels := fmt.Sprintf(`server=%s,route=%s`, quote(s.server), quote(route))
	classes := [...]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}
	for i, c := range classes {
		rs.byClass[i] = s.ms.GetOrCreateCounter(fmt.Sprintf(`shopedge_http_requests_total{%s,code=%q}`, labels, c))
	}
	rs.duration = s.ms.GetOrCreatePrometheusHistogram(fmt.Sprintf(`shopedge_http_request_duration_seconds{%s}`, labels))
	return rs
}

// get returns the stats of route, or when it is "" of the route the router
// matched for ctx.
func (s *routeStatsSet) get(ctx *fasthttp.RequestCtx, route string) *routeStats {
	if route == "" {
		route, _ = ctx.UserValue(router.MatchedRoutePathParam).(string)
		if route == "" {
			return s.unmatched
		}
	}
	p := unsafe.StringData(route)
	recent := s.recent.Load()
	if recent != nil {
		for _, ps := range *recent {
			if ps.p == p && ps.n == len(route) {
				return ps.rs
			}
		}
	}
	if rs := (*s.routes.Load())[route]; rs != nil {
		if recent == nil || len(*recent) < maxRecent {
			s.remember(p, len(route), rs)
		}
		return rs
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.routes.Load()
	if rs := old[route]; rs != nil {
		return rs
	}
	rs := s.create(route)
	next := make(map[string]*routeStats, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[route] = rs
	s.routes.Store(&next)
	return rs
}

// remember adds the pattern at p (n bytes) to the ones found by address,
// while there are fewer than maxRecent.
func (s *routeStatsSet) remember(p *byte, n int, rs *routeStats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var old []patternStats
	if r := s.recent.Load(); r != nil {
		old = *r
	}
	if len(old) >= maxRecent {
		return
	}
	for _, ps := range old {
		if ps.p == p && ps.n == n {
			return
		}
	}
	next := append(append(make([]patternStats, 0, len(old)+1), old...), patternStats{p: p, n: n, rs: rs})
	s.recent.Store(&next)
}

// quote renders a Prometheus label value: backslash, quote and newline escaped.
func quote(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(v) + `"`
}
