package coreclient

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"os"
	"reflect"
	"testing"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
)

// SummaryDecoder exposes decodeSummaries' decoding of one line to the
// tests of package api_test (which may import bench/gen).
type SummaryDecoder struct {
	d    summaryDecoder
	skus []api.SKU
	p    api.Product
}

// Decode decodes line as decodeSummaries does. The product is valid
// until the next Decode.
func (s *SummaryDecoder) Decode(line []byte) (*api.Product, error) {
	var err error
	s.skus, err = s.d.decode(line, &s.p, s.skus[:0])
	if n := len(s.skus); n > 0 {
		s.p.SKUs = s.skus[:n:n]
	}
	return &s.p, err
}

// Scans reports whether summaryScan, not goccy, decodes line.
func (s *SummaryDecoder) Scans(line []byte) bool { return s.d.scan.scan(line) }

// ScansCore reports whether summaryScan's path for the core's layout
// decodes line.
func (s *SummaryDecoder) ScansCore(line []byte) bool { return s.d.scan.scanCore(line) }

// GoccySummary decodes line with goccy into a fresh productSummary: the
// reference decoding.
func GoccySummary(line []byte) (*api.Product, error) {
	var p api.Product
	skus, err := decodeSummaryGoccy(line, &p, nil)
	if len(skus) > 0 {
		p.SKUs = skus
	}
	return &p, err
}

// GoccySummaryDecoder is the decoding decodeSummaries did before
// summaryScan (goccy into a reused productSummary): the benchmarks'
// baseline.
type GoccySummaryDecoder struct {
	s    productSummary
	skus []api.SKU
	p    api.Product
}

// Decode decodes line. The product is valid until the next Decode.
func (g *GoccySummaryDecoder) Decode(line []byte) (*api.Product, error) {
	s := &g.s
	*s = productSummary{SKUs: s.SKUs[:0]}
	if err := json.Unmarshal(line, s); err != nil {
		return nil, err
	}
	g.p = api.Product{ID: s.ID, Slug: s.Slug, Name: s.Name, Brand: s.Brand, Categories: s.Categories,
		Image: s.Image, Popularity: s.Popularity}
	g.skus = g.skus[:0]
	for _, sku := range s.SKUs {
		g.skus = append(g.skus, api.SKU{SKU: sku.SKU, Price: sku.Price, Availability: sku.Availability})
	}
	if n := len(g.skus); n > 0 {
		g.p.SKUs = g.skus[:n:n]
	}
	return &g.p, nil
}

// DiffSummary decodes line with d and with goccy and describes how they
// differ (results or errors), or, when mustScan, that summaryScan did not
// take the line; "" when they agree.
func DiffSummary(d *SummaryDecoder, line []byte, mustScan bool) string {
	want, werr := GoccySummary(line)
	if mustScan && !d.Scans(line) {
		return fmt.Sprintf("scanner falls back on %q", line)
	}
	got, err := d.Decode(line)
	switch {
	case (err == nil) != (werr == nil):
		return fmt.Sprintf("%q: error %v, goccy %v", line, err, werr)
	case err != nil && err.Error() != werr.Error():
		return fmt.Sprintf("%q: error %q, goccy %q", line, err, werr)
	case err == nil && !reflect.DeepEqual(got, want):
		return fmt.Sprintf("%q:\ngot   %#v\ngoccy %#v", line, *got, *want)
	}
	return ""
}

// ReadDemoLines returns the lines of the committed demo catalog.
func ReadDemoLines(tb testing.TB) [][]byte {
	tb.Helper()
	f, err := os.Open("../../scripts/demo/catalog.ndjson.gz")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// SnapshotLine returns p as the core's snapshot sends it: json.Marshal of
// the product with an availability band on each SKU (cycling through the
// bands by SKU index plus salt).
func SnapshotLine(tb testing.TB, p *api.Product, salt int) []byte {
	tb.Helper()
	bands := []string{api.InStock, api.LowStock, api.OutOfStock}
	q := *p
	q.SKUs = append([]api.SKU(nil), p.SKUs...)
	for k := range q.SKUs {
		q.SKUs[k].Availability = bands[(k+salt)%3]
	}
	b, err := json.Marshal(&q)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// SampleStride is 1 (every line) in a plain test run; under the race
// detector or -short the catalog tests decode every SampleStride-th line.
func SampleStride() int {
	if raceEnabled || testing.Short() {
		return 9
	}
	return 1
}
