package checkout

import (
	"context"
	"testing"
	"time"

	"shopedge/core/api"
	"shopedge/core/cart"
	"shopedge/core/payment/testpay"
	"shopedge/store"
)

// TestScanIndexesOrdersNotDue sweeps with a shorter reservation TTL than
// the order was placed with: the scan passes the order and indexes it.
// When its own time comes its charge is still in doubt, so the sweeper
// hands it to the reconciler instead of expiring it, and the reconciler
// releases it once the gateway says nothing was charged.
func TestScanIndexesOrdersNotDue(t *testing.T) {
	ctx := context.Background()
	st := openEmbedded(t)
	g := newFlaky(t)
	long := newEnv(t, st, func(c *Config) { c.ReservationTTL = 30 * time.Minute }, g)
	short := newEnv(t, st, nil, nil)
	long.shared, short.shared = true, true
	long.product("ttl", usd(100), 3)
	o := unknownOrder(t, long, g, "k", "ttl", false)
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
	if n, err := short.co.SweepOnce(ctx); n != 0 || err != nil {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if o = long.order(o.ID); o.Status != api.OrderPendingPayment || o.Indexed || !o.Queued {
		t.Fatalf("due with its charge in doubt: %+v", o)
	}
	g.lookupDown.Store(false)
	if st := long.reconcile(); st.Settled != 1 {
		t.Fatalf("reconcile: %+v", st)
	}
	if o = long.order(o.ID); o.Status != api.OrderPaymentFailed || o.Indexed || o.Queued {
		t.Fatalf("after reconciliation: %+v", o)
	}
	if s := long.stock("ttl"); s.Reserved != 0 || s.Available != 3 {
		t.Fatalf("stock %+v", s)
	}
}

// TestOldOrderIDIsIndexed stores an order whose id was drawn long before:
// the expiry scan and the reconciler's scan may have passed its time, so it
// is indexed and queued at once, and the reconciler finds it.
func TestOldOrderIDIsIndexed(t *testing.T) {
	ctx := context.Background()
	g := newFlaky(t)
	e := newEnv(t, openEmbedded(t), nil, g)
	e.product("old", usd(100), 2)
	// A sweep and a reconciler pass first, so both scans' marks exist.
	mark := unknownOrder(t, e, g, "mark", "old", false)
	e.clock.Add(time.Duration(2*e.co.leaseSecs()+1) * time.Second)
	if _, err := e.co.SweepOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.co.ReconcileOnce(ctx); err != nil {
		t.Fatal(err)
	}
	cartID := e.cartWith("old", 1)
	q := reserveReq{
		keyHash: hashKey(e.keyNS + "old"), fp: "f", cartID: cartID, email: "a@example.com", payToken: testpay.TokenOK,
		orderID: newOrderID(e.clock.Now().Add(-e.co.cfg.ReservationTTL).UnixNano()), token: cart.NewID(),
	}
	var rr reserveRes
	if err := e.st.Update(ctx, func(tx store.Txn) (err error) { rr, err = e.co.reserveTx(tx, q); return err }); err != nil {
		t.Fatal(err)
	}
	if rr.order == nil || !rr.order.Indexed || !rr.order.Queued {
		t.Fatalf("old id not indexed and queued: %+v", rr.order)
	}
	// Its request never charged (a crash): the reconciler looks it up
	// once its lease is over, and releases it with the other.
	g.lookupDown.Store(false)
	e.clock.Add(time.Duration(e.co.leaseSecs()+1) * time.Second)
	if st := e.reconcile(); st.Settled != 2 {
		t.Fatalf("reconcile: %+v", st)
	}
	if s := e.stock("old"); s.Reserved != 0 {
		t.Fatalf("stock %+v", s)
	}
	if o := e.order(mark.ID); o.Status != api.OrderPaymentFailed {
		t.Fatalf("order %+v", o)
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
