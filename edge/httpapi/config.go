package httpapi

import (
	"fmt"
	"time"

	"shopedge/internal/config"
)

// Config configures the edge's public read routes.
type Config struct {
	// Cache-Control directives of product responses.
	MaxAge               time.Duration `yaml:"max_age"`
	SMaxAge              time.Duration `yaml:"s_maxage"`
	StaleWhileRevalidate time.Duration `yaml:"stale_while_revalidate"`
	StaleIfError         time.Duration `yaml:"stale_if_error"`
	// NegativeTTL is how long an id or slug the core does not know is
	// answered 404 without asking the core again.
	NegativeTTL time.Duration `yaml:"negative_ttl"`
	// NegativeCacheBytes sizes the freecache holding those answers.
	NegativeCacheBytes int `yaml:"negative_cache_bytes"`
	// FetchTimeout bounds one fetch of a missing product from the core.
	FetchTimeout time.Duration `yaml:"fetch_timeout"`
	// RetryAfter is sent with 503 when a miss cannot reach the core.
	RetryAfter time.Duration `yaml:"retry_after"`
	// MaxQueryBytes rejects product requests with longer query strings.
	MaxQueryBytes int `yaml:"max_query_bytes"`
	// MaxPurgeBodyBytes bounds the body of POST /admin/v1/purge.
	MaxPurgeBodyBytes int `yaml:"max_purge_body_bytes"`
	// AdminToken is the Bearer token of the admin routes. The wiring sets
	// it from the edge's top-level admin_token (SHOPEDGE_ADMIN_TOKEN), so
	// it has no key of its own here. Empty disables them: every call gets
	// 401.
	AdminToken string `yaml:"-"`
}

// DefaultConfig returns browser max-age 60 s, CDN s-maxage 300 s,
// stale-while-revalidate 60 s, stale-if-error 1 day, 10 s negative
// caching in 16 MiB, 2 s fetches, Retry-After 5 s.
func DefaultConfig() Config {
	return Config{
		MaxAge:               time.Minute,
		SMaxAge:              5 * time.Minute,
		StaleWhileRevalidate: time.Minute,
		StaleIfError:         24 * time.Hour,
		NegativeTTL:          10 * time.Second,
		NegativeCacheBytes:   16 << 20,
		FetchTimeout:         2 * time.Second,
		RetryAfter:           5 * time.Second,
		MaxQueryBytes:        1024,
		MaxPurgeBodyBytes:    1 << 20,
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"max_age", c.MaxAge}, {"s_maxage", c.SMaxAge}, {"stale_while_revalidate", c.StaleWhileRevalidate}, {"stale_if_error", c.StaleIfError}} {
		if d.v < 0 {
			return config.Invalid(d.name, "must be >= 0, got %s", d.v)
		}
	}
	switch {
	case c.NegativeTTL < time.Second:
		return config.Invalid("negative_ttl", "must be >= 1s, got %s", c.NegativeTTL)
	case c.NegativeCacheBytes < 512<<10:
		return config.Invalid("negative_cache_bytes", "must be >= 512 KiB, got %d", c.NegativeCacheBytes)
	case c.FetchTimeout <= 0:
		return config.Invalid("fetch_timeout", "must be > 0, got %s", c.FetchTimeout)
	case c.RetryAfter < time.Second:
		return config.Invalid("retry_after", "must be >= 1s, got %s", c.RetryAfter)
	case c.MaxQueryBytes < 0:
		return config.Invalid("max_query_bytes", "must be >= 0, got %d", c.MaxQueryBytes)
	case c.MaxPurgeBodyBytes < 1024:
		return config.Invalid("max_purge_body_bytes", "must be >= 1024, got %d", c.MaxPurgeBodyBytes)
	}
	return nil
}

func (c Config) cacheControl() string {
	return fmt.Sprintf("public, max-age=%d, s-maxage=%d, stale-while-revalidate=%d, stale-if-error=%d",
		int(c.MaxAge.Seconds()), int(c.SMaxAge.Seconds()), int(c.StaleWhileRevalidate.Seconds()), int(c.StaleIfError.Seconds()))
}
