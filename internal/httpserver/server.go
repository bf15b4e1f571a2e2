// Package httpserver runs shopedge's hardened fasthttp servers: finite
// timeouts and limits, request ids, per-route metrics, panic recovery, JSON
// errors for every failure fasthttp itself detects, graceful shutdown, and
// the standard /healthz, /readyz and /metrics routes. Both tiers use it.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
)

// ErrServerClosed is returned by Serve after Shutdown has been called.
var ErrServerClosed = errors.New("httpserver: server closed")

// Server is one hardened fasthttp server. Create it with New, start it with
// Serve or ListenAndServe, stop it with Shutdown. A Server serves once: after
// Shutdown it cannot be restarted.
type Server struct {
	cfg     Config
	log     zerolog.Logger
	ms      *metrics.Set
	handler fasthttp.RequestHandler
	// dispatch, when set, picks fast-path handlers before handler.
	dispatch Dispatch
	srv      *fasthttp.Server
	stats    *routeStatsSet

	mu     sync.Mutex
	ln     net.Listener
	closed bool

	draining atomic.Bool
}

// New returns a server running h behind the middleware, with cfg's limits.
// cfg must be valid (see Config.Validate). Metrics are registered on ms,
// which the caller owns and exposes (RegisterStandard serves it on
// /metrics); ms must not be shared by two servers (each writes its own
// per-route families).
func New(cfg Config, log zerolog.Logger, ms *metrics.Set, h fasthttp.RequestHandler) *Server {
	s := &Server{
		cfg:     cfg,
		log:     log.With().Str("server", cfg.Name).Logger(),
		ms:      ms,
		handler: h,
		stats:   newRouteStatsSet(ms, cfg.Name),
	}
	s.srv = &fasthttp.Server{
		Handler:               s.serve,
		ErrorHandler:          s.serveError,
		Name:                  "shopedge",
		ReadTimeout:           cfg.ReadTimeout,
		WriteTimeout:          cfg.WriteTimeout,
		IdleTimeout:           cfg.IdleTimeout,
		MaxRequestBodySize:    int(cfg.MaxRequestBodySize),
		ReadBufferSize:        int(cfg.ReadBufferSize),
		Concurrency:           cfg.Concurrency,
		MaxConnsPerIP:         cfg.MaxConnsPerIP,
		CloseOnShutdown:       true,
		NoDefaultServerHeader: true,
		Logger:                fasthttpLogger{log: s.log},
	}
	label := fmt.Sprintf(`{server=%q}`, cfg.Name)
	ms.GetOrCreateGauge("shopedge_http_open_connections"+label, func() float64 {
		return float64(s.srv.GetOpenConnectionsCount())
	})
	ms.GetOrCreateGauge("shopedge_http_concurrency"+label, func() float64 {
		return float64(s.srv.GetCurrentConcurrency())
	})
	return s
}

// A Dispatch picks the handler of a request a tier serves on a fast path,
// before the server's handler (a router) would, and names the route pattern
// its metrics are labelled with; it returns a nil handler to leave the
// request to the server's handler, which names its route through the
// router's matched-path user value. Returning a constant pattern string
// makes finding the route's metrics a pointer compare; the dispatch itself
// must be cheap and must not allocate, as it runs on every request.
type Dispatch func(ctx *fasthttp.RequestCtx) (h fasthttp.RequestHandler, route string)

// SetDispatch installs d in front of the server's handler. Call it before
// Serve and before using Handler.
func (s *Server) SetDispatch(d Dispatch) { s.dispatch = d }

// Config returns the server's configuration.
func (s *Server) Config() Config { return s.cfg }

// Serve accepts connections on ln until Shutdown, which makes it return nil.
// The server owns ln from now on and closes it.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ln.Close()
		return ErrServerClosed
	}
	s.ln = ln
	s.mu.Unlock()
	err := s.srv.Serve(ln)
	if s.isClosed() {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot serve %s on %s: %w", s.cfg.Name, ln.Addr(), err)
	}
	return nil
}

// ListenAndServe listens on cfg.Addr and serves until Shutdown.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ln)
}

// Addr returns the address being served, or nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Draining reports whether Shutdown has begun; /readyz answers 503 then.
func (s *Server) Draining() bool { return s.draining.Load() }

// Shutdown stops the server. First, for cfg.DrainDelay, it keeps accepting
// and serving while /readyz answers 503 and every response closes its
// connection, so that a load balancer moves traffic away; then it stops
// accepting connections, closes idle ones, and waits for in-flight
// requests to finish, for at most cfg.ShutdownTimeout (or until ctx ends).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	ln := s.ln
	s.mu.Unlock()
	s.draining.Store(true)
	if d := s.cfg.DrainDelay; d > 0 && ln != nil {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
	defer cancel()
	err := s.srv.ShutdownWithContext(ctx)
	if ln != nil {
		// Serve may not have handed ln to fasthttp yet; closing it here
		// makes Serve return in that case too. A second close is harmless.
		_ = ln.Close()
	}
	if err != nil {
		return fmt.Errorf("cannot drain %s within %s: %w", s.cfg.Name, s.cfg.ShutdownTimeout, err)
	}
	return nil
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// fasthttpLogger routes fasthttp's own messages (connection-level errors)
// to zerolog at debug level: they are client mistakes, not server faults.
type fasthttpLogger struct{ log zerolog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug().Msgf(format, args...)
}

// Handler returns the request handler with the server's middleware (request
// id, metrics, panic recovery, access log) around h, for serving the same
// stack elsewhere, e.g. over an in-memory connection in a benchmark.
func (s *Server) Handler() fasthttp.RequestHandler { return s.serve }
