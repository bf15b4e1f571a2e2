package checkout

import (
	"context"
	"errors"
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

// errKilled is what a killed core's store answers.
var errKilled = errors.New("the core was killed: connection refused")

// killableStore is one core's connection to a store other cores share:
// once killed, every transaction fails as if the core's process were gone
// (nothing it had not committed is written). dieAt kills it when the n-th
// Update from now begins, so a core can die in the middle of a pass.
type killableStore struct {
	store.Store
	dead atomic.Bool
	// updatesLeft, when > 0, counts down the Updates still allowed.
	updatesLeft atomic.Int64
}

func (s *killableStore) kill()   { s.dead.Store(true) }
func (s *killableStore) revive() { s.dead.Store(false) }

// dieAt kills s when its n-th Update from now begins.
func (s *killableStore) dieAt(n int64) { s.updatesLeft.Store(n) }

func (s *killableStore) Update(ctx context.Context, fn func(store.Txn) error) error {
	if s.updatesLeft.Load() > 0 && s.updatesLeft.Add(-1) == 0 {
		s.kill()
	}
	if s.dead.Load() {
		return errKilled
	}
	return s.Store.Update(ctx, fn)
}

func (s *killableStore) View(ctx context.Context, fn func(store.Txn) error) error {
	if s.dead.Load() {
		return errKilled
	}
	return s.Store.View(ctx, fn)
}

func (s *killableStore) Close() error { return nil }

// heldGateway holds every charge until the test says whether it goes
// through (charged) or fails with no answer after charging nothing.
type heldGateway struct {
	*flakyGateway
	arrived chan struct{}
	decide  chan bool
}

func (g *heldGateway) Charge(ctx context.Context, req payment.ChargeRequest) (payment.Charge, error) {
	g.arrived <- struct{}{}
	if <-g.decide {
		return g.flakyGateway.Charge(ctx, req)
	}
	return payment.Charge{}, fmt.Errorf("connection reset: %w", payment.ErrGateway)
}

// TestSweeperKilledMidPass leaves orders whose charge is in doubt the way
// a core that dies mid-charge leaves them (pending, stock reserved, not in
// the reconciler's queue, half of them charged at the gateway), lets their
// reservations fall due, and kills a core's sweeper in the middle of its
// pass (its third store transaction never commits). Two other cores then
// sweep at once, and the test checks from the orders themselves, read
// from the store:
//
//   - nothing dropped: every due order is in the reconciler's queue
//     (flagged and keyed) and the expiry scan's mark is past it, so the
//     items the dead sweeper had not reached were done by the others;
//   - nothing released: the sweepers moved no stock (reserved = the units
//     of pending orders, counted from the orders);
//   - then the reconcilers of the two survivors, run at once, settle every
//     order exactly once (the settled counts add up to the number of
//     orders): the charged ones paid, the others released, and the stock
//     record matches the paid orders.
//
// It fails when the expiry scan moves its mark past a chunk before the
// chunk is done (the dead sweeper's unreached orders are then behind the
// mark and in no queue) and when the sweeper releases an order whose
// charge is in doubt. Handing an order to the queue twice (a re-scan after
// the death re-does the dead core's first items) is harmless by
// construction — the queue entry is keyed by the order — so "twice" here
// means stock moved twice, which the books would show. What it does not
// prove: a death inside the store's commit (the store's own atomicity),
// or the idempotency-record and cart sweeps (each a delete that a second
// pass repeats harmlessly).
func TestSweeperKilledMidPass(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		ctx := context.Background()
		const orders = 9
		mod := func(c *Config) { c.SweepBatch = 3 }
		g := newFlaky(t)
		g.lookupDown.Store(true)

		// The core that dies mid-charge, once per order (restarted
		// between them), and the core whose sweeper dies.
		charger := &killableStore{Store: st}
		hg := &heldGateway{flakyGateway: g, arrived: make(chan struct{}), decide: make(chan bool)}
		v := newEnv(t, charger, mod, hg)
		sweeper := &killableStore{Store: st}
		s := newEnv(t, sweeper, mod, g)
		a := newEnv(t, st, mod, g)
		b := newEnv(t, st, mod, g)
		envs := []*env{v, s, a, b}
		// Revived before the envs' own checks at cleanup (which read
		// through their stores).
		t.Cleanup(func() { charger.revive(); sweeper.revive() })

		a.product("swk", usd(100), orders)
		for i := range orders {
			done := make(chan error, 1)
			go func() {
				_, err := v.checkout(fmt.Sprint("victim-", i), v.cartWith("swk", 1), testpay.TokenOK)
				done <- err
			}()
			<-hg.arrived
			charger.kill()
			hg.decide <- i%2 == 0
			if err := <-done; err == nil {
				t.Fatalf("order %d: a checkout whose core died mid-charge answered", i)
			}
			charger.revive()
		}
		pendingOrders := func() (pending, queued int) {
			t.Helper()
			err := st.View(ctx, func(tx store.Txn) error {
				return tx.Scan([]byte(store.NSOrder), store.PrefixEnd([]byte(store.NSOrder)), 0, func(k, val []byte) error {
					var raw orderID
					copy(raw[:], k[len(store.NSOrder):])
					o, err := decodeOrderRec(raw.String(), val)
					if err != nil {
						return err
					}
					if o.Status != api.OrderPendingPayment {
						return nil
					}
					pending++
					if _, err := tx.Get(payqKey(raw)); err == nil && o.Queued {
						queued++
					}
					return nil
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			return pending, queued
		}
		if p, q := pendingOrders(); p != orders || q != 0 {
			t.Fatalf("before the sweep: %d pending orders, %d queued; want %d and 0 (a core that died mid-charge queues nothing)", p, q, orders)
		}

		for _, e := range envs {
			e.clock.Add(e.co.cfg.ReservationTTL + time.Second)
		}
		sweeper.dieAt(3)
		if _, err := s.co.SweepOnce(ctx); !errors.Is(err, errKilled) {
			t.Fatalf("the sweeper meant to die mid-pass ended with %v", err)
		}
		if _, q := pendingOrders(); q == 0 || q >= orders {
			t.Fatalf("the dead sweeper queued %d of %d orders; the test wants it to die mid-pass", q, orders)
		}
		var wg sync.WaitGroup
		for _, e := range []*env{a, b} {
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if n, err := e.co.SweepOnce(ctx); n != 0 || err != nil {
						t.Errorf("a surviving sweeper expired %d orders in doubt (%v)", n, err)
					}
				}()
			}
		}
		wg.Wait()
		if p, q := pendingOrders(); p != orders || q != orders {
			t.Fatalf("after the survivors' sweep: %d pending orders, %d of them queued; want all %d queued (an item of the dead sweeper was dropped)", p, q, orders)
		}
		var resvMark []byte
		_ = st.View(ctx, func(tx store.Txn) error {
			m, err := tx.Get(resvMarkKey)
			resvMark = append(resvMark, m...)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return nil
		})
		if len(resvMark) == 0 {
			t.Fatal("the expiry scan's mark never moved")
		}
		if st := a.stock("swk"); st.Reserved != orders || st.Sold != 0 {
			t.Fatalf("the sweepers moved the stock of orders in doubt: %+v", st)
		}

		// The reconcilers of the survivors, at once, once the orders'
		// payment leases have passed.
		for _, e := range envs {
			e.clock.Add(3 * (2*e.co.cfg.PaymentTimeout + 2*time.Second))
		}
		g.lookupDown.Store(false)
		var settled atomic.Int64
		for _, e := range []*env{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					r, err := e.co.ReconcileOnce(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					settled.Add(int64(r.Settled))
					if r.Settled == 0 && r.Unresolved == 0 {
						return
					}
				}
			}()
		}
		wg.Wait()
		if settled.Load() != orders {
			t.Fatalf("the reconcilers settled %d orders, want each of %d once", settled.Load(), orders)
		}
		charged := int64((orders + 1) / 2)
		if st := a.stock("swk"); st.Reserved != 0 || st.Sold != charged {
			t.Fatalf("stock after reconciling %+v; want 0 reserved and %d sold (the charged orders)", st, charged)
		}
		// The envs' checks at cleanup compare the stock with the orders
		// and every charge in the gateway's ledger with the order it pays.
	})
}
