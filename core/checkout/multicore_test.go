package checkout

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"shopedge/core/payment/testpay"
	"shopedge/store"
)

// TestTwoCores runs a flash sale through two checkout services (two core
// processes) with group commit on one store: their batches conflict on the
// hot SKU and are retried, and exactly the stock is sold.
func TestTwoCores(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		perCore, units := 150, int64(100)
		if k.small {
			perCore, units = 60, 30
		}
		a := newEnv(t, st, nil, nil)
		b := newEnv(t, st, nil, nil)
		a.product("two", usd(100), units)
		cores := []*env{a, b}
		carts := make([][]string, 2)
		for c := range cores {
			for range perCore {
				carts[c] = append(carts[c], a.cartWith("two", 1))
			}
		}
		var paid, short atomic.Int64
		var wg sync.WaitGroup
		for c, e := range cores {
			for i, id := range carts[c] {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, err := e.checkout(fmt.Sprintf("c%d-%d", c, i), id, testpay.TokenOK)
					switch {
					case err != nil:
						t.Error(err)
					case r.Status == 201:
						paid.Add(1)
					case r.Status == 409:
						short.Add(1)
					default:
						t.Errorf("status %d %s", r.Status, r.Body)
					}
				}()
			}
		}
		wg.Wait()
		if paid.Load() != units || short.Load() != int64(2*perCore)-units {
			t.Fatalf("paid %d short %d", paid.Load(), short.Load())
		}
		if s := a.stock("two"); s.Sold != units || s.Available != 0 {
			t.Fatalf("stock %+v", s)
		}
	})
}

// TestConcurrentReconcilers leaves orders whose charge is in doubt (half
// of them charged) past their reservation's expiry, then runs sweepers and
// reconcilers, several at once: the sweepers release none of them, and
// once the gateway answers each order is settled exactly once — the
// charged ones paid, the others released — with its stock moved once.
func TestConcurrentReconcilers(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		g := newFlaky(t)
		const orders = 12
		e := newEnv(t, st, func(c *Config) { c.SweepBatch = 5 }, g)
		e.product("rec", usd(100), orders)
		for i := range orders {
			unknownOrder(t, e, g, fmt.Sprint("r", i), "rec", i%2 == 0)
		}
		if s := e.stock("rec"); s.Reserved != orders {
			t.Fatalf("stock %+v", s)
		}
		e.clock.Add(e.co.cfg.ReservationTTL + time.Second)
		run := func(f func() (int, error)) int64 {
			var total atomic.Int64
			var wg sync.WaitGroup
			for range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					n, err := f()
					if err != nil {
						t.Error(err)
					}
					total.Add(int64(n))
				}()
			}
			wg.Wait()
			return total.Load()
		}
		if n := run(func() (int, error) { return e.co.SweepOnce(context.Background()) }); n != 0 {
			t.Fatalf("sweepers expired %d orders in doubt", n)
		}
		g.lookupDown.Store(false)
		settled := run(func() (int, error) { st, err := e.co.ReconcileOnce(context.Background()); return st.Settled, err })
		if settled != orders {
			t.Fatalf("settled %d, want %d", settled, orders)
		}
		if s := e.stock("rec"); s.Reserved != 0 || s.Sold != orders/2 {
			t.Fatalf("stock %+v", s)
		}
		if n, _ := g.Stats(); n != orders/2 {
			t.Fatalf("charged %d", n)
		}
	})
}
