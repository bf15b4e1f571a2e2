package httpapi

import (
	"fmt"
	"net"
	"net/url"
	"time"

	"shopedge/internal/config"
)

// Config configures the core's admin and internal feed routes.
type Config struct {
	// AdminToken is the bearer token every /admin/ route requires
	// (the process's top-level admin_token, from SHOPEDGE_ADMIN_TOKEN).
	// Required; not read from the api section of a config file.
	AdminToken string `yaml:"-"`
	// InternalToken is the bearer token the /internal/ feed routes (and
	// the core's /metrics) require: the process's top-level
	// internal_token (SHOPEDGE_INTERNAL_TOKEN), which the edges send.
	// Required unless InternalOpen; not read from the api section.
	InternalToken string `yaml:"-"`
	// InternalOpen serves the /internal/ routes without a token: only for
	// a core reachable from a private network alone (top-level
	// internal_open).
	InternalOpen bool `yaml:"-"`
	// CheckoutMax is the longest a checkout or cancel can take on this
	// core; the feed answers announce it to the edges in
	// api.HeaderCheckoutMax (set by the wiring, not configured here).
	CheckoutMax time.Duration `yaml:"-"`
	// MaxBodyBytes bounds an admin JSON body (413 beyond).
	MaxBodyBytes int `yaml:"max_body_bytes"`
	// MaxImportBytes bounds an import body, after gzip decoding (413 beyond).
	MaxImportBytes int64 `yaml:"max_import_bytes"`
	// ChangesWait is the long-poll wait of /internal/v1/changes when the
	// request names none, and the most a request may ask for.
	ChangesWait time.Duration `yaml:"changes_wait"`
	// SnapshotWriteTimeout bounds streaming one snapshot to an edge. It
	// replaces the server's write_timeout on that route only: a snapshot of
	// a large catalog takes far longer to send than any other answer.
	SnapshotWriteTimeout time.Duration `yaml:"snapshot_write_timeout"`
	// CDN configures purges sent to HTTP caches in front of the edges.
	CDN CDNConfig `yaml:"cdn"`
}

// CDNConfig configures purges at HTTP caches in front of the edges: Varnish
// with the xkey vmod (configs/varnish.vcl) or alike. A Purger follows the
// change log and sends every catalog change and purge to each cache as
// PURGE with an "xkey" header listing surrogate keys, or with
// "X-Shopedge-Purge-All: 1", until the cache answers 2xx.
type CDNConfig struct {
	// PurgeURLs are the caches' purge endpoints, e.g. http://varnish:6081/.
	// Empty disables CDN purges.
	PurgeURLs []string `yaml:"purge_urls"`
	// Timeout bounds one PURGE request.
	Timeout time.Duration `yaml:"timeout"`
	// SourceAddr, when set, is the local IP address purges are sent from,
	// the one the cache's purge ACL allows. Empty lets the OS choose.
	SourceAddr string `yaml:"source_addr"`
	// EdgeWait bounds how long a purge waits, before it is sent, for the
	// edges following this core to apply the change (they say so by
	// asking the feed for what follows it), so that the cache does not
	// fetch the old page again from an edge still behind. 0 sends at once.
	EdgeWait time.Duration `yaml:"edge_wait"`
	// Settle is when each purge is sent a second time after its first was
	// acknowledged: a request that reached the cache before an edge had
	// applied the change may have cached the old page again, and the
	// second purge drops it. It must exceed how long edges take to apply
	// a change (a few ms on one core; changelog.poll_interval plus that
	// for edges following another core). 0 sends each purge once.
	Settle time.Duration `yaml:"settle"`
	// MaxAge bounds how long a purge is retried: one pending longer is
	// given up (and counted as dropped). Keep it at least the edge's
	// s_maxage plus stale_while_revalidate: by then every page it would
	// have dropped has expired anyway.
	MaxAge time.Duration `yaml:"max_age"`
	// BackoffMin and BackoffMax bound the wait between retries, doubling
	// from the first to the second.
	BackoffMin time.Duration `yaml:"backoff_min"`
	BackoffMax time.Duration `yaml:"backoff_max"`
	// Batch is how many change-log events one purge covers at most. A
	// cache that stays unreachable while more than a batch waits gets one
	// purge-all instead of the backlog.
	Batch int `yaml:"batch"`
	// Lease is how long one core owns a cache's purges without renewing
	// its claim in the store; another core takes over after it. Several
	// cores may run on one store: one of them purges each cache.
	Lease time.Duration `yaml:"lease"`
}

// DefaultConfig returns the defaults (AdminToken must still be set).
func DefaultConfig() Config {
	return Config{
		MaxBodyBytes:         1 << 20,
		MaxImportBytes:       1 << 30,
		ChangesWait:          30 * time.Second,
		SnapshotWriteTimeout: 10 * time.Minute,
		CDN: CDNConfig{
			Timeout:    2 * time.Second,
			EdgeWait:   100 * time.Millisecond,
			Settle:     250 * time.Millisecond,
			MaxAge:     6 * time.Minute,
			BackoffMin: 100 * time.Millisecond,
			BackoffMax: 5 * time.Second,
			Batch:      1000,
			Lease:      10 * time.Second,
		},
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.MaxBodyBytes < 1024:
		return config.Invalid("max_body_bytes", "must be >= 1024, got %d", c.MaxBodyBytes)
	case c.MaxImportBytes < 1024:
		return config.Invalid("max_import_bytes", "must be >= 1024, got %d", c.MaxImportBytes)
	case c.ChangesWait <= 0:
		return config.Invalid("changes_wait", "must be > 0, got %s", c.ChangesWait)
	case c.SnapshotWriteTimeout <= 0:
		return config.Invalid("snapshot_write_timeout", "must be > 0, got %s", c.SnapshotWriteTimeout)
	}
	return nil
}

// Validate reports the first invalid CDN field.
func (c CDNConfig) Validate() error {
	switch {
	case c.Timeout <= 0:
		return config.Invalid("timeout", "must be > 0, got %s", c.Timeout)
	case c.EdgeWait < 0:
		return config.Invalid("edge_wait", "must be >= 0, got %s", c.EdgeWait)
	case c.Settle < 0:
		return config.Invalid("settle", "must be >= 0, got %s", c.Settle)
	case c.MaxAge <= c.Settle:
		return config.Invalid("max_age", "must exceed settle (%s), got %s", c.Settle, c.MaxAge)
	case c.BackoffMin <= 0:
		return config.Invalid("backoff_min", "must be > 0, got %s", c.BackoffMin)
	case c.BackoffMax < c.BackoffMin:
		return config.Invalid("backoff_max", "must be >= backoff_min (%s), got %s", c.BackoffMin, c.BackoffMax)
	case c.Batch < 1:
		return config.Invalid("batch", "must be >= 1, got %d", c.Batch)
	case c.Lease < time.Second:
		return config.Invalid("lease", "must be >= 1s, got %s", c.Lease)
	}
	if c.SourceAddr != "" && net.ParseIP(c.SourceAddr) == nil {
		return config.Invalid("source_addr", "%q is not an IP address", c.SourceAddr)
	}
	seen := make(map[string]bool, len(c.PurgeURLs))
	for i, u := range c.PurgeURLs {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return config.Invalid(fmt.Sprintf("purge_urls[%d]", i), "%q is not an http(s) URL", u)
		}
		if seen[u] {
			return config.Invalid(fmt.Sprintf("purge_urls[%d]", i), "%q is listed twice", u)
		}
		seen[u] = true
	}
	return nil
}
