// Command edge is shopedge's stateless edge tier: product pages and
// autocomplete from off-heap caches kept current by the core's change feed,
// and cart/checkout writes forwarded to the core. This package is wiring
// only: configuration, start and stop.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/fasthttp/router"

	"shopedge/edge/coreclient"
	"shopedge/edge/follow"
	"shopedge/edge/forward"
	"shopedge/edge/httpapi"
	"shopedge/edge/pages"
	"shopedge/edge/search"
	"shopedge/edge/soldout"
	"shopedge/edge/storefront"
	"shopedge/edge/suggest"
	"shopedge/internal/app"
	"shopedge/internal/config"
	"shopedge/internal/logging"
	"shopedge/internal/openapi"
)

func main() {
	os.Exit(app.Main("edge", NewMain()))
}

// Main is the edge process: its configuration and everything Run starts.
// Fields are set by Run and released by Close.
type Main struct {
	app.Base // Stderr, Log, Metrics and the HTTP Server
	Config   Config

	// Domain services, constructed by startServices in this order.
	Core      *coreclient.Client
	Pages     *pages.Cache
	Loader    *pages.Loader // fills Pages: a feed sink, and renders misses
	Suggest   *suggest.Service
	Search    *search.Service
	SoldOut   *soldout.Set
	Forwarder *forward.Forwarder
	Follower  *follow.Follower
	API       *httpapi.API

	// Storefront renders the shop's HTML pages from the search index
	// (made after Search, a feed sink after it).
	Storefront *storefront.Storefront

	stopFollow context.CancelFunc
	followDone chan struct{}
}

// NewMain returns a Main with the default configuration.
func NewMain() *Main {
	return &Main{Base: app.NewBase(os.Stderr), Config: DefaultConfig()}
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
	if m.Config.MemoryLimit > 0 {
		debug.SetMemoryLimit(m.Config.heapLimit())
	}
	if err := logging.Step(m.Log, "start services", func() error { return m.startServices(ctx) }); err != nil {
		return err
	}
	// Product and suggest reads skip the router (edge/httpapi.API.Dispatch); the rest uses it.
	dispatch := httpapi.SearchDispatch(m.API.Dispatch, m.searchHandlers())
	dispatch = httpapi.WithStorefront(dispatch, m.Storefront) // and the storefront's home and category pages
	return m.StartServer(m.Config.Server, app.Handlers{
		Routes: m.routes, Dispatch: dispatch, Ready: m.ready,
		// /metrics and /debug/pprof/ (the core's address, breaker
		// states, memory) need the admin token, or the ops listener.
		OpsTokens: []string{m.Config.AdminToken},
		Ops:       m.Config.Ops,
	})
}

// startServices creates the caches and services and starts following the
// core's change feed.
func (m *Main) startServices(ctx context.Context) error {
	c := m.Config
	clientCfg, forwardCfg, apiCfg := c.wired()
	var err error
	if m.Core, err = coreclient.NewClient(clientCfg); err != nil {
		return fmt.Errorf("cannot create the core client: %w", err)
	}
	if m.Pages, err = pages.New(c.Pages, m.Log.With().Str("svc", "pages").Logger(), m.Metrics); err != nil {
		return fmt.Errorf("cannot create the page cache: %w", err)
	}
	m.Loader = pages.NewLoader(m.Pages)
	m.Suggest = suggest.New(c.Suggest, m.Log.With().Str("svc", "suggest").Logger(), m.Metrics)
	forwardCfg.CoreCheckoutMax = m.Core.CheckoutMax // announced on the core's feed answers
	m.Search = search.New(c.Search, m.Log.With().Str("svc", "search").Logger(), m.Metrics)
	// Sold-out SKUs as the feed shows them, trusted while it is current.
	m.SoldOut = soldout.New(func() bool { return m.Follower.Ready() && m.Follower.Connected() }, m.Metrics)
	forwardCfg.SoldOut = m.SoldOut
	if m.Forwarder, err = forward.New(forwardCfg, m.Log.With().Str("svc", "forward").Logger(), m.Metrics); err != nil {
		return fmt.Errorf("cannot create the forwarder: %w", err)
	}
	// The storefront renders from the search index: it follows it.
	if m.Storefront, err = storefront.New(c.Storefront, m.Search, m.Log.With().Str("svc", "storefront").Logger(), m.Metrics); err != nil {
		return fmt.Errorf("cannot create the storefront: %w", err)
	}
	// The sold-out set first: an event reaches it before the renders.
	sinks := []follow.Sink{m.SoldOut, m.Loader, m.Suggest, m.Search, m.Storefront}
	if m.Follower, err = follow.New(m.Core, sinks, c.Follow, m.Log.With().Str("svc", "follow").Logger(), m.Metrics); err != nil {
		return fmt.Errorf("cannot create the feed follower: %w", err)
	}
	m.API = httpapi.New(httpapi.Deps{
		Pages:    m.Pages,
		Loader:   m.Loader,
		Follower: m.Follower,
		Core:     m.Core,
		Log:      m.Log.With().Str("svc", "api").Logger(),
		Metrics:  m.Metrics,
		Suggest:  m.Suggest.Handle,
		Forward:  m.Forwarder.Endpoints(),
	}, apiCfg)
	m.Storefront.SetFeed(m.Follower)

	// The snapshot loads in the background; /readyz turns 200 when done.
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.stopFollow, m.followDone = cancel, make(chan struct{})
	go func() { defer close(m.followDone); m.Follower.Run(fctx) }()
	return nil
}

// ready reports whether the edge can serve: once serving, /readyz answers
// 200 only then. Once ready it has the core's announced longest checkout:
// CheckoutTimeout logs an error if forward.checkout_timeout is shorter.
func (m *Main) ready() bool {
	if m.Follower == nil || !m.Follower.Ready() {
		return false
	}
	m.Forwarder.CheckoutTimeout()
	return true
}

// stopServices stops the feed follower and releases the caches, in reverse
// order of startServices. It runs after the HTTP server has drained.
func (m *Main) stopServices() error {
	if m.stopFollow != nil {
		m.stopFollow()
		<-m.followDone
	}
	if m.Storefront != nil {
		m.Storefront.Close() // stops its refresh loop
	}
	if m.Loader != nil {
		m.Loader.Close() // stops a running pre-render pass
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
	httpapi.RegisterSearch(r, m.searchHandlers())
	httpapi.RegisterStorefront(r, m.Storefront) // /, /search, /c/{slug}, /cart, /checkout, /orders/{id}, /assets/
	openapi.Register(r, openapi.Edge)           // GET /openapi.json: the public operations only
}

func (m *Main) searchHandlers() httpapi.SearchHandlers {
	return httpapi.SearchHandlers{Search: m.Search.HandleSearch, Categories: m.Search.HandleCategories}
}

// Close stops in reverse order of Run: drain HTTP, then stop services.
// It is safe after a failed or partial Run.
func (m *Main) Close() error {
	return errors.Join(m.StopServer(), logging.Step(m.Log, "stop services", m.stopServices))
}
