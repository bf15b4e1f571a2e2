package checkout

import (
	"context"
	"errors"
	"testing"
	"time"

	"shopedge/core/api"
	"shopedge/core/cart"
	"shopedge/core/payment"
	"shopedge/core/payment/testpay"
	"shopedge/store"
)

// pendingOrder starts a checkout whose payment outcome stays unknown, so
// its order stays pending, and returns the order.
func pendingOrder(t *testing.T, e *env, g *flakyGateway, key, sku string) *orderRec {
	t.Helper()
	g.fail.Store(1)
	if _, err := e.checkout(key, e.cartWith(sku, 1), testpay.TokenOK); api.ErrorCode(err) != api.ECodePaymentUnknown {
		t.Fatalf("checkout: %v", err)
	}
	var o *orderRec
	err := e.st.View(context.Background(), func(tx store.Txn) error {
		rec, err := loadIdemTx(tx, hashKey(e.keyNS+key))
		if err != nil || rec == nil {
			return errors.Join(err, errors.New("no idempotency record"))
		}
		o, err = loadOrderTx(tx, rec.OrderID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestScanIndexesOrdersNotDue sweeps with a shorter reservation TTL than
// the order was placed with: the scan passes the order, indexes it, and it
// expires when its own time comes.
func TestScanIndexesOrdersNotDue(t *testing.T) {
	ctx := context.Background()
	st := openEmbedded(t)
	tp, _ := testpay.New(testpay.DefaultConfig())
	g := &flakyGateway{Gateway: tp}
	long := newEnv(t, st, func(c *Config) { c.ReservationTTL = 30 * time.Minute }, g)
	short := newEnv(t, st, nil, nil)
	long.product("ttl", usd(100), 3)
	o := pendingOrder(t, long, g, "k", "ttl")
	if o.Indexed {
		t.Fatal("a fresh order is indexed")
	}
	advance := func(d time.Duration) { long.clock.Add(d); short.clock.Add(d) }
	advance(16 * time.Minute)
	if n, err := short.co.SweepOnce(ctx); n != 0 || err != nil {
		t.Fatalf("early sweep: %d %v", n, err)
	}
	if o = long.order(o.ID); o.Status != api.OrderPendingPayment || !o.Indexed {
		t.Fatalf("after the scan passed it: %+v", o)
	}
	advance(15 * time.Minute)
	if n, err := short.co.SweepOnce(ctx); n != 1 || err != nil {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if o = long.order(o.ID); o.Status != api.OrderExpired || o.Indexed {
		t.Fatalf("after expiry: %+v", o)
	}
	if s := long.stock("ttl"); s.Reserved != 0 || s.Available != 3 {
		t.Fatalf("stock %+v", s)
	}
}

// TestOldOrderIDIsIndexed stores an order whose id was drawn long before:
// the expiry scan may have passed its time, so it is indexed at once.
func TestOldOrderIDIsIndexed(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, openEmbedded(t), nil, nil)
	e.product("old", usd(100), 2)
	// A sweep first, so the scan mark is at now − TTL.
	e.pendingAtMark(t)
	cartID := e.cartWith("old", 1)
	q := reserveReq{
		keyHash: hashKey(e.keyNS + "old"), fp: "f", cartID: cartID, email: "a@example.com",
		orderID: newOrderID(e.clock.Now().Add(-e.co.cfg.ReservationTTL).UnixNano()), token: cart.NewID(),
	}
	var rr reserveRes
	if err := e.st.Update(ctx, func(tx store.Txn) (err error) { rr, err = e.co.reserveTx(tx, q); return err }); err != nil {
		t.Fatal(err)
	}
	if rr.order == nil || !rr.order.Indexed {
		t.Fatalf("old id not indexed: %+v", rr.order)
	}
	e.clock.Add(e.co.cfg.ReservationTTL + time.Second)
	if n, err := e.co.SweepOnce(ctx); n != 2 || err != nil {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if s := e.stock("old"); s.Reserved != 0 {
		t.Fatalf("stock %+v", s)
	}
}

// pendingAtMark leaves one pending order and sweeps once, so the
// reservation scan's mark exists.
func (e *env) pendingAtMark(t *testing.T) {
	t.Helper()
	tp, _ := testpay.New(testpay.DefaultConfig())
	g := &flakyGateway{Gateway: tp}
	co, err := New(e.st, e.cat, payment.Single("testpay", g), e.co.cfg, e.co.log, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	f := *e
	f.co = co
	pendingOrder(t, &f, g, "mark", "old")
	if _, err := e.co.SweepOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestIdempotencyScanIndexesRecordsNotDue sweeps idempotency records with
// a shorter TTL than they were written with: they stay until their own
// time.
func TestIdempotencyScanIndexesRecordsNotDue(t *testing.T) {
	ctx := context.Background()
	st := openEmbedded(t)
	long := newEnv(t, st, func(c *Config) { c.IdempotencyTTL = 48 * time.Hour }, nil)
	short := newEnv(t, st, nil, nil)
	long.product("idl", usd(100), 3)
	decodeOrder(t, must(long.checkout("k", long.cartWith("idl", 1), testpay.TokenOK)))
	h := hashKey(long.keyNS + "k")
	exists := func() bool {
		var err error
		_ = st.View(ctx, func(tx store.Txn) error { _, err = tx.Get(idemKey(h)); return nil })
		return err == nil
	}
	advance := func(d time.Duration) { long.clock.Add(d); short.clock.Add(d) }
	advance(25 * time.Hour)
	if _, err := short.co.SweepOnce(ctx); err != nil || !exists() {
		t.Fatalf("record swept before its time: %v", err)
	}
	advance(24 * time.Hour)
	if _, err := short.co.SweepOnce(ctx); err != nil || exists() {
		t.Fatalf("record kept after its time: %v", err)
	}
}

// TestReplayAfterCancelIsTheFirstAnswer replays a paid checkout's key after
// the order was cancelled and after a sweep: the answer is rendered from
// the order, and still the first answer byte for byte.
func TestReplayAfterCancelIsTheFirstAnswer(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, nil, nil)
		e.product("rep", usd(250), 3)
		cartID := e.cartWith("rep", 2)
		first := must(e.checkout("rep", cartID, testpay.TokenOK))
		o := decodeOrder(t, first)
		if _, err := e.co.Cancel(ctx, o.ID, o.Token); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(e.co.cfg.ReservationTTL + time.Second)
		if _, err := e.co.SweepOnce(ctx); err != nil {
			t.Fatal(err)
		}
		again := must(e.checkout("rep", cartID, testpay.TokenOK))
		if !again.Replayed || again.Status != first.Status || string(again.Body) != string(first.Body) {
			t.Fatalf("replay after cancel:\n%s\n%s", first.Body, again.Body)
		}
	})
}
