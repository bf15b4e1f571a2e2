//go:build !race

package api

import "testing"

const raceEnabled = false

// TestSummaryDecodeAllocs checks that a line the scanner takes costs one
// allocation (its string) plus a share of the chunks its categories and
// prices are carved from.
func TestSummaryDecodeAllocs(t *testing.T) {
	lines := ReadDemoLines(t)[:2000]
	var d SummaryDecoder
	k := 0
	allocs := testing.AllocsPerRun(len(lines), func() {
		if _, err := d.Decode(lines[k%len(lines)]); err != nil {
			t.Fatal(err)
		}
		k++
	})
	if allocs > 1.05 {
		t.Fatalf("%.2f allocations per line", allocs)
	}
}
