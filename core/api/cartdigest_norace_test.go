//go:build !race

package api_test

import (
	"testing"

	"shopedge/core/api"
)

// TestCartDigestVerifyAllocs: an edge verifies a digest per checkout
// without allocating.
func TestCartDigestVerifyAllocs(t *testing.T) {
	dg := api.NewCartDigester(digestKey)
	enc := []byte(dg.Sign(digestCart, 1_800_000_000, []api.CartDigestLine{{SKU: "fs-hot-1", Quantity: 1}, {SKU: "b", Quantity: 3}}))
	n := 0
	if a := testing.AllocsPerRun(200, func() {
		var buf [384]byte // on the caller's stack, as the edge has it
		d, err := dg.Verify(buf[:], digestCart, enc)
		if err != nil {
			t.Fatal(err)
		}
		for off, ok := 0, true; ; {
			var qty int64
			if _, qty, off, ok = d.Line(off); !ok {
				break
			}
			n += int(qty)
		}
	}); a != 0 {
		t.Fatalf("%v allocations per verify", a)
	}
}
