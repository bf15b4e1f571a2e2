package forward

import (
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/internal/rendezvous"
)

// routeCores starts n cores that count the checkouts reaching them (each
// its own count: the independent source of where checkouts went) and
// answer 201.
func routeCores(t *testing.T, n int) ([]string, []*atomic.Int64) {
	t.Helper()
	var addrs []string
	var counts []*atomic.Int64
	for range n {
		var c atomic.Int64
		addr := startCore(t, func(ctx *fasthttp.RequestCtx) {
			if string(ctx.Path()) == "/v1/checkout" {
				c.Add(1)
			}
			ctx.SetStatusCode(201)
			ctx.SetContentType("application/json")
			ctx.SetBodyString(`{"status":"paid"}`)
		})
		addrs = append(addrs, addr)
		counts = append(counts, &c)
	}
	return addrs, counts
}

// routeCheckout sends cart i's checkout of lines with its signed digest
// (none when dg is nil) and wants the core's 201.
func routeCheckout(t *testing.T, f *fw, dg *api.CartDigester, i int, lines ...string) {
	t.Helper()
	cart := fmt.Sprintf("%032x", i)
	h := []string{"Content-Type", "application/json", "Idempotency-Key", "route-" + cart}
	if dg != nil {
		var dl []api.CartDigestLine
		for _, sku := range lines {
			dl = append(dl, api.CartDigestLine{SKU: sku, Quantity: 1})
		}
		h = append(h, api.HeaderCartDigest, dg.Sign(cart, time.Now().Add(time.Hour).Unix(), dl))
	}
	if resp := call(f, "POST", "/v1/checkout", checkoutBody(cart), h...); resp.StatusCode() != 201 {
		t.Fatalf("checkout %d: %d %s", i, resp.StatusCode(), resp.Body())
	}
}

func loads(counts []*atomic.Int64) []int64 {
	var out []int64
	for _, c := range counts {
		out = append(out, c.Load())
	}
	return out
}

// TestCheckoutRoutedToOwner: with a digest key, every checkout of a hot
// SKU reaches one core, the SKU's rendezvous owner over the edge's core
// addresses (counted by the cores themselves), and each SKU of a spread of
// one-line carts always reaches the same core; a multi-line cart goes to
// the owner of its hottest SKU. Without a digest, or with a digest that
// does not verify, or with routing turned off, the cores take turns.
//
// It fails when the routing is removed: with route_checkouts false (the
// last part, which the test runs on purpose) the hot SKU's 40 checkouts
// reach 4 cores, 10 each; seen failing with checkoutOrder returning dst
// unchanged ("hot SKU reached cores [10 10 10 10]"). It does not prove
// that the cores agree with the edge (the many-cores harness, core's
// TestManyCoresEdgeRouting, checks that).
func TestCheckoutRoutedToOwner(t *testing.T) {
	addrs, counts := routeCores(t, 4)
	cfg := testConfig(addrs...)
	cfg.DigestKeys = []string{soldKey}
	f := mustNew(t, cfg)
	dg := api.NewCartDigester([]byte(soldKey))
	owner := rendezvous.Owner(addrs, "fs-hot-1")

	for i := range 40 {
		routeCheckout(t, f, dg, i, "fs-hot-1")
	}
	got := loads(counts)
	for i, n := range got {
		if want := map[bool]int64{true: 40, false: 0}[i == owner]; n != want {
			t.Fatalf("hot SKU reached cores %v; want all 40 at core %d", got, owner)
		}
	}
	if f.m.routedOwner.Get() != 40 || f.m.routedAny.Get() != 0 {
		t.Fatalf("routed counters: owner %d, round robin %d", f.m.routedOwner.Get(), f.m.routedAny.Get())
	}

	// One-line carts of 20 SKUs: each SKU at one core, SKUs over several.
	before := loads(counts)
	where := map[string]int{}
	for i := range 60 {
		sku := fmt.Sprintf("sku-%d", i%20)
		routeCheckout(t, f, dg, 100+i, sku)
		after := loads(counts)
		at := -1
		for k := range after {
			if after[k] != before[k] {
				at = k
			}
		}
		before = after
		if w, ok := where[sku]; ok && w != at {
			t.Fatalf("%s reached core %d, then core %d", sku, w, at)
		}
		where[sku] = at
	}
	used := map[int]bool{}
	for _, at := range where {
		used[at] = true
	}
	if len(used) < 3 {
		t.Fatalf("20 SKUs reached only cores %v", used)
	}

	// A cart with a cold line first and the hot SKU second follows the
	// hot SKU (hottest); its cold SKU's owner would be another core.
	cold := ""
	for i := 0; cold == ""; i++ {
		if s := fmt.Sprintf("cold-%d", i); rendezvous.Owner(addrs, s) != owner {
			cold = s
		}
	}
	before = loads(counts)
	routeCheckout(t, f, dg, 300, cold, "fs-hot-1")
	if after := loads(counts); after[owner] != before[owner]+1 {
		t.Fatalf("cart [%s fs-hot-1] went to %v (before %v), want core %d", cold, after, before, owner)
	}

	// Without a digest, and with a forged one: round robin.
	before = loads(counts)
	for i := range 8 {
		routeCheckout(t, f, nil, 400+i, "fs-hot-1")
	}
	forger := api.NewCartDigester([]byte("not-the-cores-digest-key"))
	for i := range 8 {
		routeCheckout(t, f, forger, 500+i, "fs-hot-1")
	}
	after := loads(counts)
	for k := range after {
		if after[k]-before[k] != 4 {
			t.Fatalf("checkouts without a valid digest: cores got %v more, want 4 each", after)
		}
	}
	if f.m.digestInvalid.Get() != 8 || f.m.routedAny.Get() != 16 {
		t.Fatalf("invalid digests %d, round robin %d", f.m.digestInvalid.Get(), f.m.routedAny.Get())
	}

	// route_checkouts false: round robin though the digest verifies.
	cfg.RouteCheckouts = false
	off := mustNew(t, cfg)
	before = loads(counts)
	for i := range 40 {
		routeCheckout(t, off, dg, 600+i, "fs-hot-1")
	}
	after = loads(counts)
	for k := range after {
		if after[k]-before[k] != 10 {
			t.Fatalf("routing off: cores got %v more, want 10 each", after)
		}
	}
}

// TestCheckoutRoutingFirstLine: route_by first_line routes a cart by its
// first line, however hot its other lines are.
func TestCheckoutRoutingFirstLine(t *testing.T) {
	addrs, counts := routeCores(t, 4)
	cfg := testConfig(addrs...)
	cfg.DigestKeys = []string{soldKey}
	cfg.RouteBy = RouteByFirstLine
	f := mustNew(t, cfg)
	dg := api.NewCartDigester([]byte(soldKey))
	for i := range 20 {
		routeCheckout(t, f, dg, i, "fs-hot-1")
	}
	first := ""
	for i := 0; first == ""; i++ {
		if s := fmt.Sprintf("cold-%d", i); rendezvous.Owner(addrs, s) != rendezvous.Owner(addrs, "fs-hot-1") {
			first = s
		}
	}
	before := loads(counts)
	routeCheckout(t, f, dg, 100, first, "fs-hot-1")
	if o, after := rendezvous.Owner(addrs, first), loads(counts); after[o] != before[o]+1 {
		t.Fatalf("cart [%s fs-hot-1] went to %v (before %v), want core %d", first, after, before, o)
	}
}

// TestCheckoutRoutingFailover: when the owner of the hot SKU stops (its
// listener closes: connections refused), its checkouts go to the second
// core of the SKU's rendezvous order, all of them to that one core, every
// one answered; the failover counter counts them. It does not prove
// anything about a core dying mid-checkout (core's
// TestManyCoresEdgeRouting kills one under a sale and audits the books).
func TestCheckoutRoutingFailover(t *testing.T) {
	addrs, counts := routeCores(t, 3)
	// The fourth core is an address nothing listens on (a core that
	// died), and the test's SKU is one it owns.
	dead := deadAddr(t)
	all := append(slices.Clone(addrs), dead)
	sku := "fs-hot-1"
	for i := 0; all[rendezvous.Owner(all, sku)] != dead; i++ {
		sku = fmt.Sprintf("fs-hot-%d", i)
	}
	second := rendezvous.Order(nil, all, sku)[1]
	cfg := testConfig(all...)
	cfg.DigestKeys = []string{soldKey}
	cfg.BreakerFailures = 3
	cfg.BreakerOpenFor = time.Minute
	f := mustNew(t, cfg)
	dg := api.NewCartDigester([]byte(soldKey))
	for i := range 30 {
		routeCheckout(t, f, dg, i, sku)
	}
	if got := loads(counts); got[second] != 30 {
		t.Fatalf("owner dead: cores got %v, want all 30 at core %d (second in %s's order)", got, second, sku)
	}
	if f.m.routedFailover.Get() != 30 || f.m.routedOwner.Get() != 0 {
		t.Fatalf("failover %d, owner %d", f.m.routedFailover.Get(), f.m.routedOwner.Get())
	}
	// The dead owner's breaker opened after 3 refused dials: the rest
	// never tried it.
	if e := f.m.errDial.Get(); e != 3 {
		t.Fatalf("%d refused dials, want 3 (then the breaker is open)", e)
	}
}
