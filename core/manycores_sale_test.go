package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/core/cart"
	"shopedge/store"
)

// The flash-sale scenarios of bin/bench flashsale, on the harness.
const (
	mcHotSKU = "fs-hot-1"
	mcMixSKU = "fs-mix-%d-1"
)

// saleSpec is one sale: the SKUs with their stock, and each buyer's cart.
type saleSpec struct {
	name  string
	stock map[string]int64
	carts [][]cart.Line
}

// hotSale is the hot-SKU sale: buyers carts of one unit of one SKU with
// units in stock.
func hotSale(buyers int, units int64) saleSpec {
	s := saleSpec{name: "hot", stock: map[string]int64{mcHotSKU: units}}
	for range buyers {
		s.carts = append(s.carts, []cart.Line{{SKU: mcHotSKU, Quantity: 1}})
	}
	return s
}

// mixedSale is the mixed-cart sale of bin/bench flashsale: 1–3 lines of
// 1–2 units over skus SKUs picked by a Zipf distribution (s = 1.1), units
// each in stock.
func mixedSale(buyers, skus int, units int64, seed uint64) saleSpec {
	s := saleSpec{name: "mixed", stock: map[string]int64{}}
	for i := range skus {
		s.stock[fmt.Sprintf(mcMixSKU, i)] = units
	}
	r := rand.New(rand.NewPCG(seed, 17))
	// Zipf over [0, skus) by inverse CDF.
	w := make([]float64, skus)
	total := 0.0
	for i := range w {
		total += 1 / math.Pow(float64(i+1), 1.1)
		w[i] = total
	}
	pick := func() int {
		x := r.Float64() * total
		i, _ := slices.BinarySearch(w, x)
		return min(i, skus-1)
	}
	for range buyers {
		n := 1 + r.IntN(3)
		seen := map[int]bool{}
		var lines []cart.Line
		for len(lines) < n && len(seen) < skus {
			k := pick()
			if seen[k] {
				continue
			}
			seen[k] = true
			lines = append(lines, cart.Line{SKU: fmt.Sprintf(mcMixSKU, k), Quantity: 1 + int64(r.IntN(2))})
		}
		s.carts = append(s.carts, lines)
	}
	return s
}

// mcSale is a prepared sale: catalog loaded, carts created.
type mcSale struct {
	spec  saleSpec
	tag   string
	carts []string
	// digests are the carts' signed digests, sent with their checkouts
	// as a client sends the last one it got.
	digests []string
}

// prepare loads the sale's products and stock through core 0 and creates
// one cart per buyer directly in the store (not measured).
func (c *mcCluster) prepare(spec saleSpec) *mcSale {
	tb := c.tb
	tb.Helper()
	ctx := context.Background()
	m := c.cores[0].m
	skus := slices.Sorted(func(yield func(string) bool) {
		for k := range spec.stock {
			if !yield(k) {
				return
			}
		}
	})
	for i, sku := range skus {
		p := &api.Product{ID: "p-" + sku, Slug: "p-" + sku, Name: "Flash Sale Item " + sku, Brand: "Shopedge",
			SKUs: []api.SKU{{SKU: sku, Price: &api.Money{Amount: 1000 + int64(i)*100, Currency: "USD"}}}}
		if _, err := m.Catalog.Put(ctx, p); err != nil {
			tb.Fatal(err)
		}
		if _, err := m.Catalog.SetStock(ctx, sku, spec.stock[sku]); err != nil {
			tb.Fatal(err)
		}
	}
	s := &mcSale{spec: spec, tag: strconv.FormatInt(time.Now().UnixNano(), 36)}
	for len(s.carts) < len(spec.carts) {
		err := m.Store.Update(ctx, func(tx store.Txn) error {
			n := len(s.carts)
			for i := n; i < len(spec.carts) && i < n+500; i++ {
				cr, err := m.Carts.CreateTx(tx, spec.carts[i])
				if err != nil {
					return err
				}
				s.carts = append(s.carts, cr.ID)
				s.digests = append(s.digests, cr.Digest)
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

// mcAnswer is one buyer's last answer.
type mcAnswer struct {
	status int
	body   []byte
	lat    time.Duration
	err    error
}

// final reports whether the answer ends the checkout: paid, declined or
// out of stock (anything else is retried under the same key).
func (a mcAnswer) final() bool {
	return a.err == nil && (a.status == 201 || a.status == 402 || a.status == 409 && !isInFlight(a.body))
}

func isInFlight(body []byte) bool {
	var eb api.ErrorBody
	return json.Unmarshal(body, &eb) == nil && eb.Error != nil && eb.Error.Code == api.ECodeInFlight
}

func (s *mcSale) key(i int) string { return "mc-" + s.tag + "-" + strconv.Itoa(i) }

// checkout sends buyer i's checkout through the edge.
func (c *mcCluster) checkout(hc *fasthttp.HostClient, s *mcSale, i int) mcAnswer {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod("POST")
	req.SetRequestURI("/v1/checkout")
	req.SetHost(hc.Addr)
	req.Header.SetContentType("application/json")
	req.Header.Set("Idempotency-Key", s.key(i))
	if i < len(s.digests) && s.digests[i] != "" {
		req.Header.Set(api.HeaderCartDigest, s.digests[i])
	}
	req.SetBodyString(`{"cart_id":"` + s.carts[i] + `","payment_token":"tok_ok","email":"buyer` + strconv.Itoa(i) + `@example.com"}`)
	start := time.Now()
	err := hc.DoTimeout(req, resp, 30*time.Second)
	return mcAnswer{status: resp.StatusCode(), body: append([]byte(nil), resp.Body()...), lat: time.Since(start), err: err}
}

// edgeClient returns a client of the edge with room for concurrency
// requests at once.
func (c *mcCluster) edgeClient(concurrency int) *fasthttp.HostClient {
	return &fasthttp.HostClient{Addr: c.edge.Addr(), MaxConns: concurrency, ReadTimeout: 40 * time.Second, MaxIdemponentCallAttempts: 1}
}

// run sends every buyer's checkout once, concurrency at a time, and
// returns the answers and the wall time.
func (c *mcCluster) run(s *mcSale, concurrency int) ([]mcAnswer, time.Duration) {
	hc := c.edgeClient(concurrency)
	answers := make([]mcAnswer, len(s.carts))
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(s.carts) {
					return
				}
				answers[i] = c.checkout(hc, s, i)
			}
		}()
	}
	wg.Wait()
	return answers, time.Since(start)
}

// settle replays, under its key, every checkout whose answer was not final
// (payment unknown, in flight, unavailable, connection lost) until all
// are, or until within passes; advance, when set, runs before each round
// (a test moves its clock past the payment lease there).
func (c *mcCluster) settle(s *mcSale, answers []mcAnswer, within time.Duration, advance func()) {
	tb := c.tb
	tb.Helper()
	hc := c.edgeClient(16)
	deadline := time.Now().Add(within)
	for {
		var open []int
		for i, a := range answers {
			if !a.final() {
				open = append(open, i)
			}
		}
		if len(open) == 0 {
			return
		}
		if time.Now().After(deadline) {
			a := answers[open[0]]
			tb.Fatalf("%d checkouts still without a final answer after %s; first: %d %s %v", len(open), within, a.status, a.body, a.err)
		}
		if advance != nil {
			advance()
		}
		for _, i := range open {
			answers[i] = c.checkout(hc, s, i)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// get sends a GET through the edge with the admin token.
func (c *mcCluster) get(path string) (int, []byte) {
	status, body, err := fasthttp.GetTimeout(nil, "http://"+c.edge.Addr()+path, 10*time.Second)
	if err != nil {
		c.tb.Fatalf("GET %s: %v", path, err)
	}
	return status, body
}

// coreGet sends a GET to core k with token.
func coreGet(tb testing.TB, k *mcCore, path, token string) (int, []byte) {
	tb.Helper()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + k.addr + path)
	req.Header.Set("Authorization", "Bearer "+token)
	if err := fasthttp.DoTimeout(req, resp, 10*time.Second); err != nil {
		tb.Fatalf("GET %s on core %d: %v", path, k.i, err)
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...)
}
