package checkout

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/rs/zerolog"

	"shopedge/core/api"
	"shopedge/core/cart"
	"shopedge/core/catalog"
	"shopedge/core/changelog"
	"shopedge/core/payment"
	"shopedge/core/payment/testpay"
	"shopedge/store"
	"shopedge/store/embedded"
)

// storeKind names a backend for forEachStore.
type storeKind struct {
	name  string
	small bool // a slow in-process backend: tests scale their loops down
	open  func(tb testing.TB) store.Store
}

func openEmbedded(tb testing.TB) store.Store {
	tb.Helper()
	db, err := embedded.Open(filepath.Join(tb.TempDir(), "shop.db"), embedded.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// batchedStore hides the embedded store's own pipelined group commit from
// the checkout service, so the pipeline batches requests itself (as it
// does on TiKV), on a fast store.
type batchedStore struct{ store.Store }

func openEmbeddedBatched(tb testing.TB) store.Store { return batchedStore{openEmbedded(tb)} }

// storeKinds lists the backends every behaviour test runs on.
var storeKinds = []storeKind{
	{name: "embedded", open: openEmbedded},
	{name: "embedded-pipeline-batches", open: openEmbeddedBatched},
}

// forEachStore runs f as a subtest on every backend.
func forEachStore(t *testing.T, f func(t *testing.T, k storeKind, st store.Store)) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) { f(t, k, k.open(t)) })
	}
}

// testClock is an adjustable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock { return &testClock{t: time.Unix(1_800_000_000, 0)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is one shop over one store: catalog, carts, checkout and the test
// gateway, with an invariant check at cleanup over every SKU it created.
type env struct {
	t     testing.TB
	st    store.Store
	cat   *catalog.Service
	carts *cart.Service
	co    *Service
	gw    *testpay.Gateway
	clock *testClock
	skus  []string
	// keyNS prefixes every Idempotency-Key, so envs sharing a store never
	// share keys.
	keyNS string
}

func newEnv(t testing.TB, st store.Store, mod func(*Config), gw payment.Gateway) *env {
	t.Helper()
	clock := newClock()
	cat := catalog.New(st, changelog.New(st, changelog.DefaultConfig()), catalog.DefaultConfig())
	ccfg := cart.DefaultConfig()
	ccfg.Now = clock.Now
	carts, err := cart.New(st, cat, ccfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	tp, err := testpay.New(testpay.Config{SlowDelay: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if gw == nil {
		gw = tp
	}
	cfg := DefaultConfig()
	cfg.Now = clock.Now
	cfg.PaymentTimeout = 2 * time.Second
	if mod != nil {
		mod(&cfg)
	}
	co, err := New(st, cat, payment.Single("testpay", gw), cfg, zerolog.Nop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, cat: cat, carts: carts, co: co, gw: tp, clock: clock, keyNS: cart.NewID()[:8] + "-"}
	t.Cleanup(func() {
		co.Close()
		e.checkInvariants()
	})
	return e
}

// product adds a one-SKU product with price (nil: no price) and stock.
func (e *env) product(sku string, price *api.Money, onHand int64) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.cat.Put(ctx, e.productDef(sku, price)); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.cat.SetStock(ctx, sku, onHand); err != nil {
		e.t.Fatal(err)
	}
	e.skus = append(e.skus, sku)
}

// productDef returns the one-SKU product that product stores.
func (e *env) productDef(sku string, price *api.Money) *api.Product {
	return &api.Product{ID: "p" + sku, Slug: "slug-" + sku, Name: "Product " + sku, SKUs: []api.SKU{{SKU: sku, Price: price}}}
}

func usd(a int64) *api.Money { return &api.Money{Amount: a, Currency: "USD"} }

// cartWith creates a cart holding the given sku → quantity pairs.
func (e *env) cartWith(lines ...any) string {
	e.t.Helper()
	ctx := context.Background()
	c, err := e.carts.Create(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i < len(lines); i += 2 {
		if _, err := e.carts.SetQuantity(ctx, c.ID, lines[i].(string), int64(lines[i+1].(int))); err != nil {
			e.t.Fatal(err)
		}
	}
	return c.ID
}

func (e *env) checkout(key, cartID, token string) (Result, error) {
	req := api.CheckoutRequest{CartID: cartID, PaymentToken: token, Email: "buyer@example.com"}
	body, _ := json.Marshal(req)
	return e.co.Checkout(context.Background(), e.keyNS+key, Fingerprint("POST", "/v1/checkout", body), req)
}

func (e *env) stock(sku string) api.Stock {
	e.t.Helper()
	s, err := e.cat.Stock(context.Background(), sku)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) order(id string) *orderRec {
	e.t.Helper()
	var o *orderRec
	err := e.st.View(context.Background(), func(tx store.Txn) error {
		var err error
		o, err = loadOrderTx(tx, id)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

// checkInvariants checks, for every SKU the test created, that on_hand =
// available + reserved + sold with none negative, that reserved is exactly
// the quantity held by pending orders and sold exactly that of paid orders,
// and that every pending order will be found for expiry.
func (e *env) checkInvariants() {
	t := e.t
	t.Helper()
	reserved, sold := map[string]int64{}, map[string]int64{}
	err := e.st.View(context.Background(), func(tx store.Txn) error {
		return tx.Scan([]byte(store.NSOrder), store.PrefixEnd([]byte(store.NSOrder)), 0, func(k, v []byte) error {
			var raw orderID
			copy(raw[:], k[len(store.NSOrder):])
			o, err := decodeOrderRec(raw.String(), v)
			if err != nil {
				return err
			}
			for _, l := range o.Lines {
				switch o.Status {
				case api.OrderPendingPayment:
					reserved[l.SKU] += l.Quantity
				case api.OrderPaid:
					sold[l.SKU] += l.Quantity
				}
			}
			if o.Status == api.OrderPendingPayment {
				// Either indexed explicitly, or ahead of the expiry scan.
				if o.Indexed {
					if _, err := tx.Get(resvKey(o.ExpiresAt, o.ID)); err != nil {
						t.Errorf("pending order %s not in the reservation index: %v", o.ID, err)
					}
				} else if m, err := tx.Get(resvMarkKey); err == nil && bytes.Compare(raw[:], m) <= 0 {
					t.Errorf("pending order %s neither indexed nor ahead of the expiry scan", o.ID)
				}
			}
			return nil
		})
	})
	if err != nil {
		t.Errorf("cannot scan orders: %v", err)
		return
	}
	for _, sku := range e.skus {
		s := e.stock(sku)
		if s.OnHand != s.Available+s.Reserved+s.Sold || s.Available < 0 || s.Reserved < 0 || s.Sold < 0 {
			t.Errorf("stock of %s broken: %+v", sku, s)
		}
		if s.Reserved != reserved[sku] || s.Sold != sold[sku] {
			t.Errorf("stock of %s: reserved %d sold %d, orders hold reserved %d sold %d", sku, s.Reserved, s.Sold, reserved[sku], sold[sku])
		}
	}
}

// decodeOrder decodes a 201 body.
func decodeOrder(t testing.TB, r Result) api.Order {
	t.Helper()
	var o api.Order
	if r.Status != 201 {
		t.Fatalf("status %d body %s", r.Status, r.Body)
	}
	if err := json.Unmarshal(r.Body, &o); err != nil {
		t.Fatal(err)
	}
	return o
}

func decodeError(t testing.TB, b []byte) *api.Error {
	t.Helper()
	var eb struct {
		Error struct {
			Code    string          `json:"code"`
			Message string          `json:"message"`
			Details []api.ShortLine `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &eb); err != nil {
		t.Fatalf("cannot decode %s: %v", b, err)
	}
	return &api.Error{Code: eb.Error.Code, Message: eb.Error.Message, Details: eb.Error.Details}
}
