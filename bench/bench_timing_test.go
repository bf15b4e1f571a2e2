package bench

import (
	"math/rand/v2"
	"testing"
	"time"
)

var sinkInt int

// BenchmarkZipfSample measures one Zipf draw over 1M ranks (binary search
// of the CDF): the load generator's per-request cost of choosing a product.
func BenchmarkZipfSample(b *testing.B) {
	z, err := NewZipf(1_000_000, 1.1)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for b.Loop() {
		sinkInt += z.Sample(r)
	}
}

// BenchmarkUniformSample is the twin: a uniform draw over the same ranks.
func BenchmarkUniformSample(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for b.Loop() {
		sinkInt += r.IntN(1_000_000)
	}
}

// BenchmarkRecorderRecord measures recording one latency in the
// HdrHistogram.
func BenchmarkRecorderRecord(b *testing.B) {
	rec := NewRecorder()
	b.ReportAllocs()
	d := 1500 * time.Microsecond
	for b.Loop() {
		rec.Record(d, "")
	}
}
