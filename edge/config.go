package main

import (
	"errors"
	"fmt"
	"net"

	"shopedge/internal/config"
	"shopedge/internal/httpserver"
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
	// Cache sizes the off-heap caches.
	Cache CacheConfig `yaml:"cache"`
	// Log is the process logger.
	Log config.Log `yaml:"log"`

	// Domain sections. PLACEHOLDERS: each is replaced by the owning
	// package's Config (pages.Config, follow.Config, forward.Config,
	// suggest.Config, httpapi.Config) when it is wired.
	Pages   struct{} `yaml:"pages"`
	Follow  struct{} `yaml:"follow"`
	Forward struct{} `yaml:"forward"`
	Suggest struct{} `yaml:"suggest"`
	API     struct{} `yaml:"api"`
}

// CoreConfig locates the core tier.
type CoreConfig struct {
	// Addrs are the core addresses (host:port): the change feed is read
	// from them and writes are forwarded to them.
	Addrs []string `yaml:"addrs" help:"core addresses host:port, comma-separated"`
}

// CacheConfig sizes the edge's caches.
type CacheConfig struct {
	// PagesBytes is the fastcache budget for rendered product pages.
	PagesBytes config.ByteSize `yaml:"pages_bytes" help:"off-heap budget for rendered product pages (fastcache)"`
	// SmallBytes is the freecache budget for small TTL entries (negative
	// lookups, rate limits).
	SmallBytes config.ByteSize `yaml:"small_bytes" help:"off-heap budget for small TTL entries (freecache)"`
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
		Server: srv,
		Core:   CoreConfig{Addrs: []string{"127.0.0.1:9090"}},
		Cache:  CacheConfig{PagesBytes: 512 << 20, SmallBytes: 32 << 20},
		Log:    config.DefaultLog(),
	}
}

// Validate reports the first invalid field by its path.
func (c *Config) Validate() error {
	if err := c.Server.Validate(); err != nil {
		return err
	}
	if len(c.Core.Addrs) == 0 {
		return errors.New("core.addrs: at least one core address is required")
	}
	for _, a := range c.Core.Addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("core.addrs: invalid address %q: %w", a, err)
		}
	}
	if c.AdminToken == "" {
		return errors.New("admin_token: required (set SHOPEDGE_ADMIN_TOKEN or -admin-token)")
	}
	if c.Cache.PagesBytes < 32<<20 {
		return fmt.Errorf("cache.pages_bytes: must be at least 32MB, got %s", c.Cache.PagesBytes)
	}
	if c.Cache.SmallBytes < 1<<20 {
		return fmt.Errorf("cache.small_bytes: must be at least 1MB, got %s", c.Cache.SmallBytes)
	}
	return c.Log.Validate()
}
