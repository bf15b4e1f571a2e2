package api_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"shopedge/core/api"
	"shopedge/core/cart"
	"shopedge/core/catalog"
)

// TestIDShapesMatchTheCore keeps the edge's checks equal to the core's:
// every id the core makes passes them, and on random and hostile input
// they agree with the core's own validators (cart.ValidID,
// catalog.ValidID, which every SKU passed).
func TestIDShapesMatchTheCore(t *testing.T) {
	for range 200 {
		if id := cart.NewCartID(time.Now().UnixNano()); !api.ValidCartID(id) {
			t.Fatalf("cart id %q refused", id)
		}
		if id := cart.NewID(); !api.ValidCartID(id) || !api.ValidOrderToken(id) {
			t.Fatalf("id %q refused", id)
		}
	}
	hostile := []string{
		"", ".", "..", "a..b", ".a", "a.", "a/b", "a%2fb", "a\\b", "a b", "a\x00", "A", "é",
		"%2e%2e", "..;", "0123456789abcdef0123456789ABCDEF", strings.Repeat("a", 32), strings.Repeat("a", 48),
		strings.Repeat("0", 31), strings.Repeat("f", 49), strings.Repeat("x", 128), strings.Repeat("x", 129),
		"4111-1111", "sku_1.2~3", "-a", "~",
	}
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "0123456789abcdefABCDEF.-_~/%\\ ;:@"
	for range 5000 {
		b := make([]byte, r.IntN(50))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		hostile = append(hostile, string(b))
	}
	for _, s := range hostile {
		if got, want := api.ValidCartID(s), cart.ValidID(s); got != want {
			t.Fatalf("ValidCartID(%q) = %v, cart.ValidID %v", s, got, want)
		}
		if got, want := api.ValidSKU(s), catalog.ValidID("sku", s) == nil; got != want {
			t.Fatalf("ValidSKU(%q) = %v, catalog.ValidID %v", s, got, want)
		}
		if api.ValidOrderID(s) && (len(s) != 48 || !cart.ValidID(s)) {
			t.Fatalf("ValidOrderID(%q)", s)
		}
		if api.ValidOrderToken(s) && (len(s) != 32 || !cart.ValidID(s)) {
			t.Fatalf("ValidOrderToken(%q)", s)
		}
	}
}
