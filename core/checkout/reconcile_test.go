package checkout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"

	"shopedge/core/api"
	"shopedge/core/cart"
	"shopedge/core/payment"
	"shopedge/core/payment/testpay"
	"shopedge/store"
)

// twoGateways returns an env routing every payment to gateway "a", then
// "b".
func twoGateways(t *testing.T, st store.Store) (*env, *flakyGateway, *flakyGateway) {
	t.Helper()
	a, b := newFlaky(t), newFlaky(t)
	e := newEnvRouter(t, st, nil, []string{"a", "b"}, map[string]payment.Gateway{"a": a, "b": b})
	return e, a, b
}

// TestFailover moves to the next gateway only when an attempt provably
// charged nothing: the request never left, or the gateway's lookup says so
// after an error. An attempt whose outcome is unknown is never followed by
// another: the next gateway is not called.
func TestFailover(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		t.Run("not-sent", func(t *testing.T) {
			e, a, b := twoGateways(t, st)
			e.product("fo1", usd(100), 1)
			a.notSent.Store(1)
			o := decodeOrder(t, must(e.checkout("k", e.cartWith("fo1", 1), testpay.TokenOK)))
			rec := e.order(o.ID)
			if len(rec.Attempts) != 2 || rec.Attempts[0].Gateway != "a" || rec.Attempts[0].Outcome != payment.OutcomeNotCharged ||
				rec.Attempts[1].Gateway != "b" || rec.PaidBy != 2 || rec.chargeRequest(1).Key != o.ID+"-2" {
				t.Fatalf("attempts %+v paid by %d", rec.Attempts, rec.PaidBy)
			}
			if na, _ := a.Stats(); na != 0 {
				t.Fatal("gateway a charged")
			}
			if nb, _ := b.Stats(); nb != 1 {
				t.Fatal("gateway b did not charge")
			}
		})
		t.Run("lookup-says-not-charged", func(t *testing.T) {
			e, a, b := twoGateways(t, st)
			e.product("fo2", usd(100), 1)
			a.fail.Store(1)
			decodeOrder(t, must(e.checkout("k", e.cartWith("fo2", 1), testpay.TokenOK)))
			if a.lookups.Load() != 1 || b.charges.Load() != 1 {
				t.Fatalf("lookups at a %d, charges at b %d", a.lookups.Load(), b.charges.Load())
			}
		})
		t.Run("unknown-stays", func(t *testing.T) {
			e, a, b := twoGateways(t, st)
			e.product("fo3", usd(100), 1)
			a.fail.Store(1)
			a.lookupDown.Store(true)
			if _, err := e.checkout("k", e.cartWith("fo3", 1), testpay.TokenOK); api.ErrorCode(err) != api.ECodePaymentUnknown {
				t.Fatalf("unknown outcome: %v", err)
			}
			if b.charges.Load() != 0 {
				t.Fatal("moved on to gateway b while a's outcome was unknown")
			}
			// The reconciler does not charge: it finds a charged nothing and
			// releases the order.
			a.lookupDown.Store(false)
			e.clock.Add(time.Duration(e.co.leaseSecs()) * time.Second)
			if st := e.reconcile(); st.Settled != 1 || b.charges.Load() != 0 {
				t.Fatalf("reconcile %+v, charges at b %d", st, b.charges.Load())
			}
		})
		t.Run("all-gateways-fail", func(t *testing.T) {
			e, a, b := twoGateways(t, st)
			e.product("fo4", usd(100), 1)
			a.notSent.Store(1)
			b.fail.Store(1)
			r := must(e.checkout("k", e.cartWith("fo4", 1), testpay.TokenOK))
			if r.Status != 402 || !strings.Contains(string(r.Body), "nothing was charged") {
				t.Fatalf("every gateway failed: %d %s", r.Status, r.Body)
			}
			if s := e.stock("fo4"); s.Reserved != 0 {
				t.Fatalf("stock %+v", s)
			}
		})
	})
}

// TestReconcilerAfterCrash leaves orders as a core killed at each step of
// a checkout would: reserved but never charged, and charged but never
// recorded. The reconciler finds them by its scan (no queue entry was
// written) once their lease is over: the first is released (the gateway
// fences the key, so the lost request can never charge), the second paid.
// A reconciler that does nothing fails this test.
func TestReconcilerAfterCrash(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		ctx := context.Background()
		g := newFlaky(t)
		e := newEnv(t, st, nil, g)
		e.product("crash", usd(100), 2)
		reserve := func(key string) *orderRec {
			t.Helper()
			q := reserveReq{
				keyHash: hashKey(e.keyNS + key), fp: "fp-" + key, cartID: e.cartWith("crash", 1), email: "a@example.com",
				orderID: newOrderID(e.clock.Now().UnixNano()), token: cart.NewID(), payToken: testpay.TokenOK,
			}
			var rr reserveRes
			if err := e.st.Update(ctx, func(tx store.Txn) (err error) { rr, err = e.co.reserveTx(tx, q); return err }); err != nil {
				t.Fatal(err)
			}
			return rr.order
		}
		never := reserve("never-charged")
		charged := reserve("charged")
		if _, err := g.Charge(ctx, charged.chargeRequest(0)); err != nil {
			t.Fatal(err)
		}
		// Within two leases the scan leaves them alone.
		if st := e.reconcile(); st.Settled != 0 {
			t.Fatalf("reconciled within the lease: %+v", st)
		}
		e.clock.Add(time.Duration(2*e.co.leaseSecs()+1) * time.Second)
		if st := e.reconcile(); st.Settled != 2 {
			t.Fatalf("reconcile: %+v", st)
		}
		if o := e.order(never.ID); o.Status != api.OrderPaymentFailed {
			t.Fatalf("never charged: %+v", o)
		}
		if o := e.order(charged.ID); o.Status != api.OrderPaid || o.chargeID() == "" {
			t.Fatalf("charged: %+v", o)
		}
		// The lost request can no longer charge under its key.
		if _, err := g.Charge(ctx, never.chargeRequest(0)); err == nil {
			t.Fatal("a fenced key charged")
		}
		if s := e.stock("crash"); s.Sold != 1 || s.Reserved != 0 {
			t.Fatalf("stock %+v", s)
		}
	})
}

// TestDoubleClick checks out one cart under many Idempotency-Keys at once,
// with a slow charge: one order, one charge; every other request gets a
// 409 naming that order (or, if it came before, the reservation it lost).
func TestDoubleClick(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		g := newFlaky(t)
		g.hold, g.held = make(chan struct{}), make(chan struct{}, 16)
		e := newEnv(t, st, nil, g)
		e.product("dbl", usd(100), 10)
		cartID := e.cartWith("dbl", 2)
		const clicks = 8
		var wg sync.WaitGroup
		var paid, conflicts atomic.Int64
		var orderID atomic.Value
		for i := range clicks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := e.checkout(fmt.Sprint("click-", i), cartID, testpay.TokenOK)
				var ae *api.Error
				switch {
				case err == nil && r.Status == 201:
					paid.Add(1)
					orderID.Store(decodeOrder(t, r).ID)
				case errors.As(err, &ae) && ae.Code == api.ECodeConflict && ae.Field == "cart_id":
					conflicts.Add(1)
				default:
					t.Errorf("click %d: %d %s %v", i, r.Status, r.Body, err)
				}
			}()
		}
		<-g.held
		time.Sleep(50 * time.Millisecond)
		close(g.hold)
		wg.Wait()
		if paid.Load() != 1 || conflicts.Load() != clicks-1 {
			t.Fatalf("paid %d, conflicts %d", paid.Load(), conflicts.Load())
		}
		if n, _ := g.Stats(); n != 1 {
			t.Fatalf("charged %d times", n)
		}
		if s := e.stock("dbl"); s.Sold != 2 || s.Reserved != 0 {
			t.Fatalf("stock %+v", s)
		}
		_, err := e.checkout("later", cartID, testpay.TokenOK)
		if err == nil || !strings.Contains(err.Error(), orderID.Load().(string)) {
			t.Fatalf("a later checkout of the paid cart: %v", err)
		}
	})
}

// TestRefundsOnSeveralCores runs the refund worker of three cores at once
// over refunds that failed once: each is refunded once, under its one key,
// and confirmed once.
func TestRefundsOnSeveralCores(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		ctx := context.Background()
		g := newFlaky(t)
		e := newEnv(t, st, nil, g)
		const orders = 6
		e.product("multi", usd(100), orders)
		var paid []api.Order
		for i := range orders {
			paid = append(paid, decodeOrder(t, must(e.checkout(fmt.Sprint("m", i), e.cartWith("multi", 1), testpay.TokenOK))))
		}
		g.refundFail.Store(orders)
		for _, o := range paid {
			if c, err := e.co.Cancel(ctx, o.ID, o.Token); err != nil || c.RefundStatus != api.RefundPending {
				t.Fatalf("cancel: %+v %v", c, err)
			}
		}
		others := make([]*Service, 2)
		for i := range others {
			co, err := New(e.st, e.cat, payment.Single("testpay", g), e.co.cfg, zerolog.Nop(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer co.Close()
			others[i] = co
		}
		e.clock.Add(e.co.cfg.RefundRetryMax)
		var wg sync.WaitGroup
		var refunded atomic.Int64
		for _, co := range append(others, e.co) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, err := co.ReconcileOnce(ctx)
				if err != nil {
					t.Error(err)
				}
				refunded.Add(int64(st.Refunded))
			}()
		}
		wg.Wait()
		if refunded.Load() != orders {
			t.Fatalf("%d refunds confirmed, want %d", refunded.Load(), orders)
		}
		if _, n := g.Stats(); n != orders {
			t.Fatalf("refunded %d charges", n)
		}
		if st := e.reconcile(); st.RefundsPending != 0 {
			t.Fatalf("after: %+v", st)
		}
	})
}

// TestAdminListings pages through the unresolved payments and the refunds
// an operator sees, and refuses bad parameters.
func TestAdminListings(t *testing.T) {
	ctx := context.Background()
	g := newFlaky(t)
	e := newEnv(t, openEmbedded(t), nil, g)
	e.product("adm", usd(250), 10)
	var ids []string
	for i := range 5 {
		ids = append(ids, unknownOrder(t, e, g, fmt.Sprint("u", i), "adm", i%2 == 0).ID)
	}
	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		items, next, err := e.co.ListUnresolved(ctx, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.Status != api.OrderPendingPayment || it.Amount.Amount != 250 || len(it.Attempts) != 1 ||
				it.Attempts[0].Outcome != "unknown" || it.Attempts[0].Key != it.OrderID || it.Attempts[0].Gateway != "testpay" {
				t.Fatalf("item %+v", it)
			}
			seen = append(seen, it.OrderID)
		}
		if next == "" {
			break
		}
		if page > 5 {
			t.Fatal("pages never end")
		}
		cursor = next
	}
	slices.Sort(ids) // the test clock stands still: ids sort by their random part
	if strings.Join(seen, ",") != strings.Join(ids, ",") {
		t.Fatalf("listed %v, want %v", seen, ids)
	}
	for _, bad := range []struct {
		cursor string
		limit  int
		field  string
	}{{"zz", 10, "after"}, {"", 0, "limit"}, {"", MaxListLimit + 1, "limit"}} {
		_, _, err := e.co.ListUnresolved(ctx, bad.cursor, bad.limit)
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Field != bad.field {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
	if _, _, err := e.co.ListRefunds(ctx, "done", "", 10); api.ErrorCode(err) != api.ECodeInvalid {
		t.Fatalf("bad state: %v", err)
	}
	// Refunds: two cancelled paid orders, refunds failing.
	g.lookupDown.Store(false)
	var paid []api.Order
	for i := range 2 {
		paid = append(paid, decodeOrder(t, must(e.checkout(fmt.Sprint("p", i), e.cartWith("adm", 1), testpay.TokenOK))))
	}
	g.refundFail.Store(100)
	for _, o := range paid {
		if _, err := e.co.Cancel(ctx, o.ID, o.Token); err != nil {
			t.Fatal(err)
		}
	}
	slices.SortFunc(paid, func(a, b api.Order) int { return strings.Compare(a.ID, b.ID) })
	for i, cursor := 0, ""; i < 2; i++ {
		refunds, next, err := e.co.ListRefunds(ctx, RefundsPending, cursor, 1)
		if err != nil || len(refunds) != 1 || (next == "") != (i == 1) {
			t.Fatalf("page %d: %+v %q %v", i, refunds, next, err)
		}
		r, o := refunds[0], paid[i]
		if r.OrderID != o.ID || r.Key != "refund-"+o.ID || r.ChargeID != o.PaymentID || r.Tries != 1 || r.LastError == "" || r.State != "pending" || r.Amount != o.Totals {
			t.Fatalf("page %d: %+v for %+v", i, r, o)
		}
		cursor = next
	}
	if refunds, _, _ := e.co.ListRefunds(ctx, RefundsRefused, "", 10); len(refunds) != 0 {
		t.Fatalf("refused %+v", refunds)
	}
	g.refundFail.Store(0)
	e.clock.Add(e.co.cfg.RefundRetryMax)
	e.clock.Add(time.Duration(e.co.leaseSecs()) * time.Second)
	e.reconcile()
	if refunds, _, _ := e.co.ListRefunds(ctx, RefundsAll, "", 10); len(refunds) != 0 {
		t.Fatalf("confirmed refunds still listed: %+v", refunds)
	}
	// Leave the books balanced: settle the unknown payments.
	e.reconcile()
}

// TestMetrics checks the payment gauges and counters as /metrics shows
// them.
func TestMetrics(t *testing.T) {
	ms := metrics.NewSet()
	g := newFlaky(t)
	e := newEnv(t, openEmbedded(t), nil, g)
	co, err := New(e.st, e.cat, payment.Single("testpay", g), e.co.cfg, zerolog.Nop(), ms)
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	e.co.Close()
	e.co = co
	e.product("met", usd(100), 3)
	unknownOrder(t, e, g, "u1", "met", true)
	o := decodeOrder(t, must(e.checkout("p1", e.cartWith("met", 1), testpay.TokenOK)))
	g.refundFail.Store(1)
	if _, err := co.Cancel(context.Background(), o.ID, o.Token); err != nil {
		t.Fatal(err)
	}
	e.reconcile()
	var b bytes.Buffer
	ms.WritePrometheus(&b)
	for _, want := range []string{
		"shopedge_payments_unresolved 1\n", "shopedge_refunds_pending 1\n",
		`shopedge_checkouts_total{result="payment_unknown"} 1`, `shopedge_refunds_total{result="failed"} 1`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Fatalf("metrics lack %q:\n%s", want, b.String())
		}
	}
	g.lookupDown.Store(false)
	e.clock.Add(e.co.cfg.RefundRetryMax)
	e.reconcile()
	b.Reset()
	ms.WritePrometheus(&b)
	for _, want := range []string{
		"shopedge_payments_unresolved 0\n", "shopedge_refunds_pending 0\n",
		`shopedge_reconciler_outcomes_total{outcome="paid"} 1`, `shopedge_refunds_total{result="succeeded"} 1`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Fatalf("metrics lack %q:\n%s", want, b.String())
		}
	}
}

// TestVersion1RefundRequeued reads a version 1 order whose refund had
// failed (version 1 retried it only on another cancel): the reconciler's
// scan gives it a work item, and the refund worker does it.
func TestVersion1RefundRequeued(t *testing.T) {
	ctx := context.Background()
	g := newFlaky(t)
	e := newEnv(t, openEmbedded(t), nil, g)
	e.product("v1", usd(100), 1)
	o := decodeOrder(t, must(e.checkout("v1", e.cartWith("v1", 1), testpay.TokenOK)))
	rec := e.order(o.ID)
	rec.Status = api.OrderCancelled
	err := e.st.Update(ctx, func(tx store.Txn) error {
		if err := e.cat.AdjustStock(tx, "v1", func(s *api.Stock) error { s.Sold--; return nil }); err != nil {
			return err
		}
		return tx.Set(orderKey(o.ID), encodeOrderRecV1(rec, o.PaymentID, true))
	})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Duration(2*e.co.leaseSecs()+1) * time.Second)
	if st := e.reconcile(); st.Refunded != 1 {
		t.Fatalf("reconcile: %+v", st)
	}
	if got := e.order(o.ID); got.Attempts[0].Refund != refundSucceeded {
		t.Fatalf("order %+v", got)
	}
	if _, n := g.Stats(); n != 1 {
		t.Fatalf("refunded %d", n)
	}
}
