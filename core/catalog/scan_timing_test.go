package catalog

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
	"shopedge/core/changelog"
	"shopedge/store"
	"shopedge/store/embedded"
)

// snapshotService imports the demo catalog into a fresh embedded store.
func snapshotService(b *testing.B) (*Service, store.Store, int) {
	b.Helper()
	data := demoCatalog(b)
	db, err := embedded.Open(filepath.Join(b.TempDir(), "snap.db"), embedded.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	svc := New(db, changelog.New(db, changelog.DefaultConfig()), DefaultConfig())
	res, err := svc.Import(context.Background(), bytes.NewReader(data), ImportOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return svc, db, res.Imported
}

// BenchmarkSnapshotJSON renders the demo catalog as the snapshot sends it
// (ScanProductJSON: popularity order, availability spliced into the stored
// JSON) and reports products/s and CPU µs per product.
func BenchmarkSnapshotJSON(b *testing.B) {
	benchmarkSnapshot(b, func(svc *Service, tx store.Txn, fn func([]byte) error) error {
		return svc.ScanProductJSON(tx, fn)
	})
}

// BenchmarkSnapshotJSONBaseline is the former way: decode every product,
// fill its availability and encode it again, in id order.
func BenchmarkSnapshotJSONBaseline(b *testing.B) {
	benchmarkSnapshot(b, func(svc *Service, tx store.Txn, fn func([]byte) error) error {
		return svc.ScanProducts(tx, func(p *api.Product) error {
			line, err := json.Marshal(p)
			if err != nil {
				return err
			}
			return fn(line)
		})
	})
}

func benchmarkSnapshot(b *testing.B, scan func(*Service, store.Txn, func([]byte) error) error) {
	svc, db, n := snapshotService(b)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	var bytesOut, sink int
	for i := 0; i < b.N; i++ {
		err := db.View(context.Background(), func(tx store.Txn) error {
			return scan(svc, tx, func(line []byte) error {
				bytesOut += len(line)
				sink += int(line[len(line)-1])
				return nil
			})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(bytesOut / max(b.N, 1)))
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "products/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n*b.N), "cpu-µs/product")
	if sink == 0 {
		b.Fatal("nothing scanned")
	}
}
