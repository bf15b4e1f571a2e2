package testpay

import (
	"strings"
	"time"

	"shopedge/internal/config"
	"shopedge/internal/httpserver"
	"shopedge/internal/logging"
)

// ServerConfig is the testpay process's whole configuration (variables
// TESTPAY_<PATH>, flags -<path>, like the core's).
type ServerConfig struct {
	// Server is the HTTP server of the Stripe-compatible API.
	Server httpserver.Config `yaml:"server"`
	// Log is the process logger.
	Log logging.Config `yaml:"log"`
	// Ledger is the append-only ledger file; its directory is created.
	Ledger string `yaml:"ledger" help:"ledger file (append-only, fsynced per record, replayed at start)"`
	// SecretKey is the key clients must send as a Bearer token (or as
	// the Basic user, as curl -u does). Required (TESTPAY_SECRET_KEY).
	SecretKey string `yaml:"secret_key" help:"secret key clients send as Bearer token (required)"`
	// SlowDelay is how long a tok_slow charge takes.
	SlowDelay time.Duration `yaml:"slow_delay" help:"how long a tok_slow charge takes"`
	// TimeoutAfterChargeDelay is how long a tok_timeout_after_charge charge
	// waits before it answers: longer than the caller's timeout.
	TimeoutAfterChargeDelay time.Duration `yaml:"timeout_after_charge_delay" help:"how long tok_timeout_after_charge waits before answering"`
	// KeyTTL is how long an Idempotency-Key's answer is kept (Stripe: 24 h).
	KeyTTL time.Duration `yaml:"key_ttl" help:"how long an Idempotency-Key's answer is kept"`
}

// DefaultServerConfig returns testpay's defaults: 127.0.0.1:9191, ledger
// ./data/testpay.ledger, tok_slow 2 s, tok_timeout_after_charge 15 s (the
// core gives up after 10 s), keys kept 24 h. SecretKey has no default.
func DefaultServerConfig() ServerConfig {
	srv := httpserver.DefaultConfig()
	srv.Addr = "127.0.0.1:9191"
	srv.Name = "testpay"
	srv.WriteTimeout = 30 * time.Second
	srv.MaxRequestBodySize = 64 << 10
	return ServerConfig{
		Server:                  srv,
		Log:                     logging.DefaultConfig(),
		Ledger:                  "./data/testpay.ledger",
		SlowDelay:               2 * time.Second,
		TimeoutAfterChargeDelay: 15 * time.Second,
		KeyTTL:                  24 * time.Hour,
	}
}

// Validate reports the first invalid top-level field; config.Validate
// (which Load calls) validates the server and log sections.
func (c *ServerConfig) Validate() error {
	switch {
	case c.Ledger == "":
		return config.Invalid("ledger", "required")
	case c.SecretKey == "":
		return config.Invalid("secret_key", "required (set TESTPAY_SECRET_KEY or -secret-key)")
	case len(c.SecretKey) < 8 || strings.ContainsAny(c.SecretKey, " \t\r\n:"):
		return config.Invalid("secret_key", "must be at least 8 bytes without white space or ':'")
	case c.SlowDelay < 0 || c.SlowDelay > time.Hour:
		return config.Invalid("slow_delay", "must be within [0, 1h], got %s", c.SlowDelay)
	case c.TimeoutAfterChargeDelay < 0 || c.TimeoutAfterChargeDelay > time.Hour:
		return config.Invalid("timeout_after_charge_delay", "must be within [0, 1h], got %s", c.TimeoutAfterChargeDelay)
	case c.KeyTTL < time.Second:
		return config.Invalid("key_ttl", "must be at least 1s, got %s", c.KeyTTL)
	}
	return nil
}
