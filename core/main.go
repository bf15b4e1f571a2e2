// Command core is shopedge's core tier: catalog admin and change feed,
// carts, checkout and orders, all state in the transactional store. This
// package is wiring only: configuration, start and stop.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/fasthttp/router"

	"shopedge/core/cart"
	"shopedge/core/catalog"
	"shopedge/core/changelog"
	"shopedge/core/checkout"
	"shopedge/core/cluster"
	"shopedge/core/httpapi"
	"shopedge/core/payment"
	"shopedge/core/payment/routing"
	"shopedge/core/shopapi"
	"shopedge/internal/app"
	"shopedge/internal/config"
	"shopedge/internal/logging"
	"shopedge/internal/openapi"
	"shopedge/store"
	"shopedge/store/embedded"
	"shopedge/store/tikv"
)

func main() {
	os.Exit(app.Main("core", NewMain()))
}

// Main is the core process: its configuration and everything Run starts.
// Fields are set by Run and released by Close.
type Main struct {
	app.Base // Stderr, Log, Metrics and the HTTP Server
	Config   Config

	Store store.Store // the prefixed store services use

	// Domain services, constructed by startServices in this order.
	Changelog *changelog.Log
	Catalog   *catalog.Service
	Payments  *routing.Router
	Carts     *cart.Service
	Checkout  *checkout.Service
	AdminAPI  *httpapi.API
	ShopAPI   *shopapi.API
	CDN       *httpapi.Purger  // purges api.cdn.purge_urls from the change log
	Cluster   *cluster.Cluster // membership; hands hot SKUs' checkouts to their owner core

	// LookupEnv reads the environment variables holding the gateways'
	// secret keys; os.LookupEnv by default.
	LookupEnv func(string) (string, bool)
	payKeys   map[string]string // gateway name → secret key

	// Backend, when set before Run, is the store Run uses instead of
	// opening store.backend (tests run several cores on one in-process
	// TiKV cluster); the key prefix still applies and Close closes it.
	Backend store.Store
	// Gateways, when set before Run, are payment gateways by name that
	// replace the configured gateways of the same names (tests share one
	// in-process gateway between cores).
	Gateways map[string]payment.Gateway

	stopSweepers context.CancelFunc
	sweepers     sync.WaitGroup

	backend store.Store // the unprefixed backend, closed last
}

// NewMain returns a Main with the default configuration.
func NewMain() *Main {
	return &Main{Base: app.NewBase(os.Stderr), Config: DefaultConfig(), LookupEnv: os.LookupEnv}
}

// ParseFlags loads the configuration: defaults < -config file < SHOPEDGE_*
// variables < flags, then validates it and reads the gateways' secret keys
// from the variables the configuration names.
func (m *Main) ParseFlags(_ context.Context, args []string) error {
	if err := config.Load(&m.Config, args, config.Options{Name: "core", Usage: m.Stderr}); err != nil {
		return err
	}
	keys, err := m.Config.Payment.Keys(m.LookupEnv)
	if err != nil {
		return err
	}
	m.payKeys = keys
	return nil
}

// Run opens the store, starts the services and serves HTTP; it returns once
// the server is listening. Close stops everything Run started, even after a
// failed Run.
func (m *Main) Run(ctx context.Context) error {
	m.Log = m.Config.Log.New(m.Stderr, "core")
	m.Log.Info().Str("addr", m.Config.Server.Addr).Str("store", m.Config.Store.Backend).Msg("starting")
	if m.Config.GCPercent != -1 {
		debug.SetGCPercent(m.Config.GCPercent)
	}
	if err := logging.Step(m.Log, "open store", func() error { return m.openStore(ctx) }); err != nil {
		return err
	}
	if err := logging.Step(m.Log, "start services", func() error { return m.startServices(ctx) }); err != nil {
		return err
	}
	err := m.StartServer(m.Config.Server, app.Handlers{
		Routes: m.routes,
		// /metrics and /debug/pprof/: the internal token (what a
		// scraper beside the edges holds) or the admin token.
		OpsTokens: []string{m.Config.InternalToken, m.Config.AdminToken},
		OpsOpen:   m.Config.InternalOpen && m.Config.InternalToken == "",
		Ops:       m.Config.Ops,
	})
	if err != nil {
		return err
	}
	// Other cores reach this one at its listening address: join once it
	// listens. The embedded store has one core (its file is locked), so
	// there is no one to join.
	if m.Config.Store.Backend == "tikv" {
		m.Cluster.Start(m.Addr())
	}
	return nil
}

// cartSKUs reads the SKUs of cart id (for the cluster's routing of hot
// SKUs).
func (m *Main) cartSKUs(ctx context.Context, id string) ([]string, error) {
	var skus []string
	err := m.Store.View(ctx, func(tx store.Txn) error {
		r, err := cart.LoadTx(tx, id, m.Carts.Now())
		if err != nil {
			return err
		}
		skus = skus[:0]
		for _, l := range r.Lines {
			skus = append(skus, l.SKU)
		}
		return nil
	})
	return skus, err
}

// openStore opens the configured backend and wraps it in the key prefix.
func (m *Main) openStore(ctx context.Context) error {
	sc := m.Config.Store
	switch {
	case m.Backend != nil:
		m.backend = m.Backend
	case sc.Backend == "embedded":
		if err := os.MkdirAll(filepath.Dir(sc.Path), 0o755); err != nil {
			return fmt.Errorf("cannot create the store directory: %w", err)
		}
		db, err := embedded.Open(sc.Path, embedded.Options{
			NoSync:        sc.NoSync,
			MaxBatchSize:  sc.MaxBatchSize,
			MaxBatchDelay: sc.MaxBatchDelay,
			Timeout:       sc.LockTimeout,
		})
		if err != nil {
			return fmt.Errorf("cannot open the embedded store %s: %w", sc.Path, err)
		}
		m.backend = db
	case sc.Backend == "tikv":
		s, err := openTiKV(ctx, sc)
		if err != nil {
			return err
		}
		m.backend = s
	default:
		return fmt.Errorf("store.backend: unknown backend %q", sc.Backend)
	}
	if r, ok := m.backend.(interface{ RegisterMetrics(*metrics.Set) }); ok {
		r.RegisterMetrics(m.Metrics) // served on /metrics with the core's own
	}
	m.Store = store.Prefixed(m.backend, []byte(sc.Prefix))
	return nil
}

// startServices constructs the domain services on m.Store.
func (m *Main) startServices(ctx context.Context) error {
	c := m.Config
	m.Changelog = changelog.New(m.Store, c.Changelog)
	m.Catalog = catalog.New(m.Store, m.Changelog, c.Catalog)
	pay, err := routing.NewWithGateways(c.Payment, m.payKeys, m.Metrics, nil, m.Gateways)
	if err != nil {
		return fmt.Errorf("cannot start the payment gateways: %w", err)
	}
	m.Payments = pay
	cartCfg := c.Cart
	cartCfg.DigestKey = c.CartDigestKey
	if m.Carts, err = cart.New(m.Store, m.Catalog, cartCfg, m.Log.With().Str("svc", "cart").Logger()); err != nil {
		return fmt.Errorf("cannot start carts: %w", err)
	}
	m.Checkout, err = checkout.New(m.Store, m.Catalog, pay, c.Checkout, m.Log.With().Str("svc", "checkout").Logger(), m.Metrics)
	if err != nil {
		return fmt.Errorf("cannot start checkout: %w", err)
	}
	m.AdminAPI = httpapi.New(m.Catalog, m.Changelog, c.apiConfig(), m.Log.With().Str("svc", "admin").Logger())
	if m.ShopAPI, err = shopapi.New(m.Carts, m.Checkout, c.Shop, m.Log.With().Str("svc", "shop").Logger()); err != nil {
		return err
	}
	// A handed-over checkout may take the owner its longest checkout.
	if m.Cluster, err = cluster.New(m.Store, c.Cluster, m.Log.With().Str("svc", "cluster").Logger(), m.Metrics, m.cartSKUs, c.LongestCheckout()+5*time.Second); err != nil {
		return fmt.Errorf("cannot start cluster membership: %w", err)
	}
	m.ShopAPI.SetCheckoutRouter(m.Cluster)
	if m.CDN, err = httpapi.NewPurger(m.Store, m.Changelog, c.API.CDN, m.Log.With().Str("svc", "cdn").Logger(), m.Metrics); err != nil {
		return fmt.Errorf("cannot start the CDN purger: %w", err)
	}
	m.CDN.WaitForEdges(m.AdminAPI.Followers())
	m.CDN.Start()

	// Sweepers and the payment reconciler are safe to run on every core
	// process at once.
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.stopSweepers = cancel
	for _, run := range []func(context.Context){m.Carts.RunSweeper, m.Checkout.RunSweeper, m.Checkout.RunReconciler} {
		m.sweepers.Add(1)
		go func() { defer m.sweepers.Done(); run(sctx) }()
	}
	return nil
}

// stopServices stops the background work startServices began, in reverse
// order. It runs after the HTTP server has drained.
func (m *Main) stopServices() error {
	if m.stopSweepers != nil {
		m.stopSweepers()
		m.sweepers.Wait()
	}
	if m.Checkout != nil {
		m.Checkout.Close() // drains the group-commit pipeline
	}
	if m.CDN != nil {
		m.CDN.Close() // pending purges stay in the store for the next start
	}
	if m.Payments != nil {
		m.Payments.Close()
	}
	return nil
}

// routes registers every HTTP handler of the core on r. /healthz, /readyz
// and /metrics are already registered.
func (m *Main) routes(r *router.Router) {
	m.AdminAPI.Register(r) // /admin/v1/..., /internal/v1/...
	m.ShopAPI.Register(r)  // /v1/carts, /v1/checkout, /v1/orders
	// /admin/v1/payments/unresolved, /admin/v1/refunds
	m.AdminAPI.RegisterPayments(r, m.Checkout)
	openapi.Register(r, openapi.Core) // GET /openapi.json: every operation the core serves
}

// Close stops in reverse order of Run: drain HTTP, stop services, close
// the store. It is safe after a failed or partial Run.
func (m *Main) Close() error {
	if m.Cluster != nil {
		// Leave first: the other cores stop handing checkouts to this one.
		m.Cluster.Close()
	}
	errs := []error{m.StopServer(), logging.Step(m.Log, "stop services", m.stopServices)}
	if m.backend != nil {
		errs = append(errs, logging.Step(m.Log, "close store", func() error {
			if err := m.backend.Close(); err != nil {
				return fmt.Errorf("cannot close the store: %w", err)
			}
			return nil
		}))
		m.backend = nil
	}
	return errors.Join(errs...)
}

// openTiKV opens the TiKV backend on sc.PDEndpoints, giving up after
// sc.ConnectTimeout or when ctx ends (client-go's own PD wait is far
// longer). A connection that completes after giving up is closed.
func openTiKV(ctx context.Context, sc StoreConfig) (store.Store, error) {
	ctx, cancel := context.WithTimeout(ctx, sc.ConnectTimeout)
	defer cancel()
	type result struct {
		s   *tikv.Store
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := tikv.Open(ctx, sc.PDEndpoints, sc.TiKVOptions())
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("cannot open the tikv store at %v: %w", sc.PDEndpoints, r.err)
		}
		return r.s, nil
	case <-ctx.Done():
		go func() {
			if r := <-done; r.err == nil {
				_ = r.s.Close()
			}
		}()
		return nil, fmt.Errorf("cannot open the tikv store at %v: %w", sc.PDEndpoints, ctx.Err())
	}
}
