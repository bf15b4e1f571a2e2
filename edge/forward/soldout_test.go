package forward

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"shopedge/core/api"
)

// soldSet is a SoldOutSet the test changes as a feed event would.
type soldSet struct {
	mu   sync.Mutex
	skus map[string]bool
}

func newSoldSet(skus ...string) *soldSet {
	s := &soldSet{skus: map[string]bool{}}
	for _, k := range skus {
		s.skus[k] = true
	}
	return s
}

func (s *soldSet) SoldOut(sku []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.skus[string(sku)]
}

func (s *soldSet) set(sku string, sold bool) {
	s.mu.Lock()
	s.skus[sku] = sold
	s.mu.Unlock()
}

// countingCore is a core that counts what reaches it and answers 200 with
// a marker body.
func countingCore(t *testing.T) (string, *atomic.Int64) {
	var n atomic.Int64
	addr := startCore(t, func(ctx *fasthttp.RequestCtx) {
		n.Add(1)
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"from":"core"}`)
	})
	return addr, &n
}

const soldKey = "digest-key-of-the-tests-0123"

// wantEdgeAnswer checks an answer the edge gave itself: 409, the body
// the core's contract renders (api.ErrorJSON of the same error, which the
// core's tests check it sends), marked, no-store, with a request id, and
// that the core saw nothing.
func wantEdgeAnswer(t *testing.T, what string, resp *fasthttp.Response, want *api.Error, core *atomic.Int64) {
	t.Helper()
	if core.Load() != 0 {
		t.Fatalf("%s: the core was asked", what)
	}
	if resp.StatusCode() != 409 || !bytes.Equal(resp.Body(), api.ErrorJSON(want)) {
		t.Fatalf("%s: %d %s, want 409 %s", what, resp.StatusCode(), resp.Body(), api.ErrorJSON(want))
	}
	h := &resp.Header
	if string(h.Peek(api.HeaderAnsweredBy)) != "edge" || string(h.Peek("Cache-Control")) != "no-store" ||
		len(h.Peek(HeaderRequestID)) == 0 || string(h.ContentType()) != "application/json" {
		t.Fatalf("%s: headers %s", what, h.String())
	}
}

func wantForwarded(t *testing.T, what string, resp *fasthttp.Response, core *atomic.Int64) {
	t.Helper()
	if core.Load() != 1 || string(resp.Body()) != `{"from":"core"}` {
		t.Fatalf("%s: not forwarded (core saw %d): %d %s", what, core.Load(), resp.StatusCode(), resp.Body())
	}
	core.Store(0)
}

// TestSoldOutItem: a cart add of a sold-out SKU is answered by the edge,
// whatever the cart, with the core's body; what the core would answer
// otherwise (a removal, a body it refuses, another SKU) and everything
// after a restock goes to the core.
func TestSoldOutItem(t *testing.T) {
	addr, core := countingCore(t)
	set := newSoldSet("hot-1")
	cfg := testConfig(addr)
	cfg.SoldOut = set
	f := mustNew(t, cfg)
	put := func(cart, sku, body string) *fasthttp.Response {
		return call(f, "PUT", "/v1/carts/"+cart+"/items/"+sku, body, "Content-Type", "application/json")
	}
	wantEdgeAnswer(t, "add", put(cartA, "hot-1", `{"quantity":2}`), api.SoldOutError("hot-1", 2), core)
	wantEdgeAnswer(t, "another cart", put(cartB, "hot-1", `{"quantity":1}`), api.SoldOutError("hot-1", 1), core)
	wantEdgeAnswer(t, "spaced", put(cartB, "hot-1", ` { "quantity" : 1000000 } `), api.SoldOutError("hot-1", 1000000), core)
	for _, body := range []string{`{"quantity":0}`, `{"quantity":-1}`, `{"quantity":1.5}`, `{"quantity":"1"}`, `{}`, ``, `[1]`,
		`{"quantity":1,"pad":"` + string(bytes.Repeat([]byte("x"), maxAnsweredBody)) + `"}`} {
		wantForwarded(t, "body "+body, put(cartA, "hot-1", body), core)
	}
	wantForwarded(t, "another SKU", put(cartA, "cold-1", `{"quantity":1}`), core)
	wantForwarded(t, "a removal", call(f, "DELETE", "/v1/carts/"+cartA+"/items/hot-1", ""), core)
	set.set("hot-1", false) // restocked: the feed event
	wantForwarded(t, "after the restock", put(cartA, "hot-1", `{"quantity":1}`), core)
}

// TestSoldOutCheckout: a valid checkout whose cart digest verifies and
// names a sold-out line is answered by the edge with the sold-out lines,
// in the cart's order; a checkout the edge cannot be sure of goes to the
// core: no digest, a tampered one, another cart's, another key's, an
// expired one, a body the core would refuse, no sold-out line, and every
// checkout after the restock.
func TestSoldOutCheckout(t *testing.T) {
	addr, core := countingCore(t)
	set := newSoldSet("hot-1", "hot-2")
	cfg := testConfig(addr)
	cfg.SoldOut = set
	cfg.DigestKeys = []string{soldKey, "previous-digest-key-0123456"}
	f := mustNew(t, cfg)
	exp := time.Now().Add(time.Hour).Unix()
	dg := api.NewCartDigester([]byte(soldKey))
	one := dg.Sign(cartA, exp, []api.CartDigestLine{{SKU: "hot-1", Quantity: 1}})
	checkout := func(body, digest string, hdr ...string) *fasthttp.Response {
		h := append([]string{"Content-Type", "application/json", "Idempotency-Key", "k-1"}, hdr...)
		if digest != "" {
			h = append(h, api.HeaderCartDigest, digest)
		}
		return call(f, "POST", "/v1/checkout", body, h...)
	}
	soldHot1 := api.OutOfStockError([]api.ShortLine{{SKU: "hot-1", Requested: 1}})
	wantEdgeAnswer(t, "one line", checkout(checkoutBody(cartA), one), soldHot1, core)
	three := dg.Sign(cartA, exp, []api.CartDigestLine{{SKU: "hot-2", Quantity: 3}, {SKU: "cold", Quantity: 1}, {SKU: "hot-1", Quantity: 2}})
	wantEdgeAnswer(t, "three lines", checkout(checkoutBody(cartA), three),
		api.OutOfStockError([]api.ShortLine{{SKU: "hot-2", Requested: 3}, {SKU: "hot-1", Requested: 2}}), core)
	prev := api.NewCartDigester([]byte("previous-digest-key-0123456")).Sign(cartA, exp, []api.CartDigestLine{{SKU: "hot-1", Quantity: 1}})
	wantEdgeAnswer(t, "previous key", checkout(checkoutBody(cartA), prev), soldHot1, core)

	// An old digest (the client has since removed the line, or the cart
	// was checked out): the edge cannot tell, and answers 409 for that
	// cart alone. The client that sends it harms only itself: its cart
	// id binds the digest (see "another cart's" below), and a fresh
	// digest or none sends the checkout to the core, which decides.
	wantEdgeAnswer(t, "old digest of this cart", checkout(checkoutBody(cartA), one), soldHot1, core)

	tampered := []byte(one)
	tampered[len(tampered)-3] ^= 1
	cold := dg.Sign(cartA, exp, []api.CartDigestLine{{SKU: "cold", Quantity: 1}})
	for what, c := range map[string]struct{ body, digest string }{
		"no digest":       {checkoutBody(cartA), ""},
		"tampered":        {checkoutBody(cartA), string(tampered)},
		"another cart's":  {checkoutBody(cartB), one},
		"another key's":   {checkoutBody(cartA), api.NewCartDigester([]byte("some-other-key-0123456789")).Sign(cartA, exp, []api.CartDigestLine{{SKU: "hot-1", Quantity: 1}})},
		"expired":         {checkoutBody(cartA), dg.Sign(cartA, time.Now().Add(30*time.Second).Unix(), []api.CartDigestLine{{SKU: "hot-1", Quantity: 1}})},
		"no sold-out sku": {checkoutBody(cartA), cold},
		"bad email":       {`{"cart_id":"` + cartA + `","payment_token":"tok_ok","email":"nobody"}`, one},
		"no token":        {`{"cart_id":"` + cartA + `","email":"a@example.com"}`, one},
		"not json":        {`{"cart_id":"` + cartA + `",`, one},
	} {
		wantForwarded(t, what, checkout(c.body, c.digest), core)
	}
	wantForwarded(t, "no Idempotency-Key", call(f, "POST", "/v1/checkout", checkoutBody(cartA), "Content-Type", "application/json", api.HeaderCartDigest, one), core)
	set.set("hot-1", false)
	wantForwarded(t, "after the restock", checkout(checkoutBody(cartA), one), core)

	// Without digest keys every checkout goes to the core.
	cfg.DigestKeys = nil
	g := mustNew(t, cfg)
	set.set("hot-1", true)
	if resp := call(g, "POST", "/v1/checkout", checkoutBody(cartA), "Idempotency-Key", "k", api.HeaderCartDigest, one); string(resp.Body()) != `{"from":"core"}` {
		t.Fatalf("without keys: %d %s", resp.StatusCode(), resp.Body())
	}
}

// TestCartDigestPassedThrough: the digest a core sets on a cart answer
// reaches the client.
func TestCartDigestPassedThrough(t *testing.T) {
	addr := startCore(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set(api.HeaderCartDigest, "AbC-_1")
		ctx.SetBodyString(`{}`)
	})
	f := mustNew(t, testConfig(addr))
	if resp := call(f, "GET", "/v1/carts/"+cartA, ""); string(resp.Header.Peek(api.HeaderCartDigest)) != "AbC-_1" {
		t.Fatalf("digest header: %s", resp.Header.String())
	}
}
