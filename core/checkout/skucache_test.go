package checkout

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"shopedge/core/api"
	"shopedge/core/payment"
	"shopedge/core/payment/testpay"
)

// TestSKUCacheSeesChanges warms the SKU cache, then changes the price and
// the product's name: the next checkout must be priced from what the
// catalog holds then, never from the cache.
func TestSKUCacheSeesChanges(t *testing.T) {
	e := newEnv(t, openEmbedded(t), nil, nil)
	e.product("cached", usd(100), 10)
	o := decodeOrder(t, mustCheckout(t, e, "k1", e.cartWith("cached", 2)))
	if o.Totals.Amount != 200 {
		t.Fatalf("first checkout: %+v", o.Totals)
	}
	p := e.productDef("cached", usd(150))
	p.Name = "Renamed"
	if _, err := e.cat.Put(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	o = decodeOrder(t, mustCheckout(t, e, "k2", e.cartWith("cached", 2)))
	if o.Totals.Amount != 300 || o.Lines[0].UnitPrice.Amount != 150 || o.Lines[0].Name != "Renamed" {
		t.Fatalf("after a price change: %+v", o)
	}
}

// TestSoldOutAnswers checks the cached sold-out answers: each names the
// SKU and the quantity its own request asked for.
func TestSoldOutAnswers(t *testing.T) {
	e := newEnv(t, openEmbedded(t), nil, nil)
	e.product("gone-a", usd(100), 0)
	e.product("gone-b", usd(100), 0)
	for i := range 6 {
		sku, qty := []string{"gone-a", "gone-b"}[i%2], 1+i%3
		r := mustCheckout(t, e, fmt.Sprint("k", i), e.cartWith(sku, qty))
		if r.Status != 409 {
			t.Fatalf("checkout %d: %d %s", i, r.Status, r.Body)
		}
		short := decodeError(t, r.Body).Details.([]api.ShortLine)
		if len(short) != 1 || short[0] != (api.ShortLine{SKU: sku, Requested: int64(qty)}) {
			t.Fatalf("checkout %d of %d × %s: %d %s", i, qty, sku, r.Status, r.Body)
		}
	}
}

func mustCheckout(t *testing.T, e *env, key, cartID string) Result {
	t.Helper()
	r, err := e.checkout(key, cartID, testpay.TokenOK)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// notifyCounter counts the feed wake-ups the checkout service asks for.
type notifyCounter struct {
	Catalog
	n atomic.Int64
}

func (c *notifyCounter) Notify() { c.n.Add(1) }

// TestFeedWokenOnlyForEvents checks that checkouts wake the change feed's
// waiters only when they appended an event (a SKU changed availability
// band), in both pipeline modes.
func TestFeedWokenOnlyForEvents(t *testing.T) {
	for _, k := range storeKinds[:2] {
		t.Run(k.name, func(t *testing.T) {
			e := newEnv(t, k.open(t), nil, nil)
			// 13 units: the first two checkouts stay in stock (above the
			// low-stock threshold of 10), the third crosses into low stock.
			e.product("feed", usd(100), 13)
			nc := &notifyCounter{Catalog: e.cat}
			co, err := New(e.st, nc, payment.Single("testpay", e.gw), e.co.Config(), zerolog.Nop(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer co.Close()
			checkout := func(i int) {
				t.Helper()
				req := api.CheckoutRequest{CartID: e.cartWith("feed", 1), PaymentToken: testpay.TokenOK, Email: "a@example.com"}
				r, err := co.Checkout(context.Background(), fmt.Sprint(e.keyNS, "feed-", i), fmt.Sprint("fp-", i), req)
				if err != nil || r.Status != 201 {
					t.Fatalf("checkout %d: %d %v", i, r.Status, err)
				}
			}
			checkout(0)
			checkout(1)
			if n := nc.n.Load(); n != 0 {
				t.Fatalf("%d wake-ups for checkouts within a band", n)
			}
			checkout(2)
			if n := nc.n.Load(); n == 0 {
				t.Fatal("no wake-up for the checkout that crossed into low stock")
			}
		})
	}
}

// TestSoldOutComesFirst: a checkout whose cart holds a sold-out SKU (none
// available) is answered 409 naming the sold-out lines alone, before
// lines that are merely short and before what pricing finds wrong (a SKU
// no longer for sale): the answer an edge, which knows bands but neither
// stock counts nor prices, gives in the core's stead, byte for byte
// (api.OutOfStockError). Without a sold-out line, every short line is
// named as before. It does not check the edge side (edge/forward).
func TestSoldOutComesFirst(t *testing.T) {
	e := newEnv(t, openEmbedded(t), nil, nil)
	e.product("so-a", usd(100), 5)
	e.product("so-b", usd(100), 1)
	e.product("so-c", usd(100), 5)
	both := e.cartWith("so-b", 2, "so-a", 1)
	unpriced := e.cartWith("so-a", 1, "so-c", 1)
	short := e.cartWith("so-b", 2)
	if _, err := e.cat.SetStock(context.Background(), "so-a", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cat.Put(context.Background(), e.productDef("so-c", nil)); err != nil {
		t.Fatal(err)
	}
	f := func(key, cartID string, want *api.Error) {
		t.Helper()
		r := mustCheckout(t, e, key, cartID)
		if body := api.ErrorJSON(want); r.Status != 409 || string(r.Body) != string(body) {
			t.Fatalf("%s: %d %s, want 409 %s", key, r.Status, r.Body, body)
		}
	}
	soldA := api.OutOfStockError([]api.ShortLine{{SKU: "so-a", Requested: 1}})
	f("both", both, soldA)
	f("unpriced", unpriced, soldA)
	f("unpriced", unpriced, soldA) // stored with the key: replayed
	f("short", short, api.OutOfStockError([]api.ShortLine{{SKU: "so-b", Requested: 2, Available: 1}}))
	// Restocked, the cart with the SKU no longer for sale gets pricing's
	// answer, not stored with a key.
	if _, err := e.cat.SetStock(context.Background(), "so-a", 5); err != nil {
		t.Fatal(err)
	}
	if _, err := e.checkout("unpriced-2", unpriced, testpay.TokenOK); api.ErrorCode(err) != api.ECodeConflict {
		t.Fatalf("after the restock: %v", err)
	}
}
