package main

import (
	"time"

	"shopedge/core/api"
	"shopedge/core/cart"
	"shopedge/core/catalog"
	"shopedge/core/changelog"
	"shopedge/core/checkout"
	"shopedge/core/cluster"
	"shopedge/core/httpapi"
	"shopedge/core/payment/routing"
	"shopedge/core/shopapi"
	"shopedge/internal/app"
	"shopedge/internal/config"
	"shopedge/internal/httpserver"
	"shopedge/internal/logging"
	"shopedge/store/tikv"
)

// Config is the core process's whole configuration. configs/core.yaml
// lists every field with its default; a test keeps the two equal.
type Config struct {
	// Server is the HTTP server (admin, feed and write API).
	Server httpserver.Config `yaml:"server"`
	// Store selects and tunes the transactional KV store.
	Store StoreConfig `yaml:"store"`
	// AdminToken is the Bearer token of the admin API
	// (env SHOPEDGE_ADMIN_TOKEN). Required.
	AdminToken string `yaml:"admin_token" help:"Bearer token of the admin API (required)"`
	// InternalToken is the Bearer token of the internal feed (/internal/)
	// and of /metrics and /debug/pprof/ (env SHOPEDGE_INTERNAL_TOKEN); the
	// edges send it. Required unless InternalOpen. /metrics also opens
	// with the admin token.
	InternalToken string `yaml:"internal_token" help:"Bearer token of the internal feed and /metrics (required unless internal_open)"`
	// InternalOpen serves the internal feed, /metrics and /debug/pprof/
	// without a token: only for a core that a private network alone can
	// reach.
	InternalOpen bool `yaml:"internal_open" help:"serve the internal feed and /metrics without a token (private networks only)"`
	// CartDigestKey signs the digest returned with every cart answer
	// (env SHOPEDGE_CART_DIGEST_KEY, at least 16 bytes); the edges verify
	// it with the same key to answer a checkout that a sold-out SKU makes
	// impossible without a core. Empty: no digests.
	CartDigestKey string `yaml:"cart_digest_key" help:"key signing cart digests, shared with the edges (empty: none)"`
	// Ops is the operations listener (/metrics, /debug/pprof/, /healthz,
	// /readyz without a token).
	Ops app.OpsConfig `yaml:"ops"`
	// Log is the process logger.
	Log logging.Config `yaml:"log"`
	// GCPercent is the Go garbage collector's target (GOGC). The core's
	// live heap is small (the embedded store is memory-mapped, off the
	// heap), so a higher target trades a little memory for less collection
	// work per checkout. -1 leaves the runtime's setting (and GOGC) alone.
	GCPercent int `yaml:"gc_percent" help:"garbage collector target percentage (GOGC); -1 keeps the runtime's"`

	// Catalog tunes products, stock bands and imports.
	Catalog catalog.Config `yaml:"catalog"`
	// Changelog tunes the change feed the edges follow.
	Changelog changelog.Config `yaml:"changelog"`
	// Cart tunes carts (limits, expiry, sweeper).
	Cart cart.Config `yaml:"cart"`
	// Checkout tunes the checkout pipeline (group commit, reservations,
	// idempotency, sweeper).
	Checkout checkout.Config `yaml:"checkout"`
	// Payment configures the payment gateways and the rules that route
	// payments to them (secret keys come from environment variables).
	Payment routing.Config `yaml:"payment"`
	// API configures the admin and internal feed routes (the admin token
	// is the top-level admin_token).
	API httpapi.Config `yaml:"api"`
	// Shop configures the public cart, checkout and order routes.
	Shop shopapi.Config `yaml:"shop"`
	// Cluster configures membership among the cores of one store and the
	// routing of hot SKUs' checkouts to one core each.
	Cluster cluster.Config `yaml:"cluster"`
}

// StoreConfig selects the store backend.
type StoreConfig struct {
	// Backend is "embedded" (bbolt file, one machine) or "tikv".
	Backend string `yaml:"backend" help:"store backend: embedded or tikv"`
	// Prefix is prepended to every key, so one TiKV cluster can host
	// several deployments.
	Prefix string `yaml:"prefix" help:"key prefix of this deployment"`

	// Path is the bbolt file (embedded); its directory is created.
	Path string `yaml:"path" help:"embedded: bbolt file path"`
	// NoSync skips fsync on commit (embedded; tests and demos only).
	NoSync bool `yaml:"no_sync" help:"embedded: skip fsync on commit (may lose acknowledged writes on a crash)"`
	// MaxBatchSize caps the Update calls sharing one bbolt transaction.
	MaxBatchSize int `yaml:"max_batch_size" help:"embedded: maximum updates per group commit"`
	// MaxBatchDelay is how long a partial batch waits for more updates.
	MaxBatchDelay time.Duration `yaml:"max_batch_delay" help:"embedded: wait for a partial group commit (0 = none)"`
	// LockTimeout bounds the wait for a file lock held by another process.
	LockTimeout time.Duration `yaml:"lock_timeout" help:"embedded: wait for the file lock"`

	// PDEndpoints are the TiKV placement driver addresses (tikv).
	PDEndpoints []string `yaml:"pd_endpoints" help:"tikv: PD endpoints, comma-separated"`
	// ConnectTimeout bounds connecting to PD at start-up (tikv).
	ConnectTimeout time.Duration `yaml:"connect_timeout" help:"tikv: maximum wait for PD at start-up"`
	// Pessimistic uses pessimistic transactions (tikv).
	Pessimistic bool `yaml:"pessimistic" help:"tikv: use pessimistic transactions"`
	// MaxRetries bounds conflict retries of one Update (tikv).
	MaxRetries int `yaml:"max_retries" help:"tikv: conflict retries per update"`
	// LockWaitTimeout bounds a pessimistic lock wait (tikv).
	LockWaitTimeout time.Duration `yaml:"lock_wait_timeout" help:"tikv: maximum wait for a pessimistic lock"`
	// LocalLatches is the number of client-go local latch slots (tikv, 0
	// turns them off): this core's optimistic transactions on the same
	// keys are ordered in memory before they reach TiKV.
	LocalLatches uint `yaml:"local_latches" help:"tikv: local latch slots (0 = off)"`
	// AsyncCommit commits small transactions with TiKV's async commit
	// (tikv).
	AsyncCommit bool `yaml:"async_commit" help:"tikv: use async commit for small transactions"`
	// OnePC commits single-region transactions in one phase (tikv).
	OnePC bool `yaml:"one_pc" help:"tikv: use one-phase commit for single-region transactions"`
}

// TiKVOptions returns the tikv backend's options of c.
func (c StoreConfig) TiKVOptions() tikv.Options {
	return tikv.Options{
		MaxRetries:      c.MaxRetries,
		Pessimistic:     c.Pessimistic,
		LockWaitTimeout: c.LockWaitTimeout,
		LocalLatches:    c.LocalLatches,
		AsyncCommit:     c.AsyncCommit,
		OnePC:           c.OnePC,
	}
}

// DefaultConfig returns the configuration of a local core: 127.0.0.1:9090,
// embedded store under ./data. AdminToken has no default.
func DefaultConfig() Config {
	srv := httpserver.DefaultConfig()
	srv.Addr = "127.0.0.1:9090"
	srv.Name = "core"
	srv.MaxRequestBodySize = 64 << 20 // NDJSON catalog imports
	return Config{
		Server: srv,
		Store: StoreConfig{
			Backend:         "embedded",
			Prefix:          "shopedge/",
			Path:            "./data/core.db",
			MaxBatchSize:    1000,
			LockTimeout:     5 * time.Second,
			PDEndpoints:     []string{},
			ConnectTimeout:  30 * time.Second,
			MaxRetries:      30,
			LockWaitTimeout: 3 * time.Second,
			LocalLatches:    16384,
		},
		Log:       logging.DefaultConfig(),
		GCPercent: 400,
		Catalog:   catalog.DefaultConfig(),
		Changelog: changelog.DefaultConfig(),
		Cart:      cart.DefaultConfig(),
		Checkout:  checkout.DefaultConfig(),
		Payment:   routing.DefaultConfig(),
		API:       apiDefaults(),
		Shop:      shopapi.DefaultConfig(),
		Cluster:   cluster.DefaultConfig(),
	}
}

// apiDefaults is httpapi.DefaultConfig with an empty (not nil) CDN list, the
// form configs/core.yaml decodes to.
func apiDefaults() httpapi.Config {
	c := httpapi.DefaultConfig()
	c.CDN.PurgeURLs = []string{}
	return c
}

// Wire copies the settings the api section takes from the top level
// into it (see apiConfig), so that config.Validate validates the section
// as the core uses it.
func (c *Config) Wire() { c.API = c.apiConfig() }

// Validate reports the first invalid top-level setting; config.Validate
// (which Load calls) validates the sections after it, naming each setting
// by its path.
func (c *Config) Validate() error {
	switch {
	case c.AdminToken == "":
		return config.Invalid("admin_token", "required (set SHOPEDGE_ADMIN_TOKEN or -admin-token)")
	case len(c.AdminToken) < 8:
		return config.Invalid("admin_token", "must be at least 8 bytes")
	case c.InternalToken == "" && !c.InternalOpen:
		return config.Invalid("internal_token", "required: the edges send it to read the feed (set SHOPEDGE_INTERNAL_TOKEN; or internal_open: true for a core only a private network reaches)")
	case c.InternalToken != "" && len(c.InternalToken) < 16:
		return config.Invalid("internal_token", "must be at least 16 bytes")
	case c.CartDigestKey != "" && len(c.CartDigestKey) < api.MinCartDigestKeyLen:
		return config.Invalid("cart_digest_key", "must be at least %d bytes", api.MinCartDigestKeyLen)
	case c.GCPercent != -1 && (c.GCPercent < 50 || c.GCPercent > 10000):
		return config.Invalid("gc_percent", "must be -1 or within [50, 10000], got %d", c.GCPercent)
	}
	return nil
}

// apiConfig is the api section with the settings it takes from the top
// level: the tokens and the longest checkout it announces.
func (c *Config) apiConfig() httpapi.Config {
	a := c.API
	a.AdminToken, a.InternalToken, a.InternalOpen = c.AdminToken, c.InternalToken, c.InternalOpen
	a.CheckoutMax = c.LongestCheckout()
	return a
}

// checkoutStoreBudget is the share of a checkout's longest time given to
// its store transactions (reserve, finalize, their retries).
const checkoutStoreBudget = 5 * time.Second

// LongestCheckout is the longest a checkout can take on this core: for
// each gateway one checkout may try in turn (failover), a charge and a
// lookup of its outcome, each bounded by checkout.payment_timeout; plus
// checkoutStoreBudget. A cancel waits for its refund far less
// (checkout's cancel refund wait). The core announces it to the edges
// (api.HeaderCheckoutMax), whose checkout timeout must exceed it.
func (c *Config) LongestCheckout() time.Duration {
	return time.Duration(2*c.paymentAttempts())*c.Checkout.PaymentTimeout + checkoutStoreBudget
}

// paymentAttempts is how many gateways one checkout may try in turn: each
// configured gateway at most once.
func (c *Config) paymentAttempts() int { return max(len(c.Payment.Gateways), 1) }

// Validate reports the first invalid store field.
func (c StoreConfig) Validate() error {
	switch c.Backend {
	case "embedded":
		if c.Path == "" {
			return config.Invalid("path", "required for the embedded backend")
		}
	case "tikv":
		if len(c.PDEndpoints) == 0 {
			return config.Invalid("pd_endpoints", "at least one PD endpoint is required for the tikv backend")
		}
	default:
		return config.Invalid("backend", "unknown backend %q (want embedded or tikv)", c.Backend)
	}
	switch {
	case c.Prefix == "":
		return config.Invalid("prefix", "must not be empty")
	case c.MaxBatchSize < 1:
		return config.Invalid("max_batch_size", "must be positive, got %d", c.MaxBatchSize)
	case c.MaxBatchDelay < 0:
		return config.Invalid("max_batch_delay", "must not be negative, got %s", c.MaxBatchDelay)
	case c.LockTimeout < 0:
		return config.Invalid("lock_timeout", "must not be negative, got %s", c.LockTimeout)
	case c.MaxRetries < 0:
		return config.Invalid("max_retries", "must not be negative, got %d", c.MaxRetries)
	case c.ConnectTimeout <= 0:
		return config.Invalid("connect_timeout", "must be positive, got %s", c.ConnectTimeout)
	case c.LockWaitTimeout < 0:
		return config.Invalid("lock_wait_timeout", "must not be negative, got %s", c.LockWaitTimeout)
	case c.LocalLatches > 1<<22:
		return config.Invalid("local_latches", "must be at most %d slots (0 = off), got %d", 1<<22, c.LocalLatches)
	}
	return nil
}
