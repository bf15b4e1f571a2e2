package httpapi

import (
	"errors"
	"fmt"
	"net/url"
	"time"
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

// CDNConfig configures purges at Varnish (with the xkey vmod) or alike: a
// PURGE request with an "xkey" header listing the surrogate keys, sent to
// every URL in the background.
type CDNConfig struct {
	// PurgeURLs are the caches' purge endpoints, e.g. http://varnish:6081/.
	// Empty disables CDN purges.
	PurgeURLs []string `yaml:"purge_urls"`
	// Timeout bounds one PURGE request.
	Timeout time.Duration `yaml:"timeout"`
	// Queue bounds pending purges; beyond it new purges are dropped (and
	// logged) rather than blocking an admin call.
	Queue int `yaml:"queue"`
}

// DefaultConfig returns the defaults (AdminToken must still be set).
func DefaultConfig() Config {
	return Config{
		MaxBodyBytes:         1 << 20,
		MaxImportBytes:       1 << 30,
		ChangesWait:          30 * time.Second,
		SnapshotWriteTimeout: 10 * time.Minute,
		CDN:                  CDNConfig{Timeout: 2 * time.Second, Queue: 1024},
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.AdminToken == "":
		return errors.New("httpapi: admin_token is required")
	case len(c.AdminToken) < 8:
		return errors.New("httpapi: admin_token must be at least 8 bytes")
	case c.InternalToken == "" && !c.InternalOpen:
		return errors.New("internal_token: required: the edges send it to read the feed (set SHOPEDGE_INTERNAL_TOKEN; or internal_open: true for a core only a private network reaches)")
	case c.InternalToken != "" && len(c.InternalToken) < 16:
		return errors.New("internal_token: must be at least 16 bytes")
	case c.MaxBodyBytes < 1024:
		return fmt.Errorf("httpapi: max_body_bytes must be >= 1024, got %d", c.MaxBodyBytes)
	case c.MaxImportBytes < 1024:
		return fmt.Errorf("httpapi: max_import_bytes must be >= 1024, got %d", c.MaxImportBytes)
	case c.ChangesWait <= 0:
		return fmt.Errorf("httpapi: changes_wait must be > 0, got %s", c.ChangesWait)
	case c.SnapshotWriteTimeout <= 0:
		return fmt.Errorf("httpapi: snapshot_write_timeout must be > 0, got %s", c.SnapshotWriteTimeout)
	case c.CDN.Timeout <= 0:
		return fmt.Errorf("httpapi: cdn.timeout must be > 0, got %s", c.CDN.Timeout)
	case c.CDN.Queue < 1:
		return fmt.Errorf("httpapi: cdn.queue must be >= 1, got %d", c.CDN.Queue)
	}
	for i, u := range c.CDN.PurgeURLs {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return fmt.Errorf("httpapi: cdn.purge_urls[%d]: %q is not an http(s) URL", i, u)
		}
	}
	return nil
}
