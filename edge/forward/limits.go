package forward

import (
	"encoding/binary"
	"math"
	"net"
	"strings"
	"time"

	"github.com/coocood/freecache"
	"github.com/valyala/fasthttp"

	"shopedge/internal/config"
)

// LimitsConfig are the per-client budgets of the forwarded routes. A client
// over one gets 429 with Retry-After from the edge, and the core never sees
// the request. 0 turns a limit off.
type LimitsConfig struct {
	// ClientRate and ClientBurst are a token bucket per client address
	// over every forwarded request: ClientRate requests a second, up to
	// ClientBurst at once.
	ClientRate  float64 `yaml:"client_rate"`
	ClientBurst int     `yaml:"client_burst"`
	// CartRate and CartBurst are a token bucket per cart over the writes
	// naming it (item changes, checkouts).
	CartRate  float64 `yaml:"cart_rate"`
	CartBurst int     `yaml:"cart_burst"`
	// CheckoutsPerCart caps the checkouts of one cart per Window.
	CheckoutsPerCart int `yaml:"checkouts_per_cart"`
	// FailedPaymentsPerClient and FailedPaymentsPerCart cap, per Window,
	// the checkouts whose payment failed (the core answered 402, or 503
	// payment_unknown): past them a client, or a cart, gets no more
	// checkouts. Each failed checkout holds its stock until the core
	// releases it, so this bounds the stock one client can hold.
	FailedPaymentsPerClient int `yaml:"failed_payments_per_client"`
	FailedPaymentsPerCart   int `yaml:"failed_payments_per_cart"`
	// Window is the period of the checkout caps.
	Window time.Duration `yaml:"window"`
	// CacheBytes sizes the freecache holding the buckets and counters
	// (~100 bytes an entry; the oldest are evicted when it is full).
	CacheBytes int `yaml:"cache_bytes"`
	// ClientHeader names a request header carrying the client's address,
	// set by a proxy in front of the edge (a CDN): behind one, every
	// request comes from a few proxy addresses. The last address of a
	// comma-separated list is used (the one the nearest proxy added).
	// Empty: the TCP peer's address. Set it only when every request
	// reaches the edge through that proxy: a client could send it itself.
	ClientHeader string `yaml:"client_header"`
}

// DefaultLimits returns the defaults: 20 forwarded requests a second per
// client (bursts of 40), 5 writes a second per cart (bursts of 10), 20
// checkouts per cart, 10 failed payments per client and 5 per cart per
// 15 minutes, in 32 MiB.
func DefaultLimits() LimitsConfig {
	return LimitsConfig{
		ClientRate: 20, ClientBurst: 40,
		CartRate: 5, CartBurst: 10,
		CheckoutsPerCart:        20,
		FailedPaymentsPerClient: 10,
		FailedPaymentsPerCart:   5,
		Window:                  15 * time.Minute,
		CacheBytes:              32 << 20,
	}
}

// Validate reports the first invalid field.
func (c LimitsConfig) Validate() error {
	switch {
	case c.ClientRate < 0 || math.IsNaN(c.ClientRate) || math.IsInf(c.ClientRate, 0):
		return config.Invalid("client_rate", "must be >= 0, got %v", c.ClientRate)
	case c.ClientRate > 0 && c.ClientBurst < 1:
		return config.Invalid("client_burst", "must be >= 1 with a client_rate, got %d", c.ClientBurst)
	case c.CartRate < 0 || math.IsNaN(c.CartRate) || math.IsInf(c.CartRate, 0):
		return config.Invalid("cart_rate", "must be >= 0, got %v", c.CartRate)
	case c.CartRate > 0 && c.CartBurst < 1:
		return config.Invalid("cart_burst", "must be >= 1 with a cart_rate, got %d", c.CartBurst)
	case c.CheckoutsPerCart < 0:
		return config.Invalid("checkouts_per_cart", "must be >= 0, got %d", c.CheckoutsPerCart)
	case c.FailedPaymentsPerClient < 0:
		return config.Invalid("failed_payments_per_client", "must be >= 0, got %d", c.FailedPaymentsPerClient)
	case c.FailedPaymentsPerCart < 0:
		return config.Invalid("failed_payments_per_cart", "must be >= 0, got %d", c.FailedPaymentsPerCart)
	case c.Window < time.Second && (c.CheckoutsPerCart > 0 || c.FailedPaymentsPerClient > 0 || c.FailedPaymentsPerCart > 0):
		return config.Invalid("window", "must be >= 1s, got %s", c.Window)
	case c.CacheBytes < 512<<10:
		return config.Invalid("cache_bytes", "must be >= 512KB, got %d", c.CacheBytes)
	case strings.ContainsAny(c.ClientHeader, " :\r\n"):
		return config.Invalid("client_header", "%q is not a header name", c.ClientHeader)
	}
	return nil
}

// limiter keeps the per-client and per-cart budgets in one freecache.
// Each check is an atomic read-modify-write of one entry under the
// cache's segment lock (freecache.Update).
type limiter struct {
	cfg   LimitsConfig
	cache *freecache.Cache
	now   func() time.Time
}

func newLimiter(cfg LimitsConfig) *limiter {
	return &limiter{cfg: cfg, cache: freecache.NewCache(cfg.CacheBytes), now: time.Now}
}

// Key kinds of the limiter's entries.
const (
	kindClientBucket = 'c'
	kindCartBucket   = 'k'
	kindCheckouts    = 'o'
	kindFailClient   = 'f'
	kindFailCart     = 'g'
)

// clientIP returns the client's address: the configured header's last
// address, else the TCP peer's.
func (l *limiter) clientIP(ctx *fasthttp.RequestCtx) net.IP {
	if h := l.cfg.ClientHeader; h != "" {
		v := ctx.Request.Header.Peek(h)
		if i := lastComma(v); i >= 0 {
			v = v[i+1:]
		}
		if ip := net.ParseIP(strings.TrimSpace(string(v))); ip != nil {
			return ip
		}
	}
	return ctx.RemoteIP()
}

// clientKey appends ip as the limits count it to dst: an IPv4 address
// whole, an IPv6 address by its /64 (one host holds a whole /64).
func clientKey(dst []byte, ip net.IP) []byte {
	if v4 := ip.To4(); v4 != nil {
		return append(dst, v4...)
	}
	if len(ip) == net.IPv6len {
		return append(dst, ip[:8]...)
	}
	return append(dst, ip...)
}

func lastComma(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == ',' {
			return i
		}
	}
	return -1
}

// take takes one token from the bucket at key (kind byte first), filling
// at rate a second up to burst. It returns 0 when a token was taken, else
// how long until one will be there.
func (l *limiter) take(key []byte, rate float64, burst int) time.Duration {
	if rate <= 0 {
		return 0
	}
	now := l.now().UnixNano()
	var wait time.Duration
	ttl := int(math.Ceil(float64(burst)/rate)) + 1
	_, _, _ = l.cache.Update(key, func(v []byte, found bool) ([]byte, bool, int) {
		tokens := float64(burst)
		if found && len(v) == 16 {
			tokens = math.Float64frombits(binary.LittleEndian.Uint64(v))
			last := int64(binary.LittleEndian.Uint64(v[8:]))
			tokens = math.Min(float64(burst), tokens+float64(now-last)/1e9*rate)
		}
		if tokens >= 1 {
			tokens--
		} else {
			wait = time.Duration((1 - tokens) / rate * 1e9)
		}
		var out [16]byte
		binary.LittleEndian.PutUint64(out[:], math.Float64bits(tokens))
		binary.LittleEndian.PutUint64(out[8:], uint64(now))
		return out[:], true, ttl
	})
	return wait
}

// count reads the window counter at key and, when add, adds one to it
// unless it has reached max. It returns whether the counter was below max
// and, when not, how long until its window ends.
func (l *limiter) count(key []byte, max int, add bool) (ok bool, wait time.Duration) {
	if max <= 0 {
		return true, 0
	}
	now := l.now()
	window := l.cfg.Window
	ok = true
	_, _, _ = l.cache.Update(key, func(v []byte, found bool) ([]byte, bool, int) {
		n, start := int64(0), now.UnixNano()
		if found && len(v) == 16 {
			n = int64(binary.LittleEndian.Uint64(v))
			start = int64(binary.LittleEndian.Uint64(v[8:]))
			if now.UnixNano()-start >= int64(window) {
				n, start = 0, now.UnixNano()
			}
		}
		end := time.Unix(0, start).Add(window)
		if n >= int64(max) {
			ok, wait = false, end.Sub(now)
			return nil, false, 0
		}
		if !add {
			return nil, false, 0
		}
		var out [16]byte
		binary.LittleEndian.PutUint64(out[:], uint64(n+1))
		binary.LittleEndian.PutUint64(out[8:], uint64(start))
		return out[:], true, int(end.Sub(now)/time.Second) + 1
	})
	return ok, wait
}

// keyed returns kind followed by id, in buf when it fits.
func keyed(buf []byte, kind byte, id []byte) []byte {
	return append(append(buf[:0], kind), id...)
}
