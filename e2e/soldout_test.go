package e2e

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
)

// coreRequests sums the core's request counters of one route.
func coreRequests(t *testing.T, c *cluster, route string) float64 {
	t.Helper()
	_, _, b := do(t, "GET", "http://"+c.coreAddr+"/metrics", nil, bearer()...)
	var n float64
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "shopedge_http_requests_total{") && strings.Contains(l, `route="`+route+`"`) {
			v, _ := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
			n += v
		}
	}
	return n
}

// soldOutCart creates a cart at base holding qty × sku and returns its id
// and the digest of its last answer.
func soldOutCart(t *testing.T, base, sku string, qty int) (id, digest string) {
	t.Helper()
	st, _, b := do(t, "POST", base+"/v1/carts", nil)
	var c api.Cart
	if st != 201 || json.Unmarshal(b, &c) != nil {
		t.Fatalf("create cart: %d %s", st, b)
	}
	st, h, b := do(t, "PUT", base+"/v1/carts/"+c.ID+"/items/"+sku, []byte(`{"quantity":`+strconv.Itoa(qty)+`}`))
	if st != 200 || h.Get(api.HeaderCartDigest) == "" {
		t.Fatalf("add %s: %d %s (digest %q)", sku, st, b, h.Get(api.HeaderCartDigest))
	}
	return c.ID, h.Get(api.HeaderCartDigest)
}

// TestClusterSoldOutAtTheEdge sells a SKU out through one edge, ten times
// over, and measures how soon the other edge answers for it by itself:
// from the moment the checkout that takes the last unit is sent (before
// its commit, so the figure is an upper bound) until a cart add of the SKU
// at the other edge comes back 409 with X-Shopedge-Answered-By: edge.
// Every time it checks, against the real core:
//   - the edge's answers to a cart add and to a checkout (sent with the
//     cart's digest) are byte for byte what the core answers to the same
//     requests sent to it directly;
//   - the core's request counters do not move while the edge answers
//     (no round trip);
//   - a restock through the admin API lets cart adds through again at the
//     other edge (the same feed event).
//
// The medians of the sell-out and restock delays must be under 100 ms and
// each under 1 s: the change feed is a long poll answered at the commit,
// so anything near those bounds means the events stopped flowing, not a
// slow machine. The delays are logged (go test -v -run SoldOut ./e2e/).
func TestClusterSoldOutAtTheEdge(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	c := startClusterEnv(t, 2, nil, noLimits) // one client polls hard
	core := "http://" + c.coreAddr
	seller, other := "http://"+c.edgeAddr[0], "http://"+c.edgeAddr[1]
	const sku = "so-hot-1"
	product := `{"id":"so-hot","slug":"so-hot","name":"Sold out soon","brand":"Shopedge","popularity":1,
		"skus":[{"sku":"` + sku + `","price":{"amount":1999,"currency":"USD"}}]}`
	if st, _, b := do(t, "PUT", core+"/admin/v1/products/so-hot", []byte(product), bearer()...); st != 200 {
		t.Fatalf("put product: %d %s", st, b)
	}
	c.waitEdgesReady()
	setStock := func(n int) {
		t.Helper()
		if st, _, b := do(t, "PUT", core+"/admin/v1/stock/"+sku, []byte(`{"on_hand":`+strconv.Itoa(n)+`}`), bearer()...); st != 200 {
			t.Fatalf("put stock: %d %s", st, b)
		}
	}
	setStock(1)
	// The carts of buyers who came too late, filled while in stock (at
	// the other edge, once it knows the SKU is in stock).
	var late, lateDigest []string
	for range 10 {
		var id, d string
		eventually(t, 2*time.Second, func() string {
			st, _, b := do(t, "POST", other+"/v1/carts", nil)
			var cc api.Cart
			if st != 201 || json.Unmarshal(b, &cc) != nil {
				return fmt.Sprintf("create cart: %d %s", st, b)
			}
			st, h, b := do(t, "PUT", other+"/v1/carts/"+cc.ID+"/items/"+sku, []byte(`{"quantity":1}`))
			if st != 200 {
				return fmt.Sprintf("add: %d %s", st, b)
			}
			id, d = cc.ID, h.Get(api.HeaderCartDigest)
			return ""
		})
		late, lateDigest = append(late, id), append(lateDigest, d)
	}
	probe, _ := soldOutCart(t, other, sku, 1)

	var soldDelays, openDelays []time.Duration
	sold := 0
	for i := range 10 {
		// Restocked: the other edge lets a cart add through again.
		start := time.Now()
		setStock(sold + 1)
		openDelays = append(openDelays, until(t, start, func() bool {
			st, _, _ := do(t, "PUT", other+"/v1/carts/"+probe+"/items/"+sku, []byte(`{"quantity":1}`))
			return st == 200
		}))
		var buyer, digest string
		eventually(t, 2*time.Second, func() string {
			st, _, b := do(t, "POST", seller+"/v1/carts", nil)
			var cc api.Cart
			if st != 201 || json.Unmarshal(b, &cc) != nil {
				return fmt.Sprintf("create cart: %d %s", st, b)
			}
			st, h, b := do(t, "PUT", seller+"/v1/carts/"+cc.ID+"/items/"+sku, []byte(`{"quantity":1}`))
			if st != 200 {
				return fmt.Sprintf("add at the seller: %d %s", st, b)
			}
			buyer, digest = cc.ID, h.Get(api.HeaderCartDigest)
			return ""
		})
		// The last unit sells through the seller edge.
		body := []byte(`{"cart_id":"` + buyer + `","payment_token":"tok_ok","email":"buyer@example.com"}`)
		start = time.Now()
		st, _, b := do(t, "POST", seller+"/v1/checkout", body, "Idempotency-Key", fmt.Sprintf("so-buy-%d", i), api.HeaderCartDigest, digest)
		if st != 201 {
			t.Fatalf("sale %d: %d %s", i, st, b)
		}
		sold++
		var edgeAdd []byte
		soldDelays = append(soldDelays, until(t, start, func() bool {
			st, h, b := do(t, "PUT", other+"/v1/carts/"+probe+"/items/"+sku, []byte(`{"quantity":2}`))
			edgeAdd = b
			return st == 409 && h.Get(api.HeaderAnsweredBy) == "edge"
		}))

		// Answered by the edge, without the core, as the core answers.
		adds, checkouts := coreRequests(t, c, "/v1/carts/{id}/items/{sku}"), coreRequests(t, c, "/v1/checkout")
		key := fmt.Sprintf("so-late-%d", i)
		cbody := []byte(`{"cart_id":"` + late[i] + `","payment_token":"tok_ok","email":"late@example.com"}`)
		st, h, edgeCheckout := do(t, "POST", other+"/v1/checkout", cbody, "Idempotency-Key", key, api.HeaderCartDigest, lateDigest[i])
		if st != 409 || h.Get(api.HeaderAnsweredBy) != "edge" {
			t.Fatalf("sale %d: late checkout at the other edge: %d %s (%v)", i, st, edgeCheckout, h)
		}
		if a, co := coreRequests(t, c, "/v1/carts/{id}/items/{sku}"), coreRequests(t, c, "/v1/checkout"); a != adds || co != checkouts {
			t.Fatalf("sale %d: the core saw %v cart adds and %v checkouts while the edge answered", i, a-adds, co-checkouts)
		}
		_, _, coreAdd := do(t, "PUT", core+"/v1/carts/"+probe+"/items/"+sku, []byte(`{"quantity":2}`))
		_, _, coreCheckout := do(t, "POST", core+"/v1/checkout", cbody, "Idempotency-Key", key+"-core")
		if !bytes.Equal(edgeAdd, coreAdd) || !bytes.Equal(edgeCheckout, coreCheckout) {
			t.Fatalf("sale %d: the edge answered\n%s\n%s\nthe core\n%s\n%s", i, edgeAdd, edgeCheckout, coreAdd, coreCheckout)
		}
	}
	for _, d := range []struct {
		what string
		ds   []time.Duration
	}{{"sell-out", soldDelays}, {"restock", openDelays}} {
		slices.Sort(d.ds)
		t.Logf("%s → the other edge answers accordingly: median %v, max %v (%v)", d.what, d.ds[len(d.ds)/2], d.ds[len(d.ds)-1], d.ds)
		if d.ds[len(d.ds)/2] > 100*time.Millisecond || d.ds[len(d.ds)-1] > time.Second {
			t.Errorf("%s reached the other edge too late: %v", d.what, d.ds)
		}
	}
	// Nothing was oversold: one unit per sale, each paid once.
	st, _, b := do(t, "GET", core+"/admin/v1/stock/"+sku, nil, bearer()...)
	var s api.Stock
	if st != 200 || json.Unmarshal(b, &s) != nil || s.Sold != int64(sold) || s.OnHand != int64(sold) || s.Reserved != 0 {
		t.Fatalf("stock after %d sales: %d %s", sold, st, b)
	}
}

// until polls cond every millisecond until it holds (at most 5 s) and
// returns the time since start.
func until(t *testing.T, start time.Time, cond func() bool) time.Duration {
	t.Helper()
	for !cond() {
		if time.Since(start) > 5*time.Second {
			t.Fatal("not true within 5s")
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}
