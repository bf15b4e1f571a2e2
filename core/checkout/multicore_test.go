package checkout

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"shopedge/core/api"
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

// TestConcurrentSweepers expires pending orders with several sweepers at
// once: each order is expired exactly once and its stock released once.
func TestConcurrentSweepers(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, st store.Store) {
		tp, _ := testpay.New(testpay.DefaultConfig())
		g := &flakyGateway{Gateway: tp}
		const orders = 12
		g.fail.Store(orders)
		e := newEnv(t, st, func(c *Config) { c.SweepBatch = 5 }, g)
		e.product("sweep", usd(100), orders)
		for i := range orders {
			if _, err := e.checkout(fmt.Sprint("s", i), e.cartWith("sweep", 1), testpay.TokenOK); api.ErrorCode(err) != api.ECodePaymentUnknown {
				t.Fatal(err)
			}
		}
		if s := e.stock("sweep"); s.Reserved != orders {
			t.Fatalf("stock %+v", s)
		}
		e.clock.Add(e.co.cfg.ReservationTTL + time.Second)
		var total atomic.Int64
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := e.co.SweepOnce(context.Background())
				if err != nil {
					t.Error(err)
				}
				total.Add(int64(n))
			}()
		}
		wg.Wait()
		if total.Load() != orders {
			t.Fatalf("expired %d, want %d", total.Load(), orders)
		}
		if s := e.stock("sweep"); s.Reserved != 0 || s.Available != orders {
			t.Fatalf("stock %+v", s)
		}
	})
}
