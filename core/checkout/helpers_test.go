package checkout

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
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
// gateways, with an accounting check at cleanup over every SKU it created
// and every charge its gateways made.
type env struct {
	t     testing.TB
	st    store.Store
	cat   *catalog.Service
	carts *cart.Service
	co    *Service
	// gw is the ledger of the default gateway (named "testpay"): the
	// in-process testpay every charge of a one-gateway env lands in.
	gw *testpay.Gateway
	// ledgers are every gateway's ledger by name.
	ledgers map[string]*testpay.Gateway
	clock   *testClock
	skus    []string
	// onHand is the stock each SKU was given: on_hand never changes after.
	onHand map[string]int64
	// shared is set when other envs use the same store (see envsOn):
	// orders this env's gateways did not charge may exist.
	shared bool
	// keyNS prefixes every Idempotency-Key, so envs sharing a store never
	// share keys.
	keyNS string
}

// ledgered is a test gateway wrapping an in-process testpay, whose ledger
// the accounting check reads.
type ledgered interface {
	payment.Gateway
	Ledger() *testpay.Gateway
}

// newEnv returns an env whose one gateway, "testpay", is gw (nil: a plain
// in-process testpay; a flakyGateway's ledger is its testpay).
func newEnv(t testing.TB, st store.Store, mod func(*Config), gw payment.Gateway) *env {
	t.Helper()
	if gw == nil {
		tp, err := testpay.New(testpay.Config{SlowDelay: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		gw = tp
	}
	return newEnvRouter(t, st, mod, []string{"testpay"}, map[string]payment.Gateway{"testpay": gw})
}

// newEnvRouter returns an env whose router offers gateways, tried in the
// order of names.
func newEnvRouter(t testing.TB, st store.Store, mod func(*Config), names []string, gateways map[string]payment.Gateway) *env {
	t.Helper()
	clock := newClock()
	cat := catalog.New(st, changelog.New(st, changelog.DefaultConfig()), catalog.DefaultConfig())
	ccfg := cart.DefaultConfig()
	ccfg.Now = clock.Now
	carts, err := cart.New(st, cat, ccfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Now = clock.Now
	cfg.PaymentTimeout = 2 * time.Second
	if mod != nil {
		mod(&cfg)
	}
	co, err := New(st, cat, testRouter{names: names, gws: gateways}, cfg, zerolog.Nop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, cat: cat, carts: carts, co: co, clock: clock, ledgers: map[string]*testpay.Gateway{},
		onHand: map[string]int64{}, keyNS: cart.NewID()[:8] + "-"}
	for name, g := range gateways {
		switch g := g.(type) {
		case *testpay.Gateway:
			e.ledgers[name] = g
		case ledgered:
			e.ledgers[name] = g.Ledger()
		default:
			t.Fatalf("BUG: gateway %s has no ledger", name)
		}
	}
	e.gw = e.ledgers[names[0]]
	n, _ := envsOn.LoadOrStore(st, new(atomic.Int32))
	n.(*atomic.Int32).Add(1)
	t.Cleanup(func() {
		co.Close()
		if n.(*atomic.Int32).Load() > 1 {
			e.shared = true
		}
		e.checkInvariants()
	})
	return e
}

// envsOn counts the envs created on each store.
var envsOn sync.Map // store.Store → *atomic.Int32

// testRouter routes every payment to its gateways in the order of names.
type testRouter struct {
	names []string
	gws   map[string]payment.Gateway
}

func (r testRouter) Route(string, api.Money) []string { return r.names }
func (r testRouter) Gateway(name string) payment.Gateway {
	if g, ok := r.gws[name]; ok {
		return g
	}
	return nil
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
	e.onHand[sku] = onHand
}

// productDef returns the one-SKU product that product stores.
func (e *env) productDef(sku string, price *api.Money) *api.Product {
	return &api.Product{ID: "p" + sku, Slug: "slug-" + sku, Name: "Product " + sku, SKUs: []api.SKU{{SKU: sku, Price: price}}}
}

func usd(a int64) *api.Money { return &api.Money{Amount: a, Currency: "USD"} }

// cartWith creates a cart holding the given sku → quantity pairs, as if
// they were put in while in stock: a SKU sold out now goes in too (the
// cart routes refuse it, see cart.Service.SetQuantity).
func (e *env) cartWith(lines ...any) string {
	e.t.Helper()
	var ls []cart.Line
	for i := 0; i < len(lines); i += 2 {
		ls = append(ls, cart.Line{SKU: lines[i].(string), Quantity: int64(lines[i+1].(int))})
	}
	c, err := e.carts.CreateWith(context.Background(), ls)
	if err != nil {
		e.t.Fatal(err)
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

// checkInvariants checks the shop's books from independent sources: the
// orders (read one by one from the store), the stock records of the SKUs
// the test created, and the ledgers of the test gateways (what they
// charged and refunded). None of these is derived from another:
//
//   - stock: on_hand is what the test set; reserved is exactly the units
//     of pending orders and sold exactly the units of paid orders (counted
//     from the orders, not from available, which the stock record computes
//     from the other three);
//   - money: every charge a gateway made belongs to exactly one order that
//     is paid by it (and not refunded), or was refunded in full, or its
//     refund is recorded on a cancelled or ended order as still pending or
//     refused; and every paid order's charge is in its gateway's ledger,
//     not refunded;
//   - one payment per cart: no cart has two orders that were paid;
//   - every pending order will be found: by the expiry scan or index, and
//     by the reconciler's scan or queue.
func (e *env) checkInvariants() {
	t := e.t
	t.Helper()
	reserved, sold := map[string]int64{}, map[string]int64{}
	type chargeRef struct {
		order   *orderRec
		attempt int
	}
	byCharge := map[string][]chargeRef{}
	paidCarts := map[string]string{}
	err := e.st.View(context.Background(), func(tx store.Txn) error {
		resvMark, _ := tx.Get(resvMarkKey)
		payMark, _ := tx.Get(payMarkKey)
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
			for i, a := range o.Attempts {
				if a.Outcome == payment.OutcomeCharged {
					byCharge[a.ChargeID] = append(byCharge[a.ChargeID], chargeRef{o, i})
				}
			}
			if o.PaidBy > 0 {
				if other, ok := paidCarts[o.CartID]; ok {
					t.Errorf("cart %s paid twice: orders %s and %s", o.CartID, other, o.ID)
				}
				paidCarts[o.CartID] = o.ID
			}
			if o.Status == api.OrderPendingPayment {
				if o.Indexed {
					if _, err := tx.Get(resvKey(o.ExpiresAt, o.ID)); err != nil {
						t.Errorf("pending order %s not in the reservation index: %v", o.ID, err)
					}
				} else if !o.Queued && resvMark != nil && bytes.Compare(raw[:], resvMark) <= 0 {
					t.Errorf("pending order %s neither indexed, queued nor ahead of the expiry scan", o.ID)
				}
				if !o.Queued && payMark != nil && bytes.Compare(raw[:], payMark) <= 0 {
					t.Errorf("pending order %s neither queued nor ahead of the reconciler's scan", o.ID)
				}
			}
			if o.Queued {
				if _, err := tx.Get(payqKey(raw)); err != nil {
					t.Errorf("order %s flagged queued but not in the queue: %v", o.ID, err)
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
		if s.OnHand != e.onHand[sku] {
			t.Errorf("stock of %s: on_hand %d, the test set %d", sku, s.OnHand, e.onHand[sku])
		}
		if s.Reserved < 0 || s.Sold < 0 || s.Reserved+s.Sold > s.OnHand {
			t.Errorf("stock of %s broken: %+v", sku, s)
		}
		if s.Reserved != reserved[sku] || s.Sold != sold[sku] {
			t.Errorf("stock of %s: reserved %d sold %d, orders hold reserved %d sold %d", sku, s.Reserved, s.Sold, reserved[sku], sold[sku])
		}
	}
	for name, l := range e.ledgers {
		for _, c := range l.Charges() {
			refs := byCharge[c.ID]
			switch {
			case len(refs) > 1:
				t.Errorf("%s charge %s recorded on %d attempts", name, c.ID, len(refs))
			case len(refs) == 0 && !c.Refunded:
				t.Errorf("%s charge %s of %d %s belongs to no order and is not refunded", name, c.ID, c.Amount.Amount, c.Amount.Currency)
			case len(refs) == 1:
				o, a := refs[0].order, refs[0].order.Attempts[refs[0].attempt]
				paidByIt := o.PaidBy == refs[0].attempt+1
				switch {
				case a.Gateway != name:
					t.Errorf("%s charge %s recorded as made by gateway %s", name, c.ID, a.Gateway)
				case c.Amount != o.Totals:
					t.Errorf("%s charge %s of %v for order %s of %v", name, c.ID, c.Amount, o.ID, o.Totals)
				case o.Status == api.OrderPaid && paidByIt && !c.Refunded:
				case o.Status == api.OrderPaid && paidByIt:
					t.Errorf("%s charge %s refunded but order %s is paid by it", name, c.ID, o.ID)
				case c.Refunded && a.Refund != refundSucceeded && a.Refund != refundPending:
					t.Errorf("%s charge %s refunded, order %s records refund %q", name, c.ID, o.ID, a.Refund)
				case !c.Refunded && a.Refund != refundPending && a.Refund != refundRefused:
					t.Errorf("%s charge %s of order %s (%s) neither pays it nor is refunded (refund %q)", name, c.ID, o.ID, o.Status, a.Refund)
				}
			}
		}
	}
	if e.shared {
		return
	}
	for id, refs := range byCharge {
		for _, r := range refs {
			l := e.ledgers[r.order.Attempts[r.attempt].Gateway]
			if l == nil {
				continue
			}
			if !slices.ContainsFunc(l.Charges(), func(c testpay.Charge) bool { return c.ID == id }) {
				t.Errorf("order %s records charge %s that gateway %s never made", r.order.ID, id, r.order.Attempts[r.attempt].Gateway)
			}
		}
	}
}

// reconcile runs reconciler passes until one settles nothing (at most 10).
func (e *env) reconcile() ReconcileStats {
	e.t.Helper()
	var total ReconcileStats
	for range 10 {
		st, err := e.co.ReconcileOnce(context.Background())
		if err != nil {
			e.t.Fatalf("reconcile: %v", err)
		}
		total.Settled += st.Settled
		total.Refunded += st.Refunded
		total.Unresolved, total.RefundsPending = st.Unresolved, st.RefundsPending
		if st.Settled == 0 && st.Refunded == 0 {
			break
		}
	}
	return total
}

// orderOfKey returns the order the checkout of key created.
func (e *env) orderOfKey(key string) *orderRec {
	e.t.Helper()
	var o *orderRec
	err := e.st.View(context.Background(), func(tx store.Txn) error {
		rec, err := loadIdemTx(tx, hashKey(e.keyNS+key))
		if err != nil || rec == nil || rec.State != idemOrder {
			return fmt.Errorf("no order for key %s: %+v %v", key, rec, err)
		}
		o, err = loadOrderTx(tx, rec.OrderID)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

// flakyGateway wraps an in-process testpay with faults, each counted down
// or switched on by the test:
//
//   - fail: Charge fails before charging (a 5xx; a lookup finds nothing);
//   - lose: Charge charges, then fails (the reply is lost);
//   - notSent: Charge fails with ErrNotSent without charging;
//   - lookupDown: Lookup cannot tell (the gateway is unreachable);
//   - refundFail: Refund fails (retryable);
//   - hold: Charge waits until hold is closed (held is signalled first).
type flakyGateway struct {
	*testpay.Gateway
	fail, lose, notSent, refundFail atomic.Int64
	lookupDown                      atomic.Bool
	hold                            chan struct{}
	held                            chan struct{}
	charges, lookups, refundCalls   atomic.Int64
}

func newFlaky(t testing.TB) *flakyGateway {
	t.Helper()
	tp, err := testpay.New(testpay.Config{SlowDelay: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return &flakyGateway{Gateway: tp}
}

func (g *flakyGateway) Ledger() *testpay.Gateway { return g.Gateway }

func (g *flakyGateway) Charge(ctx context.Context, req payment.ChargeRequest) (payment.Charge, error) {
	g.charges.Add(1)
	if g.notSent.Add(-1) >= 0 {
		return payment.Charge{}, fmt.Errorf("dial: %w", payment.ErrNotSent)
	}
	if g.fail.Add(-1) >= 0 {
		return payment.Charge{}, fmt.Errorf("502 from the gateway: %w", payment.ErrGateway)
	}
	if g.hold != nil {
		g.held <- struct{}{}
		<-g.hold
	}
	c, err := g.Gateway.Charge(ctx, req)
	if err == nil && g.lose.Add(-1) >= 0 {
		return payment.Charge{}, fmt.Errorf("connection reset: %w", payment.ErrGateway)
	}
	return c, err
}

func (g *flakyGateway) Lookup(ctx context.Context, req payment.ChargeRequest) (payment.LookupResult, error) {
	g.lookups.Add(1)
	if g.lookupDown.Load() {
		return payment.LookupResult{}, fmt.Errorf("connection refused: %w", payment.ErrGateway)
	}
	return g.Gateway.Lookup(ctx, req)
}

func (g *flakyGateway) Refund(ctx context.Context, req payment.RefundRequest) (payment.Refund, error) {
	g.refundCalls.Add(1)
	if g.refundFail.Add(-1) >= 0 {
		return payment.Refund{}, fmt.Errorf("503 from the gateway: %w", payment.ErrGateway)
	}
	return g.Gateway.Refund(ctx, req)
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
