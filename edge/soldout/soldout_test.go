package soldout

import (
	"testing"
	"unsafe"

	"github.com/VictoriaMetrics/metrics"

	"shopedge/core/api"
)

func product(id string, bands ...string) *api.Product {
	p := &api.Product{ID: id}
	for i, b := range bands {
		p.SKUs = append(p.SKUs, api.SKU{SKU: id + "-" + string(rune('a'+i)), Availability: b})
	}
	return p
}

// TestSet: the set follows the bands of the snapshot and of each event
// (out of stock in, any other band out, a SKU that left its product or a
// deleted product out), serves the old set during a reload, and answers
// nothing while the feed is not live.
func TestSet(t *testing.T) {
	live := true
	s := New(func() bool { return live }, metrics.NewSet())
	want := func(what string, sold ...string) {
		t.Helper()
		if s.Len() != len(sold) {
			t.Fatalf("%s: %d sold out, want %v", what, s.Len(), sold)
		}
		for _, sku := range sold {
			if !s.SoldOut([]byte(sku)) {
				t.Fatalf("%s: %s not sold out", what, sku)
			}
		}
	}
	s.BeginLoad()
	s.Load(product("p", api.InStock, api.OutOfStock))
	s.Load(product("q", api.OutOfStock, api.OutOfStock, api.LowStock))
	want("during the first load")
	s.EndLoad(7)
	want("loaded", "p-b", "q-a", "q-b")
	if s.SoldOut([]byte("p-a")) || s.SoldOut([]byte("unknown")) {
		t.Fatal("an in-stock or unknown SKU is sold out")
	}
	s.Apply(&api.Event{Seq: 8, Type: api.EventUpsert, ID: "p", Product: product("p", api.OutOfStock, api.LowStock)})
	want("p-a sold out, p-b restocked", "p-a", "q-a", "q-b")
	// q loses its second SKU (the product now has one).
	s.Apply(&api.Event{Seq: 9, Type: api.EventUpsert, ID: "q", Product: product("q", api.OutOfStock)})
	want("q-b gone", "p-a", "q-a")
	s.Apply(&api.Event{Seq: 10, Type: api.EventPurgeAll})
	want("a purge changes no band", "p-a", "q-a")
	s.Apply(&api.Event{Seq: 11, Type: api.EventDelete, ID: "p"})
	want("p deleted", "q-a")
	s.BeginLoad()
	s.Load(product("r", api.OutOfStock))
	want("the old set serves during a reload", "q-a")
	s.EndLoad(20)
	want("reloaded", "r-a")
	live = false
	if s.SoldOut([]byte("r-a")) {
		t.Fatal("sold out while the feed is not live")
	}
}

// TestLoadCopies: the set keeps nothing of a snapshot's strings (which
// alias the follower's reused decode buffer): what it keeps of them is
// taken before Load returns.
func TestLoadCopies(t *testing.T) {
	s := New(nil, metrics.NewSet())
	buf := []byte("sku-1pid-x")
	p := &api.Product{ID: unsafe.String(&buf[5], 5), SKUs: []api.SKU{{SKU: unsafe.String(&buf[0], 5), Availability: api.OutOfStock}}}
	s.BeginLoad()
	s.Load(p)
	copy(buf, "sku-2pid-y")
	s.EndLoad(1)
	if !s.SoldOut([]byte("sku-1")) || s.SoldOut([]byte("sku-2")) {
		t.Fatal("the set kept the caller's bytes")
	}
	s.Apply(&api.Event{Seq: 2, Type: api.EventDelete, ID: "pid-x"})
	if s.SoldOut([]byte("sku-1")) {
		t.Fatal("the product's SKUs outlived its delete")
	}
}

// TestManySoldOutSKUs: a product with more sold-out SKUs than its inline
// list holds keeps all of them, and an upsert or a delete drops all of
// them (the ones kept past the inline list included).
func TestManySoldOutSKUs(t *testing.T) {
	s := New(nil, metrics.NewSet())
	out := api.OutOfStock
	s.BeginLoad()
	s.Load(product("m", out, out, out, out, out))
	s.EndLoad(1)
	for _, sku := range []string{"m-a", "m-b", "m-c", "m-d", "m-e"} {
		if !s.SoldOut([]byte(sku)) {
			t.Fatalf("%s not sold out", sku)
		}
	}
	s.Apply(&api.Event{Seq: 2, Type: api.EventUpsert, ID: "m", Product: product("m", api.InStock, api.InStock, api.InStock, api.InStock, out)})
	if s.Len() != 1 || !s.SoldOut([]byte("m-e")) || s.SoldOut([]byte("m-d")) {
		t.Fatalf("after the upsert: %d sold out, m-e %v m-d %v", s.Len(), s.SoldOut([]byte("m-e")), s.SoldOut([]byte("m-d")))
	}
	s.Apply(&api.Event{Seq: 3, Type: api.EventUpsert, ID: "m", Product: product("m", out, out, out, out, out)})
	s.Apply(&api.Event{Seq: 4, Type: api.EventDelete, ID: "m"})
	if s.Len() != 0 {
		t.Fatalf("after the delete: %d sold out", s.Len())
	}
}

func BenchmarkSoldOut(b *testing.B) {
	s := New(func() bool { return true }, metrics.NewSet())
	s.BeginLoad()
	for i := range 1000 {
		s.Load(product("p"+string(rune('A'+i%50))+string(rune('a'+i/50)), api.OutOfStock))
	}
	s.EndLoad(1)
	sku := []byte("fs-hot-1")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.SoldOut(sku)
		}
	})
}
