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

// buyer creates a cart with one unit of sku and checks out; it returns the
// order when the core acknowledged it as paid.
func buyer(base, sku, key string) (*ack, error) {
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

// TestSingleCoreKilledMidFlashSale kill -9's a core on the embedded store in
// the middle of a flash sale. After a restart on the same file, every order
// the clients saw acknowledged exists as paid, and the hot SKU's stock
// invariant holds with at least that many units sold.
func TestSingleCoreKilledMidFlashSale(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	coreBin, _ := binaries(t)
	addr, dir := proctest.FreeAddr(t), t.TempDir()
	_, payAddr := startTestpay(t, dir)
	core := startProc(t, "core", coreBin, coreEnv(addr, dir, payAddr))
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
		n     atomic.Int64
		stop  atomic.Bool
		wg    sync.WaitGroup
	)
	deadline := time.Now().Add(20 * time.Second)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 1000 && !stop.Load() && time.Now().Before(deadline); i++ {
				a, err := buyer(base, sku, fmt.Sprintf("sale-%d-%d", w, i))
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
	mu.Unlock()
	if len(seen) < 300 {
		t.Fatalf("only %d orders acknowledged before the deadline", len(seen))
	}
	t.Logf("killed the core after %d acknowledged orders", len(seen))

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
	st, _, b := do(t, "GET", base+"/admin/v1/stock/"+sku, nil, bearer()...)
	var s api.Stock
	if st != 200 || json.Unmarshal(b, &s) != nil {
		t.Fatalf("stock: %d %s", st, b)
	}
	if s.OnHand != units || s.Available+s.Reserved+s.Sold != s.OnHand || s.Available < 0 || s.Reserved < 0 {
		t.Fatalf("stock invariant broken after restart: %+v", s)
	}
	if s.Sold < int64(len(seen)) {
		t.Fatalf("sold %d < %d acknowledged orders", s.Sold, len(seen))
	}
	// Sales go on after the restart.
	if _, err := buyer(base, sku, "after-restart"); err != nil {
		t.Fatalf("checkout after restart: %v", err)
	}
	if code := core.Stop(5 * time.Second); code != 0 {
		t.Fatalf("core exit code %d after SIGTERM", code)
	}
}
