package catalog

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"shopedge/core/changelog"
	"shopedge/store/embedded"
)

// demoCatalog returns the uncompressed demo catalog (skips when absent).
func demoCatalog(b *testing.B) []byte {
	b.Helper()
	f, err := os.Open("../../scripts/demo/catalog.ndjson.gz")
	if err != nil {
		b.Skipf("demo catalog not available: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// benchmarkImport imports the whole demo catalog into a fresh embedded
// store with fsync on, per iteration, and reports products/s.
func benchmarkImport(b *testing.B, opts ImportOptions) {
	data := demoCatalog(b)
	n := bytes.Count(data, []byte{'\n'})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	var imported int
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, err := embedded.Open(filepath.Join(b.TempDir(), "bench.db"), embedded.Options{NoSync: os.Getenv("SHOPEDGE_BENCH_NOSYNC") != ""})
		if err != nil {
			b.Fatal(err)
		}
		svc := New(db, changelog.New(db, changelog.DefaultConfig()), DefaultConfig())
		b.StartTimer()
		res, err := svc.Import(context.Background(), bytes.NewReader(data), opts)
		b.StopTimer()
		if err != nil || res.Imported != n {
			b.Fatalf("imported %d of %d: %v %+v", res.Imported, n, err, res.Errors)
		}
		imported += res.Imported
		_ = db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(imported)/b.Elapsed().Seconds(), "products/s")
	// CPU time of the whole process (user+sys) per product, a figure that
	// other load on the machine disturbs less than the wall-clock rate.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(imported), "cpu-µs/product")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkImportDemo is Import with the default batching: batches of
// ImportBatch products committed by ImportWorkers goroutines at once, so
// the store's group commit shares fsyncs.
func BenchmarkImportDemo(b *testing.B) { benchmarkImport(b, ImportOptions{}) }

// BenchmarkImportDemoSerial is the baseline: the same batches committed
// one at a time.
func BenchmarkImportDemoSerial(b *testing.B) { benchmarkImport(b, ImportOptions{Workers: 1}) }

// BenchmarkDecodeImportLine measures the strict decoding of demo catalog
// lines (the streaming decoder with DisallowUnknownFields); the baseline
// twin is the lax non-streaming decoder, which checks no keys.
func BenchmarkDecodeImportLine(b *testing.B) {
	lines := bytes.Split(bytes.TrimSpace(demoCatalog(b)), []byte{'\n'})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var l importLine
		if err := decodeStrict(lines[i%len(lines)], &l, importSchema); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeImportLineBaseline(b *testing.B) {
	lines := bytes.Split(bytes.TrimSpace(demoCatalog(b)), []byte{'\n'})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var l importLine
		if err := json.Unmarshal(lines[i%len(lines)], &l); err != nil {
			b.Fatal(err)
		}
	}
}
