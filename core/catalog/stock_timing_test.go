package catalog

import (
	"context"
	"fmt"
	"testing"

	"shopedge/core/api"
	"shopedge/store"
)

// BenchmarkAdjustStock measures the checkout's per-line stock change
// (reserve one unit, release it: no band change) on the embedded store,
// each pair in one Update as the checkout's group commit would run it.
func BenchmarkAdjustStock(b *testing.B) {
	svc, _, st := newTestService(b)
	ctx := context.Background()
	for i := 0; i < 64; i++ {
		id := fmt.Sprint("p", i)
		if _, err := svc.Put(ctx, testProduct(id, id)); err != nil {
			b.Fatal(err)
		}
		if _, err := svc.SetStock(ctx, id, 1000); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	err := st.Update(ctx, func(tx store.Txn) error {
		for i := 0; i < b.N; i++ {
			sku := fmt.Sprint("p", i%64)
			if err := svc.AdjustStock(tx, sku, func(s *api.Stock) error { s.Reserved++; return nil }); err != nil {
				return err
			}
			if err := svc.AdjustStock(tx, sku, func(s *api.Stock) error { s.Reserved--; return nil }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAdjustStockBaseline is the floor: the same reads and writes of
// the 24-byte stock record without the catalog's checks.
func BenchmarkAdjustStockBaseline(b *testing.B) {
	svc, _, st := newTestService(b)
	ctx := context.Background()
	for i := 0; i < 64; i++ {
		id := fmt.Sprint("p", i)
		if _, err := svc.Put(ctx, testProduct(id, id)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	err := st.Update(ctx, func(tx store.Txn) error {
		for i := 0; i < b.N; i++ {
			key := stockKey(fmt.Sprint("p", i%64))
			for k := 0; k < 2; k++ {
				v, err := tx.Get(key)
				if err != nil {
					return err
				}
				w := append([]byte(nil), v...)
				w[7]++
				if err := tx.Set(key, w); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
