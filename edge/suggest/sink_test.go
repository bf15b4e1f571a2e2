package suggest

import (
	"fmt"
	"sync"
	"testing"

	"shopedge/core/api"
)

func TestLoadKeepsServingUntilEndLoad(t *testing.T) {
	ps := demoProducts(t)
	s := newLoaded(t, testConfig(), ps[:100])
	before := ids(mustSuggest(t, s, "s", 5))
	s.BeginLoad()
	for _, p := range ps[100:200] {
		s.Load(p)
	}
	if got := ids(mustSuggest(t, s, "s", 5)); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatalf("answer changed during a load: %v, want %v", got, before)
	}
	s.EndLoad(7)
	if s.Seq() != 7 || s.Stats().Products != 100 {
		t.Fatalf("after EndLoad: seq %d, %d products", s.Seq(), s.Stats().Products)
	}
	for _, id := range ids(mustSuggest(t, s, "s", 20)) {
		for _, p := range ps[:100] {
			if p.ID == id {
				t.Fatalf("%s of the old snapshot is still answered", id)
			}
		}
	}
	// Events not newer than the snapshot change nothing.
	p := *ps[150]
	p.Name = "Quokka Phone"
	s.Apply(&api.Event{Seq: 7, Type: api.EventUpsert, Product: &p})
	if a := mustSuggest(t, s, "quokka", 5); len(a.Products) != 0 {
		t.Fatalf("stale upsert applied: %v", ids(a))
	}
	s.Apply(&api.Event{Seq: 8, Type: api.EventUpsert, Product: &p})
	if a := mustSuggest(t, s, "quokka", 5); len(a.Products) != 1 {
		t.Fatalf("upsert not applied: %v", ids(a))
	}
	s.Apply(&api.Event{Seq: 9, Type: api.EventDelete, ID: p.ID})
	s.Apply(&api.Event{Seq: 8, Type: api.EventUpsert, Product: &p}) // replayed: stays deleted
	if a := mustSuggest(t, s, "quokka", 5); len(a.Products) != 0 {
		t.Fatalf("deleted product back: %v", ids(a))
	}
}

func TestRankingBands(t *testing.T) {
	mk := func(id string, pop int64, band string) *api.Product {
		return &api.Product{ID: id, Slug: id, Name: "Widget " + id, Popularity: pop,
			SKUs: []api.SKU{{SKU: id, Availability: band}}}
	}
	s := newLoaded(t, testConfig(), []*api.Product{
		mk("a", 1000, api.OutOfStock), mk("b", 10, api.InStock), mk("c", 500, api.LowStock), mk("d", 20, api.InStock),
	})
	if got := fmt.Sprint(ids(mustSuggest(t, s, "widg", 10))); got != "[d b c a]" {
		t.Fatalf("ranking %s, want [d b c a]", got)
	}
	s.Apply(&api.Event{Seq: 2, Type: api.EventUpsert, Product: mk("a", 1000, api.InStock)})
	if got := fmt.Sprint(ids(mustSuggest(t, s, "widg", 10))); got != "[a d b c]" {
		t.Fatalf("after a band change: %s, want [a d b c]", got)
	}
}

// TestConcurrentServeAndApply runs requests against a stream of events
// (meaningful under -race).
func TestConcurrentServeAndApply(t *testing.T) {
	ps := demoProducts(t)[:400]
	s := newLoaded(t, testConfig(), ps)
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			qs := []string{"sam", "galaxy s", "iphone", "samsnug", "case"}
			for i := range 300 {
				ctx := serve(s, suggestURI(qs[(i+g)%len(qs)], ""))
				if ctx.Response.StatusCode() != 200 {
					t.Errorf("status %d", ctx.Response.StatusCode())
					return
				}
			}
		}()
	}
	for i := range 300 {
		p := *ps[i%len(ps)]
		p.Popularity = int64(i * 7 % 1000)
		s.Apply(&api.Event{Seq: uint64(2 + i), Type: api.EventUpsert, Product: &p})
	}
	wg.Wait()
}

// TestLoadRepeatedProduct: a product loaded twice is indexed once, as
// loaded last.
func TestLoadRepeatedProduct(t *testing.T) {
	mk := func(id, name string, pop int64) *api.Product {
		return &api.Product{ID: id, Slug: id, Name: name, Popularity: pop, SKUs: []api.SKU{{SKU: id}}}
	}
	s := newLoaded(t, testConfig(), []*api.Product{
		mk("a", "Quokka Lamp", 1), mk("b", "Quokka Desk", 2), mk("a", "Wombat Lamp", 3), mk("c", "Quokka Chair", 0),
	})
	if n := s.Stats().Products; n != 3 {
		t.Fatalf("%d products, want 3", n)
	}
	for q, want := range map[string]string{"quokka": "[b c]", "wombat": "[a]", "lamp": "[a]"} {
		if got := fmt.Sprint(ids(mustSuggest(t, s, q, 10))); got != want {
			t.Fatalf("%q: %s, want %s", q, got, want)
		}
	}
	s.Apply(&api.Event{Seq: 2, Type: api.EventUpsert, Product: mk("a", "Quokka Lamp", 3)})
	if got := fmt.Sprint(ids(mustSuggest(t, s, "quokka", 10))); got != "[a b c]" {
		t.Fatalf("after an update: %s", got)
	}
}
