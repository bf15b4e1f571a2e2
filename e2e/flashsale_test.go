package e2e

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
	"shopedge/internal/proctest"
)

// ack is an order the client saw acknowledged (201 paid).
type ack struct{ id, token string }

// tried is a checkout a client sent (or was about to send): its key and
// body, replayed after the crash to learn its final answer.
type tried struct {
	key  string
	body []byte
}

// buyer creates a cart with one unit of sku and checks out; it returns the
// order when the core acknowledged it as paid. note records the checkout
// before it is sent.
func buyer(base, sku, key string, note func(tried)) (*ack, error) {
	req := func(method, url string, body []byte, hdr ...string) (int, []byte, error) {
		r, err := newRequest(method, url, body, hdr...)
		if err != nil {
			return 0, nil, err
		}
		return r.status, r.body, nil
	}
	st, b, err := req("POST", base+"/v1/carts", nil)
	if err != nil || st != 201 {
		return nil, fmt.Errorf("create cart: %d %v", st, err)
	}
	var cart api.Cart
	if err := json.Unmarshal(b, &cart); err != nil {
		return nil, err
	}
	if st, _, err = req("PUT", base+"/v1/carts/"+cart.ID+"/items/"+sku, []byte(`{"quantity":1}`)); err != nil || st != 200 {
		return nil, fmt.Errorf("add item: %d %v", st, err)
	}
	body := []byte(`{"cart_id":"` + cart.ID + `","payment_token":"tok_ok","email":"buyer@example.com"}`)
	if note != nil {
		note(tried{key, body})
	}
	st, b, err = req("POST", base+"/v1/checkout", body, "Idempotency-Key", key)
	if err != nil || st != 201 {
		return nil, fmt.Errorf("checkout: %d %v", st, err)
	}
	var o api.Order
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, err
	}
	if o.Status != api.OrderPaid {
		return nil, fmt.Errorf("checkout answered 201 with status %q", o.Status)
	}
	return &ack{o.ID, o.Token}, nil
}

// finalAnswer replays a checkout until its answer is final: a 503
// payment_unknown or a 409 in flight (the order of a request the crash cut
// off, resolved by a retry after its lease or by the reconciler) is asked
// again. It returns the paid order's id, or "" for any other final answer.
func finalAnswer(t *testing.T, base string, c tried, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r, err := newRequest("POST", base+"/v1/checkout", c.body, "Idempotency-Key", c.key)
		if err != nil {
			t.Fatalf("replay of %s: %v", c.key, err)
		}
		switch {
		case r.status == 201:
			var o api.Order
			if err := json.Unmarshal(r.body, &o); err != nil || o.Status != api.OrderPaid {
				t.Fatalf("replay of %s: %s", c.key, r.body)
			}
			return o.ID
		case r.status == 503 || (r.status == 409 && contains(r.body, api.ECodeInFlight)):
			if time.Now().After(deadline) {
				t.Fatalf("checkout %s still not final after %v: %d %s", c.key, within, r.status, r.body)
			}
			time.Sleep(200 * time.Millisecond)
		case r.status == 402 || r.status == 409:
			return ""
		default:
			t.Fatalf("replay of %s: %d %s", c.key, r.status, r.body)
		}
	}
}

// TestSingleCoreKilledMidFlashSale kill -9's a core on the embedded store in
// the middle of a flash sale. After a restart on the same file, every order
// the clients saw acknowledged exists as paid, and the books balance from
// independent sources: every checkout any client sent is replayed under its
// Idempotency-Key until its answer is final, and the SKU's sold count must
// equal the number of those answers that are paid orders (one unit each),
// with nothing left reserved and on_hand as set.
//
// What it proves and what it does not: the kill stops the process, not the
// machine. The kernel's page cache survives, so the test passes even with
// fsync turned off (store.no_sync): it shows the core loses no
// acknowledged order and oversells nothing when its process crashes, not
// that it survives a power loss (that rests on bbolt's fsync, which this
// test cannot observe).
func TestSingleCoreKilledMidFlashSale(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	coreBin, _ := binaries(t)
	addr, dir := proctest.FreeAddr(t), t.TempDir()
	_, payAddr := startTestpay(t, dir)
	env := append(coreEnv(addr, dir, payAddr),
		// Short leases, so requests the crash cut off settle quickly.
		"SHOPEDGE_CHECKOUT_PAYMENT_TIMEOUT=1s", "SHOPEDGE_CHECKOUT_PAYMENT_RETRY_AFTER=1s", "SHOPEDGE_CHECKOUT_RECONCILE_INTERVAL=200ms")
	core := startProc(t, "core", coreBin, env)
	base := "http://" + addr
	waitStatus(t, base+"/readyz", 200, 30*time.Second)

	const sku, units = "hot-1", 5000
	product := `{"id":"hot-1","slug":"hot-1","name":"Hot item","brand":"Shopedge","popularity":1,
		"skus":[{"sku":"hot-1","price":{"amount":1999,"currency":"USD"}}]}`
	if st, _, b := do(t, "PUT", base+"/admin/v1/products/hot-1", []byte(product), bearer()...); st != 200 {
		t.Fatalf("put product: %d %s", st, b)
	}
	if st, _, b := do(t, "PUT", base+"/admin/v1/stock/"+sku, []byte(`{"on_hand":`+strconv.Itoa(units)+`}`), bearer()...); st != 200 {
		t.Fatalf("put stock: %d %s", st, b)
	}

	var (
		mu    sync.Mutex
		acked []ack
		sent  []tried
		n     atomic.Int64
		stop  atomic.Bool
		wg    sync.WaitGroup
	)
	note := func(c tried) { mu.Lock(); sent = append(sent, c); mu.Unlock() }
	deadline := time.Now().Add(20 * time.Second)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 1000 && !stop.Load() && time.Now().Before(deadline); i++ {
				a, err := buyer(base, sku, fmt.Sprintf("sale-%d-%d", w, i), note)
				if err != nil {
					continue // the core may be gone mid-request: not acknowledged
				}
				mu.Lock()
				acked = append(acked, *a)
				mu.Unlock()
				n.Add(1)
			}
		}(w)
	}
	// Kill once a few hundred orders are acknowledged (bounded in time).
	for n.Load() < 300 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	core.Kill()
	stop.Store(true)
	wg.Wait()
	mu.Lock()
	seen := append([]ack(nil), acked...)
	checkouts := append([]tried(nil), sent...)
	mu.Unlock()
	if len(seen) < 300 {
		t.Fatalf("only %d orders acknowledged before the deadline", len(seen))
	}
	t.Logf("killed the core after %d acknowledged orders, %d checkouts sent", len(seen), len(checkouts))

	core.Restart()
	waitStatus(t, base+"/readyz", 200, 30*time.Second)
	for _, a := range seen {
		st, _, b := do(t, "GET", base+"/v1/orders/"+a.id+"?token="+a.token, nil)
		if st != 200 {
			t.Fatalf("acknowledged order %s lost after kill -9: %d %s", a.id, st, b)
		}
		var o api.Order
		if err := json.Unmarshal(b, &o); err != nil || o.Status != api.OrderPaid {
			t.Fatalf("acknowledged order %s after restart: %s", a.id, b)
		}
	}
	paid := map[string]bool{}
	for _, c := range checkouts {
		if id := finalAnswer(t, base, c, 30*time.Second); id != "" {
			if paid[id] {
				t.Fatalf("order %s answers two checkouts", id)
			}
			paid[id] = true
		}
	}
	for _, a := range seen {
		if !paid[a.id] {
			t.Fatalf("acknowledged order %s is not the replayed answer of its key", a.id)
		}
	}
	st, _, b := do(t, "GET", base+"/admin/v1/stock/"+sku, nil, bearer()...)
	var s api.Stock
	if st != 200 || json.Unmarshal(b, &s) != nil {
		t.Fatalf("stock: %d %s", st, b)
	}
	if s.OnHand != units || s.Sold != int64(len(paid)) || s.Reserved != 0 {
		t.Fatalf("after restart: stock %+v, but %d checkouts ended in a paid order (on hand set to %d)", s, len(paid), units)
	}
	// Sales go on after the restart.
	if _, err := buyer(base, sku, "after-restart", nil); err != nil {
		t.Fatalf("checkout after restart: %v", err)
	}
	if code := core.Stop(5 * time.Second); code != 0 {
		t.Fatalf("core exit code %d after SIGTERM", code)
	}
}
