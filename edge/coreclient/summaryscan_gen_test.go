package coreclient_test

import (
	"errors"
	"testing"

	json "github.com/goccy/go-json"

	"shopedge/bench/gen"
	"shopedge/core/api"
	"shopedge/edge/coreclient"
)

// generatedLines returns n snapshot lines of products generated from the
// demo catalog as the 1M-product benchmarks generate them.
func generatedLines(tb testing.TB, n int) [][]byte {
	tb.Helper()
	var src []*api.Product
	for _, line := range coreclient.ReadDemoLines(tb) {
		p := new(api.Product)
		if err := json.Unmarshal(line, p); err != nil {
			tb.Fatal(err)
		}
		src = append(src, p)
	}
	var out [][]byte
	if err := gen.Products(n, 1, src, func(p *api.Product) error {
		out = append(out, coreclient.SnapshotLine(tb, p, len(out)))
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestSummaryScanGenerated decodes generated snapshot lines: summaryScan
// takes every one and decodes it as goccy does.
func TestSummaryScanGenerated(t *testing.T) {
	var d coreclient.SummaryDecoder
	for i, line := range generatedLines(t, 20000/coreclient.SampleStride()) {
		if diff := coreclient.DiffSummary(&d, line, true); diff != "" {
			t.Fatal(errors.New(diff), "line", i+1)
		}
	}
}
