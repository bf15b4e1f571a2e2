package embedded

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"shopedge/store"
)

// benchParallelism × GOMAXPROCS goroutines write concurrently (64 on 2 cores).
const benchParallelism = 32

var benchValue = make([]byte, 100)

func benchKey(n uint64) []byte { return store.AppendUint64([]byte("bench/"), n) }

func reportRate(b *testing.B, start time.Time) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "updates/s")
}

// BenchmarkUpdateParallel measures small Updates from many goroutines with
// fsync on: the group-committed DB against its baselines, one bbolt
// transaction per update (bolt.Update) and bbolt's own Batch.
func BenchmarkUpdateParallel(b *testing.B) {
	b.Run("group", func(b *testing.B) {
		db := mustOpen(b, Options{})
		var n atomic.Uint64
		b.ReportAllocs()
		b.SetParallelism(benchParallelism)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				k := benchKey(n.Add(1))
				err := db.Update(context.Background(), func(tx store.Txn) error { return tx.Set(k, benchValue) })
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportRate(b, start)
		st := db.Stats()
		b.ReportMetric(float64(st.Updates)/float64(max(st.Batches, 1)), "updates/batch")
	})
	b.Run("boltUpdate", func(b *testing.B) {
		bdb := mustOpenBolt(b)
		var n atomic.Uint64
		b.ReportAllocs()
		b.SetParallelism(benchParallelism)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				k := benchKey(n.Add(1))
				err := bdb.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketName).Put(k, benchValue) })
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportRate(b, start)
	})
	b.Run("boltBatch", func(b *testing.B) {
		bdb := mustOpenBolt(b)
		var n atomic.Uint64
		b.ReportAllocs()
		b.SetParallelism(benchParallelism)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				k := benchKey(n.Add(1))
				err := bdb.Batch(func(tx *bolt.Tx) error { return tx.Bucket(bucketName).Put(k, benchValue) })
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportRate(b, start)
	})
}

// BenchmarkImportParallel measures product-sized (2 KiB) upserts from many
// goroutines, the catalog import's shape.
func BenchmarkImportParallel(b *testing.B) {
	db := mustOpen(b, Options{})
	doc := make([]byte, 2048)
	var n atomic.Uint64
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	b.SetParallelism(benchParallelism)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := benchKey(n.Add(1))
			err := db.Update(context.Background(), func(tx store.Txn) error { return tx.Set(k, doc) })
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b, start)
}

// BenchmarkCounterParallel measures read-increment-write on one hot key.
func BenchmarkCounterParallel(b *testing.B) {
	db := mustOpen(b, Options{})
	key := []byte("hot")
	b.ReportAllocs()
	b.SetParallelism(benchParallelism)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			err := db.Update(context.Background(), func(tx store.Txn) error {
				v, err := tx.Get(key)
				if err != nil && err != store.ErrNotFound {
					return err
				}
				return tx.Set(key, store.AppendUint64(nil, store.Uint64(v)+1))
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b, start)
}

func mustOpenBolt(b *testing.B) *bolt.DB {
	b.Helper()
	bdb, err := bolt.Open(filepath.Join(b.TempDir(), "bolt.db"), 0o600, &bolt.Options{
		InitialMmapSize: 256 << 20, FreelistType: bolt.FreelistMapType,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = bdb.Close() })
	err = bdb.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketName)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return bdb
}
