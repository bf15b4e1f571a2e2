//go:build !race

package coreclient

import (
	"testing"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
)

const raceEnabled = false

// TestSummaryDecodeAllocs checks that a snapshot line (the layout the
// scanner takes) costs one
// allocation (its string) plus a share of the chunks its categories and
// prices are carved from.
func TestSummaryDecodeAllocs(t *testing.T) {
	var lines [][]byte
	for i, line := range ReadDemoLines(t)[:2000] {
		var p api.Product
		if err := json.Unmarshal(line, &p); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, SnapshotLine(t, &p, i))
	}
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
