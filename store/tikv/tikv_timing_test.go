package tikv

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tikv/client-go/v2/tikv"

	"shopedge/store"
)

var benchValue = make([]byte, 100)

// BenchmarkUpdateParallel measures small independent Updates from 64
// goroutines on the in-process mock cluster (numbers are the mock's, not a
// real cluster's), against the baseline of raw client-go transactions
// without the retry wrapper.
func BenchmarkUpdateParallel(b *testing.B) {
	b.Run("store", func(b *testing.B) {
		s := mustNew(b, Options{})
		var n atomic.Uint64
		b.ReportAllocs()
		b.SetParallelism(32)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				k := store.AppendUint64([]byte("bench/"), n.Add(1))
				if err := s.Update(context.Background(), func(tx store.Txn) error { return tx.Set(k, benchValue) }); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "updates/s")
	})
	b.Run("rawTxn", func(b *testing.B) {
		kvs := newMockKV(b, nil, 1024)
		var n atomic.Uint64
		b.ReportAllocs()
		b.SetParallelism(32)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				k := store.AppendUint64([]byte("bench/"), n.Add(1))
				if err := rawSet(kvs, k); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "updates/s")
	})
}

func rawSet(kvs *tikv.KVStore, k []byte) error {
	txn, err := kvs.Begin()
	if err != nil {
		return err
	}
	if err := txn.Set(k, benchValue); err != nil {
		return err
	}
	return txn.Commit(context.Background())
}
