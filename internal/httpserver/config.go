package httpserver

import (
	"net"
	"time"

	"shopedge/internal/config"
)

// Config hardens one fasthttp server. fasthttp's own defaults are unlimited
// timeouts and concurrency; every field here has a finite default.
type Config struct {
	// Addr is the TCP listen address, e.g. "127.0.0.1:8080".
	Addr string `yaml:"addr" help:"TCP listen address"`
	// Name labels metrics and logs ("core", "edge").
	Name string `yaml:"name" help:"server name used in metric labels and logs"`
	// ReadTimeout bounds reading one request (headers and body).
	ReadTimeout time.Duration `yaml:"read_timeout" help:"maximum time to read a request"`
	// WriteTimeout bounds writing one response.
	WriteTimeout time.Duration `yaml:"write_timeout" help:"maximum time to write a response"`
	// IdleTimeout closes keep-alive connections idle for longer.
	IdleTimeout time.Duration `yaml:"idle_timeout" help:"keep-alive connections idle longer are closed"`
	// MaxRequestBodySize rejects larger bodies with 413.
	MaxRequestBodySize config.ByteSize `yaml:"max_request_body_size" help:"larger request bodies get 413"`
	// ReadBufferSize is the per-connection read buffer; request headers that
	// do not fit get 431.
	ReadBufferSize config.ByteSize `yaml:"read_buffer_size" help:"per-connection read buffer; larger request headers get 431"`
	// Concurrency is the maximum number of connections served at once.
	Concurrency int `yaml:"concurrency" help:"maximum number of concurrently served connections"`
	// MaxConnsPerIP limits connections from one client IP (0 = unlimited).
	MaxConnsPerIP int `yaml:"max_conns_per_ip" help:"maximum connections from one IP (0 = unlimited)"`
	// ShutdownTimeout bounds draining in-flight requests on shutdown.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" help:"maximum time to drain in-flight requests on shutdown"`
	// DrainDelay is how long a stopping server keeps accepting and serving
	// with /readyz answering 503 (and every response closing its
	// connection) before it stops accepting, so that a load balancer
	// probing /readyz moves traffic away first. 0 stops accepting at once.
	DrainDelay time.Duration `yaml:"drain_delay" help:"on shutdown, keep serving this long with /readyz 503 before closing the listener"`
	// SlowRequestThreshold logs requests slower than this (0 = never).
	SlowRequestThreshold time.Duration `yaml:"slow_request_threshold" help:"requests slower than this are logged (0 = never)"`
}

// DefaultConfig returns safe limits for a public-facing server on
// 127.0.0.1:8080. Callers set Addr and Name for their tier.
func DefaultConfig() Config {
	return Config{
		Addr:                 "127.0.0.1:8080",
		Name:                 "http",
		ReadTimeout:          10 * time.Second,
		WriteTimeout:         10 * time.Second,
		IdleTimeout:          60 * time.Second,
		MaxRequestBodySize:   1 << 20,
		ReadBufferSize:       8 << 10,
		Concurrency:          10000,
		MaxConnsPerIP:        0,
		ShutdownTimeout:      15 * time.Second,
		SlowRequestThreshold: time.Second,
	}
}

// Validate reports the first invalid field (config.Error, its path
// relative to the section).
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return config.Invalid("addr", "invalid address %q: %w", c.Addr, err)
	}
	if c.Name == "" {
		return config.Invalid("name", "must not be empty")
	}
	positive := []struct {
		name string
		d    time.Duration
	}{
		{"read_timeout", c.ReadTimeout},
		{"write_timeout", c.WriteTimeout},
		{"idle_timeout", c.IdleTimeout},
		{"shutdown_timeout", c.ShutdownTimeout},
	}
	for _, p := range positive {
		if p.d <= 0 {
			return config.Invalid(p.name, "must be positive, got %s", p.d)
		}
	}
	if c.DrainDelay < 0 || c.DrainDelay > time.Minute {
		return config.Invalid("drain_delay", "must be within [0, 1m], got %s", c.DrainDelay)
	}
	if c.SlowRequestThreshold < 0 {
		return config.Invalid("slow_request_threshold", "must not be negative, got %s", c.SlowRequestThreshold)
	}
	if c.MaxRequestBodySize <= 0 || c.MaxRequestBodySize > 1<<30 {
		return config.Invalid("max_request_body_size", "must be in 1B..1GB, got %s", c.MaxRequestBodySize)
	}
	if c.ReadBufferSize < 1<<10 || c.ReadBufferSize > 1<<20 {
		return config.Invalid("read_buffer_size", "must be in 1KB..1MB, got %s", c.ReadBufferSize)
	}
	if c.Concurrency <= 0 {
		return config.Invalid("concurrency", "must be positive, got %d", c.Concurrency)
	}
	if c.MaxConnsPerIP < 0 {
		return config.Invalid("max_conns_per_ip", "must not be negative, got %d", c.MaxConnsPerIP)
	}
	return nil
}
