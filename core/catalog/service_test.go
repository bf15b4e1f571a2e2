package catalog

import (
	"context"
	"errors"
	"testing"

	"shopedge/core/api"
	"shopedge/core/changelog"
	"shopedge/store"
)

func newTestService(t testing.TB) (*Service, *changelog.Log, store.Store) {
	t.Helper()
	st := newTestStore(t)
	log := changelog.New(st, changelog.DefaultConfig())
	svc := New(st, log, DefaultConfig())
	t.Cleanup(func() { checkInvariants(t, st) })
	return svc, log, st
}

// checkInvariants verifies, after every test, that every stock record is
// non-negative with reserved+sold <= on_hand, that every SKU index entry has
// its product and stock, and that every product's SKUs are indexed.
func checkInvariants(t testing.TB, st store.Store) {
	t.Helper()
	err := st.View(context.Background(), func(tx store.Txn) error {
		err := tx.Scan([]byte(store.NSStock), store.PrefixEnd([]byte(store.NSStock)), 0, func(k, v []byte) error {
			s, err := decodeStock(string(k[len(store.NSStock):]), v)
			if err != nil {
				return err
			}
			if s.OnHand < 0 || s.Reserved < 0 || s.Sold < 0 || s.Available < 0 {
				t.Errorf("bad stock %+v", s)
			}
			// A stock record may outlive its product (deleteSKU keeps
			// it while orders hold units), so no SKU index is needed.
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Scan([]byte(store.NSProduct), store.PrefixEnd([]byte(store.NSProduct)), 0, func(k, _ []byte) error {
			p, err := getProduct(tx, string(k[len(store.NSProduct):]))
			if err != nil {
				return err
			}
			for _, sku := range p.SKUs {
				e, _ := getSKU(tx, sku.SKU)
				if e == nil || e.ProductID != p.ID {
					t.Errorf("SKU %s of %s not indexed: %+v", sku.SKU, p.ID, e)
				}
				if _, found, _ := getStock(tx, sku.SKU); !found {
					t.Errorf("SKU %s of %s has no stock", sku.SKU, p.ID)
				}
			}
			return nil
		})
	})
	if err != nil {
		t.Errorf("cannot check invariants: %v", err)
	}
}

func testProduct(id string, skus ...string) *api.Product {
	p := &api.Product{ID: id, Slug: "slug-" + id, Name: "Product " + id, Brand: "Acme",
		Categories: []string{"Phones", "Smartphones"}, Popularity: 3}
	for _, s := range skus {
		p.SKUs = append(p.SKUs, api.SKU{SKU: s, Price: &api.Money{Amount: 1999, Currency: "USD"}})
	}
	return p
}

func events(t testing.TB, log *changelog.Log, after uint64) []api.Event {
	t.Helper()
	ch, err := log.Read(context.Background(), after, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ch.Events
}

func mustCode(t testing.TB, err error, code string) {
	t.Helper()
	if api.ErrorCode(err) != code {
		t.Fatalf("error %v, want code %s", err, code)
	}
}

func TestPutGetDelete(t *testing.T) {
	svc, log, st := newTestService(t)
	ctx := context.Background()
	seq, err := svc.Put(ctx, testProduct("p1", "a", "b"))
	if err != nil || seq != 1 {
		t.Fatalf("put: %d %v", seq, err)
	}
	p, err := svc.Get(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.SKUs) != 2 || p.SKUs[0].Availability != api.OutOfStock {
		t.Fatalf("get: %+v", p)
	}
	// Replace: drop b, add c.
	if _, err := svc.Put(ctx, testProduct("p1", "a", "c")); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Stock(ctx, "b"); api.ErrorCode(err) != api.ECodeNotFound {
		t.Fatalf("dropped SKU b still has stock: %v", err)
	}
	err = st.View(ctx, func(tx store.Txn) error {
		if _, _, _, err := svc.SKUInfo(tx, "b"); api.ErrorCode(err) != api.ECodeNotFound {
			t.Errorf("dropped SKU b still indexed: %v", err)
		}
		id, name, price, err := svc.SKUInfo(tx, "c")
		if err != nil || id != "p1" || name != "Product p1" || price == nil || price.Amount != 1999 {
			t.Errorf("SKUInfo(c) = %q %q %v %v", id, name, price, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A SKU belongs to one product.
	_, err = svc.Put(ctx, testProduct("p2", "c"))
	mustCode(t, err, api.ECodeConflict)
	if _, err := svc.Get(ctx, "p2"); api.ErrorCode(err) != api.ECodeNotFound {
		t.Fatalf("conflicting put wrote p2: %v", err)
	}
	// Delete.
	if _, err := svc.Delete(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Get(ctx, "p1")
	mustCode(t, err, api.ECodeNotFound)
	_, err = svc.Stock(ctx, "a")
	mustCode(t, err, api.ECodeNotFound)
	_, err = svc.Delete(ctx, "p1")
	mustCode(t, err, api.ECodeNotFound)
	// Now c is free for p2.
	if _, err := svc.Put(ctx, testProduct("p2", "c")); err != nil {
		t.Fatal(err)
	}
	evs := events(t, log, 0)
	types := ""
	for _, ev := range evs {
		types += ev.Type[:1]
	}
	if types != "uudu" {
		t.Fatalf("event types %q, want uudu", types)
	}
	if evs[2].ID != "p1" || evs[3].Product == nil || evs[3].Product.SKUs[0].Availability != api.OutOfStock {
		t.Fatalf("events %+v", evs)
	}
}

func TestPutKeepsStock(t *testing.T) {
	svc, _, _ := newTestService(t)
	ctx := context.Background()
	if _, err := svc.Put(ctx, testProduct("p1", "a")); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetStock(ctx, "a", 50); err != nil {
		t.Fatal(err)
	}
	p := testProduct("p1", "a")
	p.Name = "Renamed"
	p.SKUs[0].Availability = api.OutOfStock // ignored on input
	if _, err := svc.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	s, err := svc.Stock(ctx, "a")
	if err != nil || s.OnHand != 50 || s.Available != 50 {
		t.Fatalf("stock after re-put: %+v %v", s, err)
	}
	got, _ := svc.Get(ctx, "p1")
	if got.Name != "Renamed" || got.SKUs[0].Availability != api.InStock {
		t.Fatalf("got %+v", got)
	}
}

func TestStockBands(t *testing.T) {
	svc, log, st := newTestService(t)
	ctx := context.Background()
	if _, err := svc.Put(ctx, testProduct("p1", "a", "b")); err != nil {
		t.Fatal(err)
	}
	last := func() uint64 {
		ch, _ := log.Read(ctx, 0, 0)
		return ch.Last
	}
	base := last()
	// 0 → 100: out → in, one event.
	if _, err := svc.SetStock(ctx, "a", 100); err != nil {
		t.Fatal(err)
	}
	evs := events(t, log, base)
	if len(evs) != 1 || evs[0].Type != api.EventUpsert || evs[0].Product.SKUs[0].Availability != api.InStock ||
		evs[0].Product.SKUs[1].Availability != api.OutOfStock {
		t.Fatalf("band change events %+v", evs)
	}
	base = last()
	adjust := func(fn func(s *api.Stock) error) error {
		return st.Update(ctx, func(tx store.Txn) error { return svc.AdjustStock(tx, "a", fn) })
	}
	// Reserve 80 (available 20, still in stock): no event.
	if err := adjust(func(s *api.Stock) error { s.Reserved += 80; return nil }); err != nil {
		t.Fatal(err)
	}
	if evs := events(t, log, base); len(evs) != 0 {
		t.Fatalf("in-band change emitted %+v", evs)
	}
	// Sell the 80 reserved and 10 more: available 10, low stock.
	if err := adjust(func(s *api.Stock) error { s.Reserved -= 80; s.Sold += 90; return nil }); err != nil {
		t.Fatal(err)
	}
	evs = events(t, log, base)
	if len(evs) != 1 || evs[0].Product.SKUs[0].Availability != api.LowStock {
		t.Fatalf("in→low events %+v", evs)
	}
	base = last()
	// Invariant violations change nothing.
	err := adjust(func(s *api.Stock) error { s.Reserved += 11; return nil })
	mustCode(t, err, api.ECodeConflict)
	err = adjust(func(s *api.Stock) error { s.Sold = -1; return nil })
	mustCode(t, err, api.ECodeConflict)
	_, err = svc.SetStock(ctx, "a", 89)
	mustCode(t, err, api.ECodeConflict)
	s, _ := svc.Stock(ctx, "a")
	if s.OnHand != 100 || s.Reserved != 0 || s.Sold != 90 || s.Available != 10 {
		t.Fatalf("stock after rejected changes %+v", s)
	}
	if evs := events(t, log, base); len(evs) != 0 {
		t.Fatalf("rejected changes emitted %+v", evs)
	}
	// Reserve the rest: low → out.
	if err := adjust(func(s *api.Stock) error { s.Reserved += 10; return nil }); err != nil {
		t.Fatal(err)
	}
	evs = events(t, log, base)
	if len(evs) != 1 || evs[0].Product.SKUs[0].Availability != api.OutOfStock {
		t.Fatalf("low→out events %+v", evs)
	}
	err = st.Update(ctx, func(tx store.Txn) error {
		return svc.AdjustStock(tx, "nope", func(*api.Stock) error { return nil })
	})
	mustCode(t, err, api.ECodeNotFound)
	_, err = svc.SetStock(ctx, "a", -1)
	mustCode(t, err, api.ECodeInvalid)
	var fnErr = errors.New("fn refused")
	if err := adjust(func(*api.Stock) error { return fnErr }); !errors.Is(err, fnErr) {
		t.Fatalf("fn error not returned: %v", err)
	}
}

// Deleting a product while orders hold its units keeps the SKU's stock
// record, so those units can still be released (and the invariant holds);
// a stock record nobody holds units of goes with the product.
func TestDeleteKeepsStockHeldByOrders(t *testing.T) {
	svc, _, st := newTestService(t)
	ctx := context.Background()
	if _, err := svc.Put(ctx, testProduct("p1", "held", "free")); err != nil {
		t.Fatal(err)
	}
	for _, sku := range []string{"held", "free"} {
		if _, err := svc.SetStock(ctx, sku, 20); err != nil {
			t.Fatal(err)
		}
	}
	reserve := func(n int64) func(tx store.Txn) error {
		return func(tx store.Txn) error {
			return svc.AdjustStock(tx, "held", func(s *api.Stock) error { s.Reserved += n; return nil })
		}
	}
	if err := st.Update(ctx, reserve(15)); err != nil { // crosses into low_stock
		t.Fatal(err)
	}
	if _, err := svc.Delete(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Stock(ctx, "free"); api.ErrorCode(err) != api.ECodeNotFound {
		t.Fatalf("stock of an unheld SKU after delete: %v", err)
	}
	// The pending order's release still finds its stock, across a band.
	if err := st.Update(ctx, reserve(-15)); err != nil {
		t.Fatalf("release after delete: %v", err)
	}
	s, err := svc.Stock(ctx, "held")
	if err != nil || s.Reserved != 0 || s.Available != 20 {
		t.Fatalf("stock after release: %+v %v", s, err)
	}
}
