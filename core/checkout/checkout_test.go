package checkout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"shopedge/core/api"
	"shopedge/core/payment"
	"shopedge/core/payment/testpay"
	"shopedge/store"
)

var groupModes = []struct {
	name string
	mod  func(*Config)
}{
	{"group", func(c *Config) { c.GroupCommit = true }},
	{"single", func(c *Config) { c.GroupCommit = false }},
}

func TestFlashSale(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		for _, gm := range groupModes {
			t.Run(gm.name, func(t *testing.T) {
				buyers, units := 1000, int64(100)
				switch {
				case k.small && gm.name == "single":
					// One optimistic transaction per buyer on one hot key:
					// every commit conflicts with the others and retries.
					buyers, units = 20, 4
				case k.small:
					buyers, units = 200, 20
				}
				e := newEnv(t, st, gm.mod, nil)
				sku := "hot-" + gm.name
				e.product(sku, usd(4999), units)
				carts := make([]string, buyers)
				for i := range carts {
					carts[i] = e.cartWith(sku, 1)
				}
				var paid, short, other atomic.Int64
				var wg sync.WaitGroup
				for i := range carts {
					wg.Add(1)
					go func() {
						defer wg.Done()
						r, err := e.checkout(fmt.Sprintf("key-%d", i), carts[i], testpay.TokenOK)
						switch {
						case err != nil:
							other.Add(1)
							t.Error(err)
						case r.Status == 201:
							paid.Add(1)
						case r.Status == 409 && decodeError(t, r.Body).Code == api.ECodeOutOfStock:
							short.Add(1)
						default:
							other.Add(1)
							t.Errorf("status %d body %s", r.Status, r.Body)
						}
					}()
				}
				wg.Wait()
				if paid.Load() != units || short.Load() != int64(buyers)-units || other.Load() != 0 {
					t.Fatalf("paid %d short %d other %d", paid.Load(), short.Load(), other.Load())
				}
				s := e.stock(sku)
				if s.Sold != units || s.Reserved != 0 || s.Available != 0 {
					t.Fatalf("stock %+v", s)
				}
				if n, _ := e.gw.Stats(); n != int(units) {
					t.Fatalf("charged %d times", n)
				}
			})
		}
	})
}

func TestMultiLineAllOrNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		for _, gm := range groupModes {
			t.Run(gm.name, func(t *testing.T) {
				e := newEnv(t, st, gm.mod, nil)
				a, b := "a-"+gm.name, "b-"+gm.name
				e.product(a, usd(100), 10)
				e.product(b, usd(250), 1)
				r, err := e.checkout("k1", e.cartWith(a, 3, b, 2), testpay.TokenOK)
				if err != nil {
					t.Fatal(err)
				}
				if r.Status != 409 {
					t.Fatalf("status %d %s", r.Status, r.Body)
				}
				ae := decodeError(t, r.Body)
				short := ae.Details.([]api.ShortLine)
				if ae.Code != api.ECodeOutOfStock || len(short) != 1 || short[0] != (api.ShortLine{SKU: b, Requested: 2, Available: 1}) {
					t.Fatalf("error %+v", ae)
				}
				if s := e.stock(a); s.Reserved != 0 || s.Sold != 0 || s.Available != 10 {
					t.Fatalf("line a touched: %+v", s)
				}
				o := decodeOrder(t, must(e.checkout("k2", e.cartWith(a, 3, b, 1), testpay.TokenOK)))
				if o.Status != api.OrderPaid || o.Totals != (api.Money{Amount: 3*100 + 250, Currency: "USD"}) || len(o.Lines) != 2 {
					t.Fatalf("order %+v", o)
				}
				if s := e.stock(a); s.Sold != 3 || s.Available != 7 {
					t.Fatalf("stock a %+v", s)
				}
			})
		}
	})
}

func must(r Result, err error) Result {
	if err != nil {
		panic(err)
	}
	return r
}

func TestIdempotency(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		e := newEnv(t, st, nil, nil)
		e.product("idem", usd(500), 5)
		cartID := e.cartWith("idem", 1)
		first := must(e.checkout("key-1", cartID, testpay.TokenOK))
		o := decodeOrder(t, first)
		if o.Token == "" || o.ID == "" {
			t.Fatalf("order %+v", o)
		}
		again := must(e.checkout("key-1", cartID, testpay.TokenOK))
		if again.Status != first.Status || !bytes.Equal(again.Body, first.Body) || !again.Replayed {
			t.Fatalf("replay differs:\n%s\n%s", first.Body, again.Body)
		}
		// Same key, another body → 422 and nothing written.
		_, err := e.checkout("key-1", cartID, testpay.TokenDecline)
		if api.ErrorCode(err) != api.ECodeKeyReused {
			t.Fatalf("err %v", err)
		}
		if s := e.stock("idem"); s.Sold != 1 || s.Reserved != 0 {
			t.Fatalf("stock %+v", s)
		}
		if n, _ := e.gw.Stats(); n != 1 {
			t.Fatalf("charged %d times", n)
		}
		// An out-of-stock answer is stored too and replayed as is.
		big := e.cartWith("idem", 50)
		oos := must(e.checkout("key-2", big, testpay.TokenOK))
		oos2 := must(e.checkout("key-2", big, testpay.TokenOK))
		if oos.Status != 409 || !bytes.Equal(oos.Body, oos2.Body) {
			t.Fatalf("out of stock not replayed: %d %s / %s", oos.Status, oos.Body, oos2.Body)
		}
	})
}

func TestIdempotencyInFlight(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		e := newEnv(t, st, nil, nil)
		e.product("slow", usd(500), 5)
		cartID := e.cartWith("slow", 1)
		done := make(chan Result)
		go func() { done <- must(e.checkout("slow-key", cartID, testpay.TokenSlow)) }()
		// Wait until the first request holds the key.
		deadline := time.Now().Add(5 * time.Second)
		for e.stock("slow").Reserved == 0 {
			if time.Now().After(deadline) {
				t.Fatal("first request never reserved")
			}
			time.Sleep(time.Millisecond)
		}
		_, err := e.checkout("slow-key", cartID, testpay.TokenSlow)
		if api.ErrorCode(err) != api.ECodeInFlight {
			t.Fatalf("second request while in flight: %v", err)
		}
		first := <-done
		decodeOrder(t, first)
		again := must(e.checkout("slow-key", cartID, testpay.TokenSlow))
		if !bytes.Equal(first.Body, again.Body) {
			t.Fatal("replay differs")
		}
	})
}

func TestDeclineReleases(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		for _, gm := range groupModes {
			t.Run(gm.name, func(t *testing.T) {
				e := newEnv(t, st, gm.mod, nil)
				sku := "dec-" + gm.name
				e.product(sku, usd(700), 3)
				for i, tok := range []string{testpay.TokenDecline, testpay.TokenInsufficientFunds, "tok_unknown"} {
					cartID := e.cartWith(sku, 3)
					r := must(e.checkout(fmt.Sprint("d", i), cartID, tok))
					if r.Status != 402 || decodeError(t, r.Body).Code != api.ECodePaymentDeclined {
						t.Fatalf("%s: %d %s", tok, r.Status, r.Body)
					}
					if s := e.stock(sku); s.Available != 3 || s.Reserved != 0 {
						t.Fatalf("%s: stock %+v", tok, s)
					}
					// The cart survives a decline and can be paid with another token.
					if _, err := e.carts.Get(context.Background(), cartID); err != nil {
						t.Fatalf("cart gone after decline: %v", err)
					}
				}
				o := decodeOrder(t, must(e.checkout("ok", e.cartWith(sku, 3), testpay.TokenOK)))
				if o.Status != api.OrderPaid {
					t.Fatal(o.Status)
				}
			})
		}
	})
}

// unknownOrder checks out sku × 1 with g set so that the charge's outcome
// stays unknown (the charge fails; the lookup cannot reach the gateway),
// charging if charged is set; it returns the pending order.
func unknownOrder(t *testing.T, e *env, g *flakyGateway, key, sku string, charged bool) *orderRec {
	t.Helper()
	g.lookupDown.Store(true)
	if charged {
		g.lose.Store(1)
	} else {
		g.fail.Store(1)
	}
	_, err := e.checkout(key, e.cartWith(sku, 1), testpay.TokenOK)
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != api.ECodePaymentUnknown || ae.Details.(map[string]string)["order_id"] == "" {
		t.Fatalf("checkout whose outcome is unknown: %v", err)
	}
	o := e.orderOfKey(key)
	if o.Status != api.OrderPendingPayment || !o.Queued || o.unknown() != 0 {
		t.Fatalf("order left by an unknown outcome: %+v", o)
	}
	return o
}

// TestSweeperKeepsUnknownCharges leaves charges whose outcome is unknown
// (one that charged, one that did not) past their reservation's expiry:
// the sweeper releases neither, and the reconciler finalizes the charged
// one as paid and releases the other, once the gateway answers lookups.
func TestSweeperKeepsUnknownCharges(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		ctx := context.Background()
		g := newFlaky(t)
		e := newEnv(t, st, nil, g)
		e.product("unk", usd(100), 2)
		charged := unknownOrder(t, e, g, "charged", "unk", true)
		notCharged := unknownOrder(t, e, g, "not-charged", "unk", false)
		if s := e.stock("unk"); s.Reserved != 2 {
			t.Fatalf("reservations not held: %+v", s)
		}
		e.clock.Add(e.co.cfg.ReservationTTL + time.Second)
		if n, err := e.co.SweepOnce(ctx); n != 0 || err != nil {
			t.Fatalf("the sweeper expired %d orders whose charge is in doubt (%v)", n, err)
		}
		if s := e.stock("unk"); s.Reserved != 2 {
			t.Fatalf("the sweeper released stock of orders in doubt: %+v", s)
		}
		// The gateway is still unreachable: nothing changes.
		if st := e.reconcile(); st.Settled != 0 || st.Unresolved != 2 {
			t.Fatalf("reconciled without the gateway: %+v", st)
		}
		g.lookupDown.Store(false)
		if st := e.reconcile(); st.Settled != 2 || st.Unresolved != 0 {
			t.Fatalf("reconcile: %+v", st)
		}
		if o := e.order(charged.ID); o.Status != api.OrderPaid || o.chargeID() == "" || o.Queued {
			t.Fatalf("charged order after reconciliation: %+v", o)
		}
		if o := e.order(notCharged.ID); o.Status != api.OrderPaymentFailed || o.Attempts[0].Outcome != payment.OutcomeNotCharged {
			t.Fatalf("uncharged order after reconciliation: %+v", o)
		}
		if s := e.stock("unk"); s.Sold != 1 || s.Reserved != 0 {
			t.Fatalf("stock %+v", s)
		}
		// Each key now answers what happened: the paid order, and a 402
		// saying nothing was charged.
		r := must(e.checkout("charged", charged.CartID, testpay.TokenOK))
		if o := decodeOrder(t, r); o.ID != charged.ID || !r.Replayed || o.Token == "" {
			t.Fatalf("replay of the charged key: %+v", o)
		}
		r = must(e.checkout("not-charged", notCharged.CartID, testpay.TokenOK))
		if r.Status != 402 || !r.Replayed || !strings.Contains(string(r.Body), "nothing was charged") {
			t.Fatalf("replay of the uncharged key: %d %s", r.Status, r.Body)
		}
		// The uncharged order's cart is free again; the paid one's is not.
		if _, err := e.carts.SetQuantity(ctx, notCharged.CartID, "unk", 1); err != nil {
			t.Fatalf("cart of a released order still frozen: %v", err)
		}
		if _, err := e.carts.SetQuantity(ctx, charged.CartID, "unk", 2); api.ErrorCode(err) != api.ECodeConflict {
			t.Fatalf("cart of a paid order changed: %v", err)
		}
		if n, _ := g.Stats(); n != 1 {
			t.Fatalf("charged %d times", n)
		}
	})
}

// TestGatewayErrorReleasesAtOnce fails a charge without charging (testpay's
// tok_error): the lookup right after says nothing was charged, so the
// reservation is released at once — a failing token cannot hold stock for
// the reservation's lifetime — and the cart can be paid again.
func TestGatewayErrorReleasesAtOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		g := newFlaky(t)
		e := newEnv(t, st, nil, g)
		e.product("err", usd(100), 1)
		cartID := e.cartWith("err", 1)
		g.fail.Store(1)
		r := must(e.checkout("err", cartID, testpay.TokenOK))
		if r.Status != 402 || decodeError(t, r.Body).Code != api.ECodePaymentDeclined {
			t.Fatalf("charge that failed before charging: %d %s", r.Status, r.Body)
		}
		if s := e.stock("err"); s.Reserved != 0 || s.Available != 1 {
			t.Fatalf("reservation held: %+v", s)
		}
		if again := must(e.checkout("err", cartID, testpay.TokenOK)); !again.Replayed || again.Status != 402 {
			t.Fatalf("replay: %d %s", again.Status, again.Body)
		}
		decodeOrder(t, must(e.checkout("err-again", cartID, testpay.TokenOK)))
	})
}

// TestLostReplyPaysOnce loses the reply of a charge that went through:
// the lookup that follows finds it, and the order is paid at once, with
// one charge.
func TestLostReplyPaysOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		g := newFlaky(t)
		e := newEnv(t, st, nil, g)
		e.product("lost", usd(100), 1)
		g.lose.Store(1)
		o := decodeOrder(t, must(e.checkout("lost", e.cartWith("lost", 1), testpay.TokenOK)))
		if o.Status != api.OrderPaid || o.PaymentID == "" {
			t.Fatalf("order %+v", o)
		}
		if n, _ := g.Stats(); n != 1 || g.lookups.Load() != 1 {
			t.Fatalf("charged %d times, %d lookups", n, g.lookups.Load())
		}
	})
}

// TestChargeInFlightOutlivesReservation holds a charge past the
// reservation's expiry: the sweeper does not release the order (its charge
// is in progress), and when the charge completes the order is paid.
func TestChargeInFlightOutlivesReservation(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		g := newFlaky(t)
		g.hold, g.held = make(chan struct{}), make(chan struct{}, 1)
		e := newEnv(t, st, nil, g)
		e.product("race", usd(100), 1)
		done := make(chan Result)
		go func() { done <- must(e.checkout("race-key", e.cartWith("race", 1), testpay.TokenOK)) }()
		<-g.held
		e.clock.Add(e.co.cfg.ReservationTTL + time.Second)
		if n, err := e.co.SweepOnce(context.Background()); n != 0 || err != nil {
			t.Fatalf("sweep: %d %v", n, err)
		}
		close(g.hold)
		if o := decodeOrder(t, <-done); o.Status != api.OrderPaid {
			t.Fatalf("order %+v", o)
		}
		if s := e.stock("race"); s.Sold != 1 || s.Reserved != 0 {
			t.Fatalf("stock %+v", s)
		}
	})
}

// TestLateChargeOnCancelledOrderRefunds cancels a pending order while its
// charge is in flight. The charge then completes: the order stays
// cancelled, the refund is recorded with the charge and done by the refund
// worker, and the key's stored answer says only what was true when it was
// stored.
func TestLateChargeOnCancelledOrderRefunds(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		ctx := context.Background()
		g := newFlaky(t)
		g.hold, g.held = make(chan struct{}), make(chan struct{}, 1)
		e := newEnv(t, st, nil, g)
		e.product("late", usd(100), 1)
		cartID := e.cartWith("late", 1)
		done := make(chan Result)
		go func() { done <- must(e.checkout("late-key", cartID, testpay.TokenOK)) }()
		<-g.held
		o := e.orderOfKey("late-key")
		tok := e.tokenOfKey("late-key")
		c, err := e.co.Cancel(ctx, o.ID, tok)
		if err != nil || c.Status != api.OrderCancelled || c.RefundStatus != "" {
			t.Fatalf("cancel of a pending order: %+v %v", c, err)
		}
		if s := e.stock("late"); s.Reserved != 0 || s.Available != 1 {
			t.Fatalf("cancel did not release: %+v", s)
		}
		close(g.hold)
		r := <-done
		if r.Status != 409 || strings.Contains(string(r.Body), "refunded\"") || !strings.Contains(string(r.Body), "not known") {
			t.Fatalf("late payment: %d %s", r.Status, r.Body)
		}
		if o := e.order(o.ID); o.Status != api.OrderCancelled || o.Attempts[0].Outcome != payment.OutcomeCharged || o.Attempts[0].Refund != refundPending {
			t.Fatalf("order after the late charge: %+v", o)
		}
		if st := e.reconcile(); st.Refunded != 1 || st.RefundsPending != 0 {
			t.Fatalf("refund pass: %+v", st)
		}
		if charged, refunded := g.Stats(); charged != 1 || refunded != 1 {
			t.Fatalf("charged %d refunded %d", charged, refunded)
		}
		if got, _ := e.co.Order(ctx, o.ID, tok); got.RefundStatus != api.RefundSucceeded || got.PaymentID != "" {
			t.Fatalf("order shows %+v", got)
		}
		// The cart was unfrozen by the cancel and can be paid again.
		decodeOrder(t, must(e.checkout("again", cartID, testpay.TokenOK)))
	})
}

// tokenOfKey returns the access token of the order key's checkout created.
func (e *env) tokenOfKey(key string) string {
	e.t.Helper()
	var tok string
	_ = e.st.View(context.Background(), func(tx store.Txn) error {
		rec, err := loadIdemTx(tx, hashKey(e.keyNS+key))
		if err != nil || rec == nil {
			e.t.Fatalf("no record of key %s: %v", key, err)
		}
		tok = rec.Token
		return nil
	})
	return tok
}

// TestRetryAfterUnknownLooksUpFirst retries a key whose charge's outcome
// was unknown: within the retry window it is in flight; after it the
// retry looks the attempt up and never charges blindly under a new key.
// A charge that went through pays the order (one charge); one that did not
// ends it (nothing charged) and the cart can be checked out again.
func TestRetryAfterUnknownLooksUpFirst(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		for _, charged := range []bool{true, false} {
			t.Run(fmt.Sprint("charged=", charged), func(t *testing.T) {
				g := newFlaky(t)
				e := newEnv(t, st, nil, g)
				e.shared = true
				sku := fmt.Sprint("res-", charged)
				e.product(sku, usd(100), 1)
				o := unknownOrder(t, e, g, "res-key", sku, charged)
				if _, err := e.checkout("res-key", o.CartID, testpay.TokenOK); api.ErrorCode(err) != api.ECodeInFlight {
					t.Fatalf("within the retry window: %v", err)
				}
				g.lookupDown.Store(false)
				e.clock.Add(e.co.cfg.PaymentRetryAfter + time.Second)
				charges := g.charges.Load()
				r := must(e.checkout("res-key", o.CartID, testpay.TokenOK))
				if g.charges.Load() != charges {
					t.Fatal("the retry charged again instead of looking up")
				}
				if charged {
					got := decodeOrder(t, r)
					if got.ID != o.ID || got.Status != api.OrderPaid || got.Token == "" {
						t.Fatalf("resumed order %+v", got)
					}
					if _, err := e.co.Order(context.Background(), got.ID, got.Token); err != nil {
						t.Fatalf("token of resumed order: %v", err)
					}
				} else {
					if r.Status != 402 {
						t.Fatalf("retry of a charge that did not happen: %d %s", r.Status, r.Body)
					}
					decodeOrder(t, must(e.checkout("new-key", o.CartID, testpay.TokenOK)))
				}
				if n, _ := g.Stats(); n != 1 {
					t.Fatalf("charged %d", n)
				}
			})
		}
	})
}

// undeterminedStore reports ErrUndetermined for the first n Updates, after
// committing them (landed) or not.
type undeterminedStore struct {
	store.Store
	n      atomic.Int64
	landed bool
}

func (u *undeterminedStore) Update(ctx context.Context, fn func(tx store.Txn) error) error {
	if u.n.Add(-1) < 0 {
		return u.Store.Update(ctx, fn)
	}
	if u.landed {
		if err := u.Store.Update(ctx, fn); err != nil {
			return err
		}
	}
	return store.ErrUndetermined
}

func TestUndeterminedCommitMakesOneOrder(t *testing.T) {
	for _, landed := range []bool{true, false} {
		for _, gm := range groupModes {
			t.Run(fmt.Sprintf("landed=%v/%s", landed, gm.name), func(t *testing.T) {
				u := &undeterminedStore{Store: openEmbedded(t), landed: landed}
				e := newEnv(t, u, gm.mod, nil)
				e.product("und", usd(100), 5)
				cartID := e.cartWith("und", 2)
				u.n.Store(2) // the reserve and the first finalize attempt
				o := decodeOrder(t, must(e.checkout("und-key", cartID, testpay.TokenOK)))
				if s := e.stock("und"); s.Sold != 2 || s.Reserved != 0 {
					t.Fatalf("stock %+v", s)
				}
				var orders int
				_ = u.View(context.Background(), func(tx store.Txn) error {
					return tx.Scan([]byte(store.NSOrder), store.PrefixEnd([]byte(store.NSOrder)), 0, func(k, v []byte) error { orders++; return nil })
				})
				if orders != 1 || e.order(o.ID).Status != api.OrderPaid {
					t.Fatalf("%d orders", orders)
				}
				if n, _ := e.gw.Stats(); n != 1 {
					t.Fatalf("charged %d", n)
				}
			})
		}
	}
}

func TestCancel(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		ctx := context.Background()
		g := newFlaky(t)
		e := newEnv(t, st, nil, g)
		e.product("can", usd(300), 4)

		// Paid → restock and refund (confirmed at once), idempotent.
		o := decodeOrder(t, must(e.checkout("c1", e.cartWith("can", 2), testpay.TokenOK)))
		if _, err := e.co.Cancel(ctx, o.ID, "wrong"+o.Token[5:]); api.ErrorCode(err) != api.ECodeNotFound {
			t.Fatalf("wrong token: %v", err)
		}
		if _, err := e.co.Cancel(ctx, o.ID, ""); api.ErrorCode(err) != api.ECodeNotFound {
			t.Fatalf("missing token: %v", err)
		}
		for range 2 {
			c, err := e.co.Cancel(ctx, o.ID, o.Token)
			if err != nil || c.Status != api.OrderCancelled || c.RefundStatus != api.RefundSucceeded || c.PaymentID != o.PaymentID {
				t.Fatalf("cancel: %+v %v", c, err)
			}
		}
		if s := e.stock("can"); s.Sold != 0 || s.Available != 4 {
			t.Fatalf("not restocked: %+v", s)
		}
		if charged, refunded := g.Stats(); charged != 1 || refunded != 1 {
			t.Fatalf("charged %d refunded %d", charged, refunded)
		}

		// Pending, charge in doubt → released, and the reconciler settles
		// the attempt (nothing was charged: no refund).
		pending := unknownOrder(t, e, g, "c2", "can", false)
		tok := e.tokenOfKey("c2")
		c, err := e.co.Cancel(ctx, pending.ID, tok)
		if err != nil || c.Status != api.OrderCancelled {
			t.Fatalf("cancel pending: %+v %v", c, err)
		}
		if s := e.stock("can"); s.Reserved != 0 || s.Available != 4 {
			t.Fatalf("not released: %+v", s)
		}
		// The checkout's key now answers that the order ended, without
		// claiming a refund.
		e.clock.Add(time.Minute)
		r := must(e.checkout("c2", pending.CartID, testpay.TokenOK))
		if r.Status != 409 || strings.Contains(string(r.Body), "refunded\"") {
			t.Fatalf("after cancel: %d %s", r.Status, r.Body)
		}
		g.lookupDown.Store(false)
		if st := e.reconcile(); st.Settled != 1 || st.Unresolved != 0 {
			t.Fatalf("reconcile: %+v", st)
		}
		if o := e.order(pending.ID); o.Status != api.OrderCancelled || o.Attempts[0].Outcome != payment.OutcomeNotCharged || o.Queued {
			t.Fatalf("after reconcile: %+v", o)
		}
	})
}

// TestCancelAnswersWhileRefundFails cancels a paid order while the gateway
// refuses refunds for a while: the cancel answers at once (cancelled,
// refund pending), the refund stays queued (the gauge counts it), and
// reconciler passes retry it with backoff until the gateway confirms it,
// under one refund key, so the charge is refunded once.
func TestCancelAnswersWhileRefundFails(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		ctx := context.Background()
		g := newFlaky(t)
		e := newEnv(t, st, nil, g)
		e.product("rf", usd(300), 1)
		o := decodeOrder(t, must(e.checkout("rf", e.cartWith("rf", 1), testpay.TokenOK)))
		g.refundFail.Store(3)
		c, err := e.co.Cancel(ctx, o.ID, o.Token)
		if err != nil || c.Status != api.OrderCancelled || c.RefundStatus != api.RefundPending {
			t.Fatalf("cancel while refunds fail: %+v %v", c, err)
		}
		if st := e.reconcile(); st.RefundsPending != 1 || st.Refunded != 0 {
			t.Fatalf("refund retried before its backoff: %+v", st)
		}
		for i := 0; i < 20 && g.refundFail.Load() >= 0; i++ {
			e.clock.Add(e.co.cfg.RefundRetryMax)
			e.reconcile()
		}
		if st := e.reconcile(); st.RefundsPending != 0 {
			t.Fatalf("refund still pending: %+v", st)
		}
		got, _ := e.co.Order(ctx, o.ID, o.Token)
		if got.RefundStatus != api.RefundSucceeded {
			t.Fatalf("order %+v", got)
		}
		if _, refunded := g.Stats(); refunded != 1 || g.refundCalls.Load() != 4 {
			t.Fatalf("refunded %d with %d calls", refunded, g.refundCalls.Load())
		}
		if e.co.rec.refundsPending.Load() != 0 {
			t.Fatal("gauge not updated")
		}
	})
}

func TestOrderAccess(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, nil, nil)
		e.product("acc", usd(300), 4)
		o := decodeOrder(t, must(e.checkout("a1", e.cartWith("acc", 1), testpay.TokenOK)))
		got, err := e.co.Order(ctx, o.ID, o.Token)
		if err != nil || got.ID != o.ID || got.Status != api.OrderPaid || got.Token != "" || got.PaymentID == "" {
			t.Fatalf("order %+v %v", got, err)
		}
		for _, c := range [][2]string{{o.ID, ""}, {o.ID, o.Token[:31]}, {o.ID, o.Token + "x"}, {"nope", o.Token}, {"", ""}} {
			if _, err := e.co.Order(ctx, c[0], c[1]); api.ErrorCode(err) != api.ECodeNotFound {
				t.Fatalf("%q: %v", c, err)
			}
		}
	})
}

func TestIdempotencySweep(t *testing.T) {
	e := newEnv(t, openEmbedded(t), nil, nil)
	e.product("sw", usd(100), 5)
	cartID := e.cartWith("sw", 1)
	first := must(e.checkout("sw-key", cartID, testpay.TokenOK))
	e.clock.Add(e.co.cfg.IdempotencyTTL + time.Second)
	if _, err := e.co.SweepOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	_ = e.st.View(context.Background(), func(tx store.Txn) error {
		if _, err := tx.Get(idemKey(hashKey(e.keyNS + "sw-key"))); err == nil {
			t.Error("idempotency record survived its TTL")
		}
		return nil
	})
	// The key is free again; the cart stays frozen by the paid order.
	_, err := e.checkout("sw-key", cartID, testpay.TokenOK)
	if api.ErrorCode(err) != api.ECodeConflict || !strings.Contains(err.Error(), decodeOrder(t, first).ID) {
		t.Fatalf("after sweep: %v (first %d)", err, first.Status)
	}
}

func TestValidateRequest(t *testing.T) {
	ok := api.CheckoutRequest{CartID: "0123456789abcdef0123456789abcdef", PaymentToken: "tok_ok", Email: "a.b+c@example.co.uk"}
	f := func(key string, mod func(r *api.CheckoutRequest), field string) {
		t.Helper()
		r := ok
		if mod != nil {
			mod(&r)
		}
		err := ValidateRequest(key, r)
		if field == "" {
			if err != nil {
				t.Fatalf("unexpected %v", err)
			}
			return
		}
		var e *api.Error
		if err == nil || !asErr(err, &e) || e.Field != field {
			t.Fatalf("want field %s, got %v", field, err)
		}
	}
	f("k", nil, "")
	f("", nil, "Idempotency-Key")
	f(string(bytes.Repeat([]byte("k"), 256)), nil, "Idempotency-Key")
	f("k\x01", nil, "Idempotency-Key")
	f("ké", nil, "Idempotency-Key")
	f(string(bytes.Repeat([]byte("k"), 255)), nil, "")
	f("k", func(r *api.CheckoutRequest) { r.CartID = "" }, "cart_id")
	f("k", func(r *api.CheckoutRequest) { r.CartID = "../../x" }, "cart_id")
	f("k", func(r *api.CheckoutRequest) { r.PaymentToken = "" }, "payment_token")
	f("k", func(r *api.CheckoutRequest) { r.PaymentToken = string(bytes.Repeat([]byte("t"), 129)) }, "payment_token")
	for _, bad := range []string{"", "a", "a@", "@b.c", "a@b", "a b@c.d", "a@b..c", "a@-b.c", "a@b.c\n", "<a@b.c>", string(bytes.Repeat([]byte("a"), 250)) + "@b.co"} {
		f("k", func(r *api.CheckoutRequest) { r.Email = bad }, "email")
	}
}

func asErr(err error, e **api.Error) bool {
	var x *api.Error
	ok := false
	if x, ok = err.(*api.Error); ok {
		*e = x
	}
	return ok
}

func TestCloseFailsQueuedRequests(t *testing.T) {
	e := newEnv(t, openEmbedded(t), nil, nil)
	e.product("close", usd(100), 5)
	cartID := e.cartWith("close", 1)
	e.co.Close()
	done := make(chan error, 1)
	go func() { _, err := e.checkout("after-close", cartID, testpay.TokenOK); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("checkout after Close succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("checkout after Close hangs")
	}
}
