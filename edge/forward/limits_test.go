package forward

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"shopedge/core/api"
)

// fakeClock is a settable clock for the limiter.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// limited returns a forwarder with limits lc (cache size set) over a core
// answering checkouts with checkoutStatus/code, and the core's hit count.
func limited(t *testing.T, lc LimitsConfig, checkout func(ctx *fasthttp.RequestCtx)) (*fw, *atomic.Int32, *fakeClock) {
	t.Helper()
	var hits atomic.Int32
	addr := startCore(t, func(ctx *fasthttp.RequestCtx) {
		hits.Add(1)
		if string(ctx.Path()) == "/v1/checkout" && checkout != nil {
			checkout(ctx)
			return
		}
		ctx.SetStatusCode(200)
	})
	cfg := testConfig(addr)
	lc.CacheBytes = 1 << 20
	if lc.Window == 0 {
		lc.Window = time.Minute
	}
	cfg.Limits = lc
	f := mustNew(t, cfg)
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	f.limits.now = clock.now
	return f, &hits, clock
}

// want429 checks a 429 with a JSON too_many_requests body and a
// Retry-After of want seconds.
func want429(t *testing.T, resp *fasthttp.Response, retryAfter string) {
	t.Helper()
	if resp.StatusCode() != 429 || respCode(t, resp) != api.ECodeTooMany || string(resp.Header.Peek("Retry-After")) != retryAfter {
		t.Fatalf("status %d Retry-After %q body %s, want 429 after %s", resp.StatusCode(), resp.Header.Peek("Retry-After"), resp.Body(), retryAfter)
	}
}

var clientB = net.IPv4(10, 0, 0, 8)

// TestClientBucket: a client over its rate gets 429 with Retry-After at
// the edge (the core sees nothing more), another client is unaffected, and
// the bucket refills with time.
func TestClientBucket(t *testing.T) {
	f, hits, clock := limited(t, LimitsConfig{ClientRate: 2, ClientBurst: 3}, nil)
	for i := 0; i < 3; i++ {
		if s := call(f, "GET", "/v1/carts/"+cartA, "").StatusCode(); s != 200 {
			t.Fatalf("request %d: %d", i, s)
		}
	}
	want429(t, call(f, "POST", "/v1/carts", ""), "1")
	want429(t, call(f, "GET", "/v1/carts/not-even-valid", ""), "1")
	if hits.Load() != 3 {
		t.Fatalf("core saw %d requests, want 3", hits.Load())
	}
	if s := callFrom(f, clientB, "POST", "/v1/carts", "").StatusCode(); s != 200 {
		t.Fatalf("another client: %d", s)
	}
	clock.add(500 * time.Millisecond) // one token back
	if s := call(f, "POST", "/v1/carts", "").StatusCode(); s != 200 {
		t.Fatalf("after refill: %d", s)
	}
	want429(t, call(f, "POST", "/v1/carts", ""), "1")
}

// TestCartBucket: writes naming one cart share a budget, whoever sends
// them; reads and other carts do not spend it.
func TestCartBucket(t *testing.T) {
	f, hits, _ := limited(t, LimitsConfig{CartRate: 0.1, CartBurst: 2}, nil)
	if s := call(f, "PUT", "/v1/carts/"+cartA+"/items/s1", `{"quantity":1}`).StatusCode(); s != 200 {
		t.Fatal(s)
	}
	if s := callFrom(f, clientB, "DELETE", "/v1/carts/"+cartA+"/items/s1", "").StatusCode(); s != 200 {
		t.Fatal(s)
	}
	want429(t, call(f, "POST", "/v1/checkout", checkoutBody(cartA), "Idempotency-Key", "k"), "10")
	want429(t, callFrom(f, clientB, "PUT", "/v1/carts/"+cartA+"/items/s2", `{"quantity":1}`), "10")
	for _, c := range []struct{ method, uri, body string }{
		{"GET", "/v1/carts/" + cartA, ""},
		{"PUT", "/v1/carts/" + cartB + "/items/s1", `{"quantity":1}`},
	} {
		if s := call(f, c.method, c.uri, c.body).StatusCode(); s != 200 {
			t.Fatalf("%s %s: %d", c.method, c.uri, s)
		}
	}
	if hits.Load() != 4 {
		t.Fatalf("core saw %d requests, want 4", hits.Load())
	}
}

// TestCheckoutsPerCart: a cart checks out at most CheckoutsPerCart times
// per window.
func TestCheckoutsPerCart(t *testing.T) {
	f, hits, clock := limited(t, LimitsConfig{CheckoutsPerCart: 2, Window: time.Minute}, nil)
	for i := 0; i < 2; i++ {
		if s := call(f, "POST", "/v1/checkout", checkoutBody(cartA), "Idempotency-Key", "k").StatusCode(); s != 200 {
			t.Fatal(s)
		}
	}
	want429(t, callFrom(f, clientB, "POST", "/v1/checkout", checkoutBody(cartA), "Idempotency-Key", "k"), "60")
	if s := call(f, "POST", "/v1/checkout", checkoutBody(cartB), "Idempotency-Key", "k").StatusCode(); s != 200 {
		t.Fatalf("another cart: %d", s)
	}
	clock.add(time.Minute)
	if s := call(f, "POST", "/v1/checkout", checkoutBody(cartA), "Idempotency-Key", "k").StatusCode(); s != 200 {
		t.Fatalf("next window: %d", s)
	}
	if hits.Load() != 4 {
		t.Fatalf("core saw %d checkouts, want 4", hits.Load())
	}
}

// TestFailedPaymentsCap: checkouts the core answers 402 or 503
// payment_unknown count against the client and the cart; past a cap the
// edge refuses further checkouts from that client, or of that cart,
// without asking the core. Other answers (out of stock) do not count.
func TestFailedPaymentsCap(t *testing.T) {
	var answer atomic.Value
	answer.Store(api.ECodePaymentDeclined)
	f, hits, clock := limited(t, LimitsConfig{FailedPaymentsPerClient: 3, FailedPaymentsPerCart: 2, Window: time.Minute},
		func(ctx *fasthttp.RequestCtx) { api.WriteError(ctx, api.Errorf(answer.Load().(string), "no")) })
	checkout := func(ip net.IP, cart string) *fasthttp.Response {
		return callFrom(f, ip, "POST", "/v1/checkout", checkoutBody(cart), "Idempotency-Key", "k")
	}
	answer.Store(api.ECodeOutOfStock)
	for i := 0; i < 5; i++ {
		if s := checkout(from, cartA).StatusCode(); s != 409 {
			t.Fatal(s)
		}
	}
	answer.Store(api.ECodePaymentDeclined)
	if s := checkout(from, cartA).StatusCode(); s != 402 {
		t.Fatal(s)
	}
	answer.Store(api.ECodePaymentUnknown)
	if s := checkout(from, cartA).StatusCode(); s != 503 {
		t.Fatal(s)
	}
	want429(t, checkout(clientB, cartA), "60") // the cart's cap, whoever asks
	if s := checkout(from, cartB).StatusCode(); s != 503 {
		t.Fatal(s) // the client's third failure
	}
	third := "0123456789abcdef0123456789abcde0"
	want429(t, checkout(from, third), "60") // the client's cap, whatever cart
	if hits.Load() != 8 {
		t.Fatalf("core saw %d checkouts, want 8", hits.Load())
	}
	// Cart writes and other clients go on.
	if s := call(f, "PUT", "/v1/carts/"+cartA+"/items/s", `{"quantity":1}`).StatusCode(); s != 200 {
		t.Fatalf("cart write after the cap: %d", s)
	}
	answer.Store(api.ECodeConflict)
	if s := checkout(clientB, third).StatusCode(); s != 409 {
		t.Fatalf("another client's checkout: %d", s)
	}
	clock.add(time.Minute)
	if s := checkout(from, third).StatusCode(); s != 409 {
		t.Fatalf("next window: %d", s)
	}
}

// TestClientHeader: behind a proxy the configured header names the
// client (its last address); without it, or with garbage, the peer does.
func TestClientHeader(t *testing.T) {
	f, _, _ := limited(t, LimitsConfig{ClientRate: 0.1, ClientBurst: 1, ClientHeader: "X-Client-IP"}, nil)
	get := func(hdr ...string) int { return call(f, "GET", "/v1/carts/"+cartA, "", hdr...).StatusCode() }
	if s := get("X-Client-IP", "192.0.2.1"); s != 200 {
		t.Fatal(s)
	}
	if s := get("X-Client-IP", "198.51.100.9, 192.0.2.1"); s != 429 {
		t.Fatalf("same last address: %d", s)
	}
	if s := get("X-Client-IP", "192.0.2.1, 192.0.2.2"); s != 200 {
		t.Fatalf("another client behind the proxy: %d", s)
	}
	if s := get("X-Client-IP", "garbage"); s != 200 {
		t.Fatalf("the peer's own budget: %d", s)
	}
	if s := get(); s != 429 {
		t.Fatalf("the peer again: %d", s)
	}
	// IPv6 clients count by /64.
	if s := get("X-Client-IP", "2001:db8:1:2::1"); s != 200 {
		t.Fatal(s)
	}
	if s := get("X-Client-IP", "2001:db8:1:2::ffff"); s != 429 {
		t.Fatalf("same /64: %d", s)
	}
}
