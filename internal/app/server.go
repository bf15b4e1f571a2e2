package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"
	"github.com/fasthttp/router"
	"github.com/rs/zerolog"

	"shopedge/internal/config"
	"shopedge/internal/httpserver"
)

// Handlers is what a tier serves besides /healthz, /readyz, /metrics and
// /debug/pprof/.
type Handlers struct {
	// Routes registers the tier's handlers on r, after the standard ones.
	Routes func(r *router.Router)
	// Dispatch, if set, picks the handlers of fast-path requests before
	// the router (see httpserver.Dispatch).
	Dispatch httpserver.Dispatch
	// Ready reports whether the tier can serve; /readyz answers 200 only
	// while it does and the server is serving. Nil means always.
	Ready func() bool
	// OpsTokens are the bearer tokens that open /metrics and /debug/pprof/
	// on the main listener (empty ones are ignored; with none, those
	// routes answer 401 there).
	OpsTokens []string
	// OpsOpen serves /metrics and /debug/pprof/ on the main listener
	// without a token (a tier reachable from a private network alone).
	OpsOpen bool
	// Ops is the operations listener, if any.
	Ops OpsConfig
}

// OpsConfig configures a tier's operations listener.
type OpsConfig struct {
	// Addr is the listen address of a second listener serving /metrics,
	// /debug/pprof/, /healthz and /readyz without a token, for a private
	// network (a Prometheus scraper, an operator's tunnel). Empty: none.
	Addr string `yaml:"addr" help:"operations listener (metrics, pprof, health) without a token; empty: none"`
}

// Validate reports an invalid address.
func (c OpsConfig) Validate() error {
	if c.Addr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return config.Invalid("addr", "invalid address %q: %w", c.Addr, err)
	}
	return nil
}

// Server is a tier's HTTP server serving in the background, with its
// operations listener when configured. Create it with Serve; Shutdown
// stops it.
type Server struct {
	HTTP *httpserver.Server
	// Ops is the operations listener's server, or nil.
	Ops *httpserver.Server

	addr, opsAddr string
	errs          chan error
	serving       atomic.Bool
}

// Serve builds the router and the hardened server for cfg, listens on
// cfg.Addr (and h.Ops.Addr) and serves in the background; it logs
// "serving" with the bound address once listening.
func Serve(cfg httpserver.Config, log zerolog.Logger, ms *metrics.Set, h Handlers) (*Server, error) {
	s := &Server{errs: make(chan error, 2)}
	ready := func() bool { return s.serving.Load() && (h.Ready == nil || h.Ready()) }
	r := httpserver.NewRouter()
	s.HTTP = httpserver.New(cfg, log, ms, r.Handler)
	if h.Dispatch != nil {
		s.HTTP.SetDispatch(h.Dispatch)
	}
	s.HTTP.RegisterStandard(r, httpserver.Standard{Ready: ready, Tokens: h.OpsTokens, Open: h.OpsOpen})
	if h.Routes != nil {
		h.Routes(r)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", cfg.Addr, err)
	}
	var opsLn net.Listener
	if h.Ops.Addr != "" {
		if opsLn, err = net.Listen("tcp", h.Ops.Addr); err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("cannot listen on ops.addr %s: %w", h.Ops.Addr, err)
		}
		opsCfg := cfg
		opsCfg.Addr, opsCfg.Name, opsCfg.DrainDelay = opsLn.Addr().String(), cfg.Name+"-ops", 0
		opsRouter := httpserver.NewRouter()
		s.Ops = httpserver.New(opsCfg, log, metrics.NewSet(), opsRouter.Handler)
		s.Ops.RegisterStandard(opsRouter, httpserver.Standard{Ready: ready, Open: true, Extra: []*metrics.Set{ms}})
		s.opsAddr = opsLn.Addr().String()
	}
	s.addr = ln.Addr().String()
	for _, sv := range []struct {
		srv *httpserver.Server
		ln  net.Listener
	}{{s.HTTP, ln}, {s.Ops, opsLn}} {
		if sv.srv == nil {
			continue
		}
		go func() {
			if err := sv.srv.Serve(sv.ln); err != nil {
				s.errs <- err
			}
		}()
	}
	s.serving.Store(true)
	ev := log.Info().Str("addr", s.addr)
	if s.opsAddr != "" {
		ev = ev.Str("ops_addr", s.opsAddr)
	}
	ev.Msg("serving")
	return s, nil
}

// Addr returns the bound listen address.
func (s *Server) Addr() string { return s.addr }

// OpsAddr returns the operations listener's bound address, or "".
func (s *Server) OpsAddr() string { return s.opsAddr }

// Err delivers the server's failure, if it stops serving on its own.
func (s *Server) Err() <-chan error { return s.errs }

// Shutdown turns /readyz to 503 and drains the server (see
// httpserver.Server.Shutdown), then stops the operations listener.
func (s *Server) Shutdown(ctx context.Context) error {
	s.serving.Store(false)
	err := s.HTTP.Shutdown(ctx)
	if s.Ops != nil {
		err = errors.Join(err, s.Ops.Shutdown(ctx))
	}
	return err
}
