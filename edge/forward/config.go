package forward

import (
	"fmt"
	"time"

	"shopedge/internal/config"
)

// Config configures a Forwarder. It is loaded from the edge's YAML config
// (section "forward") and may be overridden by flags.
type Config struct {
	// Addrs are the core addresses (host:port) writes are forwarded to.
	Addrs []string `yaml:"-"` // from the edge's core.addrs
	// Timeout bounds one forwarded request, retries included, on the
	// routes that do not call the payment gateway; past it the edge
	// answers 504.
	Timeout time.Duration `yaml:"timeout"`
	// CheckoutTimeout bounds a checkout and an order cancel, which call
	// the payment gateway. It must exceed the core's longest checkout,
	// which the core announces on its feed (see api.HeaderCheckoutMax):
	// when it does not, the edge logs an error naming this setting and
	// uses the announced value plus CheckoutMargin.
	CheckoutTimeout time.Duration `yaml:"checkout_timeout"`
	// CheckoutMargin is added to the core's announced longest checkout
	// when CheckoutTimeout is shorter than it.
	CheckoutMargin time.Duration `yaml:"checkout_margin"`
	// DialTimeout bounds establishing one connection to a core.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// MaxConnsPerAddr bounds the open connections to each core.
	MaxConnsPerAddr int `yaml:"max_conns_per_addr"`
	// MaxInFlight bounds the requests being forwarded at once; beyond it the
	// edge answers 503 with Retry-After at once.
	MaxInFlight int `yaml:"max_in_flight"`
	// MaxBodySize bounds a forwarded request body (bytes); larger is 413.
	MaxBodySize int `yaml:"max_body_size"`
	// MaxResponseBodySize bounds a core response body (bytes).
	MaxResponseBodySize int `yaml:"max_response_body_size"`
	// MaxAttempts is the number of attempts on one core for a request that
	// may be retried (GET, or a write carrying an Idempotency-Key).
	MaxAttempts int `yaml:"max_attempts"`
	// RetryAfter is the Retry-After the edge sends with a fast 503.
	RetryAfter time.Duration `yaml:"retry_after"`
	// BreakerFailures is the count of consecutive failures that opens a
	// core's circuit breaker. Only a core's own failures count: transport
	// errors, timeouts of the routes that do not call the payment
	// gateway, and its 503 unavailable (or a 503 that is not the core's
	// JSON); never an application answer.
	BreakerFailures uint32 `yaml:"breaker_failures"`
	// BreakerOpenFor is how long an open breaker stays open before one
	// half-open probe is let through.
	BreakerOpenFor time.Duration `yaml:"breaker_open_for"`
	// BreakerHalfOpenRequests is how many probes a half-open breaker admits.
	BreakerHalfOpenRequests uint32 `yaml:"breaker_half_open_requests"`
	// Limits are the per-client budgets, enforced before a request costs a
	// core anything.
	Limits LimitsConfig `yaml:"limits"`
	// CoreCheckoutMax returns the longest checkout a core last announced
	// (0 when none did yet); the wiring sets it (api.Client.CheckoutMax).
	CoreCheckoutMax func() time.Duration `yaml:"-"`
	// SoldOut, when set, is the edge's view of which SKUs are sold out
	// (edge/soldout): cart adds of them, and checkouts whose cart digest
	// names one, are answered by the edge as the core would (409).
	SoldOut SoldOutSet `yaml:"-"`
	// DigestKeys verify the cart digests clients send with a checkout
	// (api.HeaderCartDigest): the cores' cart_digest_key, then during a
	// rotation the previous one. None: every checkout is forwarded.
	DigestKeys []string `yaml:"-"`
	// RouteCheckouts sends a checkout whose cart digest verifies to the
	// core that owns one SKU of the cart (RouteBy), by rendezvous hashing
	// of the SKU over Addrs (internal/rendezvous), as the cores compute it
	// among themselves: one core batches all of a hot SKU's checkouts and
	// none is handed from core to core (route.go). When the owner's
	// breaker is open or it cannot be reached, the next core in the SKU's
	// rendezvous order takes it. Without DigestKeys, or a checkout
	// without a valid digest, the cores take turns as for every other
	// request.
	RouteCheckouts bool `yaml:"route_checkouts"`
	// RouteBy is the SKU of a cart a checkout is routed by: "hottest", the
	// one with the most checkouts through this edge over the last one to
	// two seconds (a cart's first line when none stands out), or
	// "first_line", the cart's first line.
	RouteBy string `yaml:"route_by"`
}

// The values of Config.RouteBy.
const (
	RouteByHottest   = "hottest"
	RouteByFirstLine = "first_line"
)

// DefaultConfig returns the configuration for a local run: one core on
// 127.0.0.1:9090.
func DefaultConfig() Config {
	return Config{
		Addrs:                   []string{"127.0.0.1:9090"},
		Timeout:                 5 * time.Second,
		CheckoutTimeout:         30 * time.Second,
		CheckoutMargin:          2 * time.Second,
		DialTimeout:             time.Second,
		MaxConnsPerAddr:         512,
		MaxInFlight:             4096,
		MaxBodySize:             64 << 10,
		MaxResponseBodySize:     4 << 20,
		MaxAttempts:             2,
		RetryAfter:              time.Second,
		BreakerFailures:         5,
		BreakerOpenFor:          2 * time.Second,
		BreakerHalfOpenRequests: 1,
		Limits:                  DefaultLimits(),
		RouteCheckouts:          true,
		RouteBy:                 RouteByHottest,
	}
}

// Validate reports the first invalid field of c.
func (c *Config) Validate() error {
	if len(c.Addrs) == 0 {
		return config.Invalid("addrs", "at least one core address is required")
	}
	seen := make(map[string]bool, len(c.Addrs))
	for i, a := range c.Addrs {
		if a == "" {
			return config.Invalid(fmt.Sprintf("addrs[%d]", i), "empty address")
		}
		if seen[a] {
			return config.Invalid(fmt.Sprintf("addrs[%d]", i), "duplicate address %q", a)
		}
		seen[a] = true
	}
	switch {
	case c.Timeout <= 0:
		return config.Invalid("timeout", "must be > 0, got %s", c.Timeout)
	case c.CheckoutTimeout < c.Timeout:
		return config.Invalid("checkout_timeout", "must be >= timeout (%s), got %s", c.Timeout, c.CheckoutTimeout)
	case c.CheckoutMargin < 0:
		return config.Invalid("checkout_margin", "must be >= 0, got %s", c.CheckoutMargin)
	case c.DialTimeout <= 0:
		return config.Invalid("dial_timeout", "must be > 0, got %s", c.DialTimeout)
	case c.MaxConnsPerAddr <= 0:
		return config.Invalid("max_conns_per_addr", "must be > 0, got %d", c.MaxConnsPerAddr)
	case c.MaxInFlight <= 0:
		return config.Invalid("max_in_flight", "must be > 0, got %d", c.MaxInFlight)
	case c.MaxBodySize <= 0:
		return config.Invalid("max_body_size", "must be > 0, got %d", c.MaxBodySize)
	case c.MaxResponseBodySize <= 0:
		return config.Invalid("max_response_body_size", "must be > 0, got %d", c.MaxResponseBodySize)
	case c.MaxAttempts < 1:
		return config.Invalid("max_attempts", "must be >= 1, got %d", c.MaxAttempts)
	case c.RetryAfter < time.Second:
		return config.Invalid("retry_after", "must be >= 1s, got %s", c.RetryAfter)
	case c.BreakerFailures < 1:
		return config.Invalid("breaker_failures", "must be >= 1, got %d", c.BreakerFailures)
	case c.BreakerOpenFor <= 0:
		return config.Invalid("breaker_open_for", "must be > 0, got %s", c.BreakerOpenFor)
	case c.BreakerHalfOpenRequests < 1:
		return config.Invalid("breaker_half_open_requests", "must be >= 1, got %d", c.BreakerHalfOpenRequests)
	case c.RouteBy != RouteByHottest && c.RouteBy != RouteByFirstLine:
		return config.Invalid("route_by", "must be %q or %q, got %q", RouteByHottest, RouteByFirstLine, c.RouteBy)
	}
	return nil
}
