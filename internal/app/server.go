package app

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"
	"github.com/fasthttp/router"
	"github.com/rs/zerolog"

	"shopedge/internal/httpserver"
)

// Handlers is what a tier serves besides /healthz, /readyz and /metrics.
type Handlers struct {
	// Routes registers the tier's handlers on r, after the standard ones.
	Routes func(r *router.Router)
	// Dispatch, if set, picks the handlers of fast-path requests before
	// the router (see httpserver.Dispatch).
	Dispatch httpserver.Dispatch
	// Ready reports whether the tier can serve; /readyz answers 200 only
	// while it does and the server is serving. Nil means always.
	Ready func() bool
}

// Server is a tier's HTTP server serving in the background. Create it with
// Serve; Shutdown stops it.
type Server struct {
	HTTP *httpserver.Server

	addr    string
	errs    chan error
	serving atomic.Bool
}

// Serve builds the router and the hardened server for cfg, listens on
// cfg.Addr and serves in the background; it logs "serving" with the bound
// address once listening.
func Serve(cfg httpserver.Config, log zerolog.Logger, ms *metrics.Set, h Handlers) (*Server, error) {
	s := &Server{errs: make(chan error, 1)}
	r := httpserver.NewRouter()
	s.HTTP = httpserver.New(cfg, log, ms, r.Handler)
	if h.Dispatch != nil {
		s.HTTP.SetDispatch(h.Dispatch)
	}
	s.HTTP.RegisterStandard(r, func() bool {
		return s.serving.Load() && (h.Ready == nil || h.Ready())
	})
	if h.Routes != nil {
		h.Routes(r)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", cfg.Addr, err)
	}
	s.addr = ln.Addr().String()
	go func() {
		if err := s.HTTP.Serve(ln); err != nil {
			s.errs <- err
		}
	}()
	s.serving.Store(true)
	log.Info().Str("addr", s.addr).Msg("serving")
	return s, nil
}

// Addr returns the bound listen address.
func (s *Server) Addr() string { return s.addr }

// Err delivers the server's failure, if it stops serving on its own.
func (s *Server) Err() <-chan error { return s.errs }

// Shutdown turns /readyz to 503 and drains the server (see
// httpserver.Server.Shutdown).
func (s *Server) Shutdown(ctx context.Context) error {
	s.serving.Store(false)
	return s.HTTP.Shutdown(ctx)
}
