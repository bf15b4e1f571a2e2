package checkout

import (
	"bytes"
	"context"
	"fmt"
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

// flakyGateway fails its first n charges with an unknown outcome, and can
// hold charges until released.
type flakyGateway struct {
	*testpay.Gateway
	fail atomic.Int64
	hold chan struct{} // when non-nil, Charge waits for it to be closed
	held chan struct{} // signalled when a charge starts waiting
}

func (g *flakyGateway) Charge(ctx context.Context, req payment.ChargeRequest) (payment.Charge, error) {
	if g.fail.Add(-1) >= 0 {
		return payment.Charge{}, fmt.Errorf("network: %w", payment.ErrGateway)
	}
	if g.hold != nil {
		g.held <- struct{}{}
		<-g.hold
	}
	return g.Gateway.Charge(ctx, req)
}

func TestExpiryReleases(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		tp, _ := testpay.New(testpay.DefaultConfig())
		g := &flakyGateway{Gateway: tp}
		g.fail.Store(1)
		e := newEnv(t, st, nil, g)
		e.product("exp", usd(100), 2)
		cartID := e.cartWith("exp", 2)
		_, err := e.checkout("exp-key", cartID, testpay.TokenOK)
		if api.ErrorCode(err) != api.ECodePaymentUnknown {
			t.Fatalf("unknown payment outcome: %v", err)
		}
		if s := e.stock("exp"); s.Reserved != 2 {
			t.Fatalf("reservation not held: %+v", s)
		}
		if n, err := e.co.SweepOnce(context.Background()); n != 0 || err != nil {
			t.Fatalf("swept early: %d %v", n, err)
		}
		e.clock.Add(e.co.cfg.ReservationTTL + time.Second)
		if n, err := e.co.SweepOnce(context.Background()); n != 1 || err != nil {
			t.Fatalf("sweep: %d %v", n, err)
		}
		if s := e.stock("exp"); s.Reserved != 0 || s.Available != 2 {
			t.Fatalf("not released: %+v", s)
		}
		// The key now answers that the order ended.
		r := must(e.checkout("exp-key", cartID, testpay.TokenOK))
		if r.Status != 409 || !r.Replayed {
			t.Fatalf("after expiry: %d %s", r.Status, r.Body)
		}
		// A second sweep finds nothing.
		if n, _ := e.co.SweepOnce(context.Background()); n != 0 {
			t.Fatalf("second sweep expired %d", n)
		}
	})
}

func TestPaymentAfterExpiryRefunds(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		tp, _ := testpay.New(testpay.DefaultConfig())
		g := &flakyGateway{Gateway: tp, hold: make(chan struct{}), held: make(chan struct{}, 1)}
		e := newEnv(t, st, nil, g)
		e.product("race", usd(100), 1)
		cartID := e.cartWith("race", 1)
		done := make(chan Result)
		go func() { done <- must(e.checkout("race-key", cartID, testpay.TokenOK)) }()
		<-g.held
		e.clock.Add(e.co.cfg.ReservationTTL + time.Second)
		if n, err := e.co.SweepOnce(context.Background()); n != 1 || err != nil {
			t.Fatalf("sweep: %d %v", n, err)
		}
		close(g.hold)
		r := <-done
		if r.Status != 409 {
			t.Fatalf("late payment: %d %s", r.Status, r.Body)
		}
		if charged, refunded := tp.Stats(); charged != 1 || refunded != 1 {
			t.Fatalf("charged %d refunded %d", charged, refunded)
		}
		if s := e.stock("race"); s.Sold != 0 || s.Available != 1 {
			t.Fatalf("released stock sold: %+v", s)
		}
	})
}

func TestResumeAfterUnknownPayment(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		tp, _ := testpay.New(testpay.DefaultConfig())
		g := &flakyGateway{Gateway: tp}
		g.fail.Store(1)
		e := newEnv(t, st, nil, g)
		e.product("res", usd(100), 1)
		cartID := e.cartWith("res", 1)
		if _, err := e.checkout("res-key", cartID, testpay.TokenOK); api.ErrorCode(err) != api.ECodePaymentUnknown {
			t.Fatalf("first: %v", err)
		}
		// Within the lease the key is in flight.
		if _, err := e.checkout("res-key", cartID, testpay.TokenOK); api.ErrorCode(err) != api.ECodeInFlight {
			t.Fatalf("within lease: %v", err)
		}
		e.clock.Add(e.co.cfg.PaymentTimeout + 5*time.Second)
		o := decodeOrder(t, must(e.checkout("res-key", cartID, testpay.TokenOK)))
		if o.Status != api.OrderPaid || o.Token == "" {
			t.Fatalf("resumed order %+v", o)
		}
		if _, err := e.co.Order(context.Background(), o.ID, o.Token); err != nil {
			t.Fatalf("token of resumed order: %v", err)
		}
		if n, _ := tp.Stats(); n != 1 {
			t.Fatalf("charged %d", n)
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
		tp, _ := testpay.New(testpay.DefaultConfig())
		g := &flakyGateway{Gateway: tp}
		e := newEnv(t, st, nil, g)
		e.product("can", usd(300), 4)

		// Paid → restock and refund, idempotent.
		o := decodeOrder(t, must(e.checkout("c1", e.cartWith("can", 2), testpay.TokenOK)))
		if _, err := e.co.Cancel(ctx, o.ID, "wrong"+o.Token[5:]); api.ErrorCode(err) != api.ECodeNotFound {
			t.Fatalf("wrong token: %v", err)
		}
		if _, err := e.co.Cancel(ctx, o.ID, ""); api.ErrorCode(err) != api.ECodeNotFound {
			t.Fatalf("missing token: %v", err)
		}
		for range 2 {
			c, err := e.co.Cancel(ctx, o.ID, o.Token)
			if err != nil || c.Status != api.OrderCancelled {
				t.Fatalf("cancel: %+v %v", c, err)
			}
		}
		if s := e.stock("can"); s.Sold != 0 || s.Available != 4 {
			t.Fatalf("not restocked: %+v", s)
		}
		if charged, refunded := tp.Stats(); charged != 1 || refunded != 1 {
			t.Fatalf("charged %d refunded %d", charged, refunded)
		}

		// Pending → release.
		g.fail.Store(1)
		cartID := e.cartWith("can", 3)
		if _, err := e.checkout("c2", cartID, testpay.TokenOK); api.ErrorCode(err) != api.ECodePaymentUnknown {
			t.Fatal(err)
		}
		var pending *orderRec
		_ = st.View(ctx, func(tx store.Txn) error {
			rec, _ := loadIdemTx(tx, hashKey(e.keyNS+"c2"))
			pending, _ = loadOrderTx(tx, rec.OrderID)
			tok := rec.Token
			if !tokenMatches(pending, tok) {
				t.Error("stored token does not match")
			}
			c, err := e.co.Cancel(ctx, pending.ID, tok)
			if err != nil || c.Status != api.OrderCancelled {
				t.Errorf("cancel pending: %+v %v", c, err)
			}
			return nil
		})
		if s := e.stock("can"); s.Reserved != 0 || s.Available != 4 {
			t.Fatalf("not released: %+v", s)
		}
		// The checkout's key now answers that the order ended.
		e.clock.Add(time.Minute)
		if r := must(e.checkout("c2", cartID, testpay.TokenOK)); r.Status != 409 {
			t.Fatalf("after cancel: %d %s", r.Status, r.Body)
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
	// The key is free again; the cart was consumed by the paid order.
	_, err := e.checkout("sw-key", cartID, testpay.TokenOK)
	if api.ErrorCode(err) != api.ECodeNotFound {
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
