package storefront

import (
	"bytes"
	"os"
	"testing"

	"shopedge/edge/storefront/theme"
)

// TestPagesGolden pins the HTML of every storefront page over the test
// catalog (run with -update after reading the diff). It proves the markup
// is what was reviewed (in a browser too: see e2e's browser test), not
// that it looks right.
func TestPagesGolden(t *testing.T) {
	e := newEnv(t, testProducts(t), nil)
	for _, c := range []struct {
		name, uri string
		status    int
	}{
		{"home", "/", 200},
		{"category-top", "/c/cell-phones", 200},
		{"category-leaf", "/c/iphone-accessories", 200},
		{"category-filtered", "/c/computers?brand=HP&in_stock=1&sort=price_desc", 200},
		{"search", "/search?q=apple", 200},
		{"search-browse-page2", "/search?per_page=8&page=2", 200},
		{"search-filters", "/search?q=case&brand=OtterBox&brand=Insignia&price_min=1000&price_max=4999&attr.product+colour=Black", 200},
		{"search-empty", "/search?q=zzzzzz", 200},
		{"search-bad", "/search?per_page=1000", 400},
		{"category-unknown", "/c/no-such-category", 404},
		{"cart", "/cart", 200},
		{"checkout", "/checkout", 200},
		{"order", "/orders/o123?token=t456", 200},
	} {
		resp := e.get(t, c.uri)
		if resp.StatusCode() != c.status {
			t.Errorf("%s: status %d, want %d: %.300s", c.uri, resp.StatusCode(), c.status, resp.Body())
			continue
		}
		got := theme.MaskVersions(resp.Body())
		if *update {
			writeGolden(t, c.name, got)
		}
		want, err := os.ReadFile(goldenPath(c.name))
		if err != nil {
			t.Fatalf("%v (run with -update to create)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: page differs from %s (run with -update after checking)\n got: %s", c.uri, goldenPath(c.name), got)
		}
	}
}
