package main

import (
	"fmt"
	"net"

	"shopedge/core/api"
	"shopedge/edge/coreclient"
	"shopedge/edge/follow"
	"shopedge/edge/forward"
	"shopedge/edge/httpapi"
	"shopedge/edge/pages"
	"shopedge/edge/search"
	"shopedge/edge/storefront"
	"shopedge/edge/suggest"
	"shopedge/internal/app"
	"shopedge/internal/config"
	"shopedge/internal/httpserver"
	"shopedge/internal/logging"
)

// Config is the edge process's whole configuration. configs/edge.yaml
// lists every field with its default; a test keeps the two equal.
type Config struct {
	// Server is the public HTTP server.
	Server httpserver.Config `yaml:"server"`
	// Core says where the core tier is.
	Core CoreConfig `yaml:"core"`
	// AdminToken is the Bearer token of POST /admin/v1/purge
	// (env SHOPEDGE_ADMIN_TOKEN). Required.
	AdminToken string `yaml:"admin_token" help:"Bearer token of the admin API (required)"`
	// InternalToken is the core's internal token, sent with every feed
	// request (env SHOPEDGE_INTERNAL_TOKEN). Needed unless the core runs
	// with internal_open.
	InternalToken string `yaml:"internal_token" help:"the core's internal token, sent to read its feed"`
	// CartDigestKey is the cores' cart_digest_key (env
	// SHOPEDGE_CART_DIGEST_KEY): with it the edge verifies the cart digest
	// a client sends with a checkout and answers one that a sold-out SKU
	// makes impossible itself. Empty: every checkout is forwarded (cart
	// adds of a sold-out SKU are answered either way).
	CartDigestKey string `yaml:"cart_digest_key" help:"the cores' cart digest key (empty: forward every checkout)"`
	// CartDigestKeyPrevious is also accepted while the cores move to a
	// new cart_digest_key.
	CartDigestKeyPrevious string `yaml:"cart_digest_key_previous" help:"the previous cart digest key, accepted during a rotation"`
	// Ops is the operations listener (/metrics, /debug/pprof/, /healthz,
	// /readyz without a token). Without it, /metrics and /debug/pprof/
	// need the admin token.
	Ops app.OpsConfig `yaml:"ops"`
	// MemoryLimit is a soft limit on the process's memory, in bytes (0:
	// none). The page, suggest and search caches live outside the Go heap, so the
	// Go runtime's limit is this minus their budgets: the collector then
	// works harder instead of letting the heap grow past it. It must leave
	// room for the catalog's indexes (~0.66 KB per product with search).
	MemoryLimit config.ByteSize `yaml:"memory_limit" help:"soft memory limit in bytes for the whole edge (0: none)"`
	// Log is the process logger.
	Log logging.Config `yaml:"log"`

	// Client tunes the connection to the core's internal feed.
	Client coreclient.ClientConfig `yaml:"client"`
	// Pages sizes and tunes the rendered product pages (fastcache).
	Pages pages.Config `yaml:"pages"`
	// Follow tunes how the change feed is followed.
	Follow follow.Config `yaml:"follow"`
	// Forward tunes forwarding of cart, checkout and order requests.
	Forward forward.Config `yaml:"forward"`
	// Suggest tunes the autocomplete index and its answer cache.
	Suggest suggest.Config `yaml:"suggest"`
	// Search tunes search and browse (/v1/search, /v1/categories).
	Search search.Config `yaml:"search"`
	// API sets the public read routes' caching headers and limits.
	API httpapi.Config `yaml:"api"`
	// Storefront tunes the HTML pages a shopper browses.
	Storefront storefront.Config `yaml:"storefront"`
}

// CoreConfig locates the core tier.
type CoreConfig struct {
	// Addrs are the core addresses (host:port): the change feed is read
	// from them and writes are forwarded to them.
	Addrs []string `yaml:"addrs" help:"core addresses host:port, comma-separated"`
}

// DefaultConfig returns the configuration of a local edge on
// 127.0.0.1:8080 following the core on 127.0.0.1:9090. AdminToken has no
// default.
func DefaultConfig() Config {
	srv := httpserver.DefaultConfig()
	srv.Addr = "127.0.0.1:8080"
	srv.Name = "edge"
	srv.MaxRequestBodySize = 64 << 10
	return Config{
		Server:  srv,
		Core:    CoreConfig{Addrs: []string{"127.0.0.1:9090"}},
		Log:     logging.DefaultConfig(),
		Client:  clientDefaults(),
		Pages:   pages.DefaultConfig(),
		Follow:  follow.DefaultConfig(),
		Forward: forwardDefaults(),
		Suggest: suggest.DefaultConfig(),
		Search:  search.DefaultConfig(),
		API:     httpapi.DefaultConfig(),

		Storefront: storefront.DefaultConfig(),
	}
}

// Wire copies the settings the client, forward and api sections take from
// the top level into them (see wired), so that config.Validate validates
// each section as the edge uses it.
func (c *Config) Wire() { c.Client, c.Forward, c.API = c.wired() }

// Validate reports the first invalid top-level setting; config.Validate
// (which Load calls) validates the sections after it, naming each setting
// by its path.
func (c *Config) Validate() error {
	if len(c.Core.Addrs) == 0 {
		return config.Invalid("core.addrs", "at least one core address is required")
	}
	seen := make(map[string]bool, len(c.Core.Addrs))
	for i, a := range c.Core.Addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return config.Invalid(fmt.Sprintf("core.addrs[%d]", i), "invalid address %q: %w", a, err)
		}
		if seen[a] {
			return config.Invalid(fmt.Sprintf("core.addrs[%d]", i), "duplicate address %q", a)
		}
		seen[a] = true
	}
	switch {
	case c.AdminToken == "":
		return config.Invalid("admin_token", "required (set SHOPEDGE_ADMIN_TOKEN or -admin-token)")
	case len(c.AdminToken) < 8:
		return config.Invalid("admin_token", "must be at least 8 bytes")
	case c.CartDigestKey != "" && len(c.CartDigestKey) < api.MinCartDigestKeyLen:
		return config.Invalid("cart_digest_key", "must be at least %d bytes", api.MinCartDigestKeyLen)
	case c.CartDigestKeyPrevious != "" && len(c.CartDigestKeyPrevious) < api.MinCartDigestKeyLen:
		return config.Invalid("cart_digest_key_previous", "must be at least %d bytes", api.MinCartDigestKeyLen)
	case c.MemoryLimit != 0 && c.heapLimit() < 64<<20:
		return config.Invalid("memory_limit", "%d leaves under 64 MiB for the Go heap after pages.cache_bytes, suggest.cache_bytes and search.cache_bytes", c.MemoryLimit)
	}
	return nil
}

// wired returns the sections that take settings from the top level: the
// core addresses and the tokens.
func (c *Config) wired() (coreclient.ClientConfig, forward.Config, httpapi.Config) {
	cl, fw, ap := c.Client, c.Forward, c.API
	cl.Addrs, fw.Addrs, ap.AdminToken = c.Core.Addrs, c.Core.Addrs, c.AdminToken
	cl.Token = c.InternalToken
	fw.DigestKeys = nil
	for _, k := range []string{c.CartDigestKey, c.CartDigestKeyPrevious} {
		if k != "" {
			fw.DigestKeys = append(fw.DigestKeys, k)
		}
	}
	return cl, fw, ap
}

// clientDefaults and forwardDefaults leave Addrs empty: both take core.addrs.
func clientDefaults() coreclient.ClientConfig {
	c := coreclient.DefaultClientConfig()
	c.Addrs = nil
	return c
}

func forwardDefaults() forward.Config {
	c := forward.DefaultConfig()
	c.Addrs = nil
	return c
}

// heapLimit is the Go heap's share of MemoryLimit: what the off-heap caches
// leave of it.
func (c *Config) heapLimit() int64 {
	return int64(c.MemoryLimit) - int64(c.Pages.CacheBytes) - int64(c.Suggest.CacheBytes) - int64(c.Search.CacheBytes)
}
