// Command edge is shopedge's stateless edge tier: product pages and
// autocomplete from off-heap caches kept current by the core's change feed,
// and cart/checkout writes forwarded to the core. This package is wiring
// only: configuration, start and stop.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"
	"github.com/fasthttp/router"
	"github.com/rs/zerolog"

	"shopedge/core/api"
	"shopedge/edge/follow"
	"shopedge/edge/forward"
	"shopedge/edge/httpapi"
	"shopedge/edge/pages"
	"shopedge/edge/suggest"
	"shopedge/internal/app"
	"shopedge/internal/config"
	"shopedge/internal/httpserver"
)

func main() {
	os.Exit(app.Main("edge", NewMain()))
}

// Main is the edge process: its configuration and everything Run starts.
// Fields are set by Run and released by Close.
type Main struct {
	Config  Config
	Stderr  io.Writer // log destination; os.Stderr by default
	Log     zerolog.Logger
	Metrics *metrics.Set

	Server *httpserver.Server

	// Domain services, constructed by startServices in this order.
	Core      *api.Client
	Pages     *pages.Store
	Suggest   *suggest.Service
	Forwarder *forward.Forwarder
	Follower  *follow.Follower
	API       *httpapi.API

	stopFollow context.CancelFunc
	followDone chan struct{}

	addr     string // bound listen address, set by Run
	serveErr chan error
	started  atomic.Bool
}

// NewMain returns a Main with the default configuration.
func NewMain() *Main {
	return &Main{
		Config:   DefaultConfig(),
		Stderr:   os.Stderr,
		Log:      zerolog.Nop(),
		Metrics:  metrics.NewSet(),
		serveErr: make(chan error, 1),
	}
}

// ParseFlags loads the configuration: defaults < -config file < SHOPEDGE_*
// variables < flags, then validates it.
func (m *Main) ParseFlags(_ context.Context, args []string) error {
	return config.Load(&m.Config, args, config.Options{Name: "edge", Usage: m.Stderr})
}

// Run starts the caches and services and serves HTTP; it returns once the
// server is listening (/readyz turns 200 when ready reports true). Close
// stops everything Run started, even after a failed Run.
func (m *Main) Run(ctx context.Context) error {
	m.Log = m.Config.Log.New(m.Stderr, "edge")
	m.Log.Info().Str("addr", m.Config.Server.Addr).Strs("core", m.Config.Core.Addrs).Msg("starting")
	if err := config.Step(m.Log, "start services", func() error { return m.startServices(ctx) }); err != nil {
		return err
	}
	return config.Step(m.Log, "start http server", m.serve)
}

// startServices creates the caches and services and starts following the
// core's change feed.
func (m *Main) startServices(ctx context.Context) error {
	c := m.Config
	clientCfg, forwardCfg, apiCfg := c.wired()
	var err error
	if m.Core, err = api.NewClient(clientCfg); err != nil {
		return fmt.Errorf("cannot create the core client: %w", err)
	}
	if m.Pages, err = pages.New(c.Pages, m.Log.With().Str("svc", "pages").Logger(), m.Metrics); err != nil {
		return fmt.Errorf("cannot create the page cache: %w", err)
	}
	m.Suggest = suggest.New(c.Suggest, m.Log.With().Str("svc", "suggest").Logger(), m.Metrics)
	if m.Forwarder, err = forward.New(forwardCfg, m.Log.With().Str("svc", "forward").Logger(), m.Metrics); err != nil {
		return fmt.Errorf("cannot create the forwarder: %w", err)
	}
	sinks := []follow.Sink{m.Pages, m.Suggest}
	if m.Follower, err = follow.New(m.Core, sinks, c.Follow, m.Log.With().Str("svc", "follow").Logger(), m.Metrics); err != nil {
		return fmt.Errorf("cannot create the feed follower: %w", err)
	}
	m.API = httpapi.New(httpapi.Deps{
		Pages:    m.Pages,
		Follower: m.Follower,
		Core:     m.Core,
		Log:      m.Log.With().Str("svc", "api").Logger(),
		Metrics:  m.Metrics,
		Suggest:  m.Suggest.Handle,
		Forward:  m.Forwarder.Handle,
	}, apiCfg)

	// The snapshot loads in the background; /readyz turns 200 when done.
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.stopFollow, m.followDone = cancel, make(chan struct{})
	go func() { defer close(m.followDone); m.Follower.Run(fctx) }()
	return nil
}

// ready reports whether the edge can serve: /readyz answers 200 only then.
func (m *Main) ready() bool {
	return m.started.Load() && m.Follower != nil && m.Follower.Ready()
}

// stopServices stops the feed follower and releases the caches, in reverse
// order of startServices. It runs after the HTTP server has drained.
func (m *Main) stopServices() error {
	if m.stopFollow != nil {
		m.stopFollow()
		<-m.followDone
	}
	if m.Forwarder != nil {
		return m.Forwarder.Close()
	}
	return nil
}

// routes registers every HTTP handler of the edge on r. /healthz, /readyz
// and /metrics are already registered.
func (m *Main) routes(r *router.Router) {
	m.API.Register(r) // products, suggest, forwarded writes, /admin/v1/purge
}

// serve builds the router and server and starts serving in the background.
func (m *Main) serve() error {
	r := httpserver.NewRouter()
	// Product reads skip the router (edge/httpapi.API.Handler); the rest uses it.
	m.Server = httpserver.New(m.Config.Server, m.Log, m.Metrics, m.API.Handler(r.Handler))
	m.Server.RegisterStandard(r, m.ready)
	m.routes(r)
	ln, err := net.Listen("tcp", m.Config.Server.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", m.Config.Server.Addr, err)
	}
	m.addr = ln.Addr().String()
	go func() {
		if err := m.Server.Serve(ln); err != nil {
			m.serveErr <- err
		}
	}()
	m.started.Store(true)
	m.Log.Info().Str("addr", m.addr).Msg("serving")
	return nil
}

// Addr returns the address the HTTP server listens on, or "" before Run.
func (m *Main) Addr() string { return m.addr }

// ServeErr delivers a failure of the HTTP server after Run (app.App).
func (m *Main) ServeErr() <-chan error { return m.serveErr }

// Output returns m.Stderr, where a configuration error is written (app.App).
func (m *Main) Output() io.Writer { return m.Stderr }

// Logger returns m.Log, as Run set it up (app.App).
func (m *Main) Logger() zerolog.Logger { return m.Log }

// Close stops in reverse order of Run: drain HTTP, then stop services.
// It is safe after a failed or partial Run.
func (m *Main) Close() error {
	m.started.Store(false)
	var errs []error
	if m.Server != nil {
		errs = append(errs, config.Step(m.Log, "stop http server", func() error {
			return m.Server.Shutdown(context.Background())
		}))
	}
	errs = append(errs, config.Step(m.Log, "stop services", m.stopServices))
	return errors.Join(errs...)
}
