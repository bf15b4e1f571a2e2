package storefront

import (
	"compress/flate"
	"fmt"
	"shopedge/internal/config"
	"time"
)

// Config configures the storefront pages.
type Config struct {
	// Cache-Control directives of the storefront's HTML pages. Listing
	// pages change with prices, stock bands and counts that a CDN is not
	// always told about (the core purges product keys), so s-maxage is
	// shorter than the product pages'.
	MaxAge               time.Duration `yaml:"max_age"`
	SMaxAge              time.Duration `yaml:"s_maxage"`
	StaleWhileRevalidate time.Duration `yaml:"stale_while_revalidate"`
	StaleIfError         time.Duration `yaml:"stale_if_error"`
	// RefreshInterval is how often the home and category pages that the
	// change feed touched are rendered again (at most once each per
	// interval, whatever the feed's rate).
	RefreshInterval time.Duration `yaml:"refresh_interval"`
	// RendersPerRefresh bounds the pages rendered in one refresh; the
	// rest wait for the next one.
	RendersPerRefresh int `yaml:"renders_per_refresh"`
	// CategoryPages is how many category pages (the largest categories
	// first) are kept rendered; the others are rendered per request.
	CategoryPages int `yaml:"category_pages"`
	// TopCategories and PopularProducts size the home page.
	TopCategories   int `yaml:"top_categories"`
	PopularProducts int `yaml:"popular_products"`
	// GzipLevel is the compress/flate level of precomputed pages.
	GzipLevel int `yaml:"gzip_level"`
	// PaymentTokens are offered in the checkout page's payment select (the
	// testpay simulator's tokens by default). Empty shows a token field
	// instead, where a real deployment embeds its gateway's widget.
	PaymentTokens []string `yaml:"payment_tokens"`
}

// TestpayTokens are the payment tokens of the testpay simulator, in the
// order the checkout page offers them.
var TestpayTokens = []string{"tok_ok", "tok_decline", "tok_insufficient_funds", "tok_slow", "tok_error",
	"tok_lost_reply", "tok_timeout_after_charge", "tok_error_after_charge"}

// DefaultConfig returns browser max-age 30 s, CDN s-maxage 60 s,
// stale-while-revalidate 60 s, stale-if-error 1 day; refreshes every
// 250 ms of at most 64 pages; 512 category pages; 12 categories and 12
// products on the home page; gzip level 5; the testpay tokens.
func DefaultConfig() Config {
	return Config{
		MaxAge:               30 * time.Second,
		SMaxAge:              time.Minute,
		StaleWhileRevalidate: time.Minute,
		StaleIfError:         24 * time.Hour,
		RefreshInterval:      250 * time.Millisecond,
		RendersPerRefresh:    64,
		CategoryPages:        512,
		TopCategories:        12,
		PopularProducts:      12,
		GzipLevel:            5,
		PaymentTokens:        append([]string(nil), TestpayTokens...),
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
	case c.RefreshInterval < 10*time.Millisecond:
		return config.Invalid("refresh_interval", "must be >= 10ms, got %s", c.RefreshInterval)
	case c.RendersPerRefresh < 1:
		return config.Invalid("renders_per_refresh", "must be >= 1, got %d", c.RendersPerRefresh)
	case c.CategoryPages < 0 || c.CategoryPages > 100000:
		return config.Invalid("category_pages", "must be in 0..100000, got %d", c.CategoryPages)
	case c.TopCategories < 0 || c.TopCategories > 100:
		return config.Invalid("top_categories", "must be in 0..100, got %d", c.TopCategories)
	case c.PopularProducts < 0 || c.PopularProducts > 100:
		return config.Invalid("popular_products", "must be in 0..100, got %d", c.PopularProducts)
	case c.GzipLevel < flate.BestSpeed || c.GzipLevel > flate.BestCompression:
		return config.Invalid("gzip_level", "must be in 1..9, got %d", c.GzipLevel)
	}
	seen := make(map[string]bool, len(c.PaymentTokens))
	for _, t := range c.PaymentTokens {
		if seen[t] {
			return config.Invalid("payment_tokens", "%q is listed twice", t)
		}
		seen[t] = true
		if t == "" || len(t) > 128 {
			return config.Invalid("payment_tokens", "%q must be 1..128 bytes", t)
		}
	}
	return nil
}

func (c Config) cacheControl() string {
	return fmt.Sprintf("public, max-age=%d, s-maxage=%d, stale-while-revalidate=%d, stale-if-error=%d",
		int(c.MaxAge.Seconds()), int(c.SMaxAge.Seconds()), int(c.StaleWhileRevalidate.Seconds()), int(c.StaleIfError.Seconds()))
}
