package suggest

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"shopedge/core/api"
)

var propVocab = strings.Fields("samsung sam samsonite galaxy gala s23 s24 s7 tv television apple iphone ipad " +
	"phone phones case cases charger black white 128gb 64gb pro max ultra sony bravia lg oled " +
	"café cafetière straße strasse xerox toner zzzzzzzzzzzzzzlong zzzzzzzzzzzzzzlonger")

func propProduct(rng *rand.Rand, id string) *api.Product {
	words := make([]string, 1+rng.IntN(5))
	for i := range words {
		words[i] = propVocab[rng.IntN(len(propVocab))]
	}
	brands := []string{"Samsung", "Apple", "Sony", "LG", ""}
	cats := [][]string{{"TV", "OLED TVs"}, {"Phones"}, {"Phones", "Cases"}, nil}
	bands := []string{api.InStock, api.LowStock, api.OutOfStock, ""}
	var price *api.Money
	if rng.IntN(4) > 0 {
		price = &api.Money{Amount: int64(rng.IntN(1000)), Currency: "USD"}
	}
	return &api.Product{
		ID: id, Slug: "p-" + id, Name: strings.Join(words, " "), Brand: brands[rng.IntN(len(brands))],
		Categories: cats[rng.IntN(len(cats))], Popularity: int64(rng.IntN(20)),
		SKUs: []api.SKU{{SKU: id, Price: price, Availability: bands[rng.IntN(len(bands))]}},
	}
}

func propQueries() []string {
	qs := []string{"", "zzzzzzzzzzzzzzlong", "zzzzzzzzzzzzzzlongx", "samsnug", "iphnoe", "galxy s2", "televsion"}
	for _, w := range propVocab {
		r := []rune(w)
		for n := 1; n <= len(r); n++ {
			qs = append(qs, string(r[:n]))
		}
	}
	for i, a := range propVocab {
		b := propVocab[(i*7+3)%len(propVocab)]
		ra, rb := []rune(a), []rune(b)
		qs = append(qs, a+" "+string(rb[:1+i%len(rb)]), b+" "+string(ra[:1+i%len(ra)]))
	}
	return qs
}

func propConfig() Config {
	cfg := DefaultConfig()
	cfg.MaxPrefixLen = 5
	cfg.MaxLimit = 4
	cfg.DefaultLimit = 4
	cfg.Depth = 6
	cfg.MaxExamined = 9 // spent mid-step by two-driver and typo queries
	cfg.CacheBytes = 0
	return cfg
}

// TestIncrementalEqualsRebuild applies random change events to a loaded
// index and checks that it answers every query exactly like an index
// built from scratch from the final products.
func TestIncrementalEqualsRebuild(t *testing.T) {
	for seed := range uint64(6) {
		// Odd seeds index the category words too (Config.CategoryWords).
		t.Run(fmt.Sprint(seed), func(t *testing.T) { testIncremental(t, seed, seed%2 == 1) })
	}
}

func testIncremental(t *testing.T, seed uint64, cats bool) {
	rng := rand.New(rand.NewPCG(seed, 42))
	cfg := propConfig()
	cfg.CategoryWords = cats
	model := map[string]*api.Product{}
	var initial []*api.Product
	for i := range 150 {
		p := propProduct(rng, fmt.Sprint("p", i))
		model[p.ID] = p
		initial = append(initial, p)
	}
	s := newLoaded(t, cfg, initial)
	// Odd seeds compact the text arena whenever a third of it is
	// garbage, and merge postings at every change.
	if seed%2 == 1 {
		s.idx.Load().compactMin = 1
		s.idx.Load().deltaMin = -1 << 20
	}
	seq := uint64(1)
	nextID := 150
	pick := func() *api.Product {
		keys := make([]string, 0, len(model))
		for k := range model {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if len(keys) == 0 {
			return nil
		}
		return model[keys[rng.IntN(len(keys))]]
	}
	var deleted []string
	for step := range 600 {
		if step%40 == 0 {
			// Answers in between fill the typo cache, which the events
			// that follow must invalidate.
			for _, q := range propQueries() {
				mustSuggest(t, s, q, 4)
			}
		}
		seq++
		switch op := rng.IntN(10); {
		case op < 2: // new product, or a deleted one back
			id := fmt.Sprint("p", nextID)
			if len(deleted) > 0 && rng.IntN(2) == 0 {
				id, deleted = deleted[len(deleted)-1], deleted[:len(deleted)-1]
			} else {
				nextID++
			}
			p := propProduct(rng, id)
			model[id] = p
			s.Apply(&api.Event{Seq: seq, Type: api.EventUpsert, Product: p})
		case op < 4: // rename
			if old := pick(); old != nil {
				p := propProduct(rng, old.ID)
				p.Popularity = old.Popularity
				model[p.ID] = p
				s.Apply(&api.Event{Seq: seq, Type: api.EventUpsert, Product: p})
			}
		case op < 6: // popularity change
			if old := pick(); old != nil {
				p := *old
				p.Popularity = int64(rng.IntN(20))
				model[p.ID] = &p
				s.Apply(&api.Event{Seq: seq, Type: api.EventUpsert, Product: &p})
			}
		case op < 8: // band change
			if old := pick(); old != nil {
				p := *old
				p.SKUs = []api.SKU{{SKU: p.ID, Price: old.SKUs[0].Price, Availability: []string{api.InStock, api.LowStock, api.OutOfStock}[rng.IntN(3)]}}
				model[p.ID] = &p
				s.Apply(&api.Event{Seq: seq, Type: api.EventUpsert, Product: &p})
			}
		case op < 9:
			if old := pick(); old != nil {
				delete(model, old.ID)
				deleted = append(deleted, old.ID)
				s.Apply(&api.Event{Seq: seq, Type: api.EventDelete, ID: old.ID})
			}
		default: // a stale event must change nothing
			if old := pick(); old != nil {
				p := propProduct(rng, old.ID)
				s.Apply(&api.Event{Seq: 1, Type: api.EventUpsert, Product: p})
			}
		}
	}
	if n := s.idx.Load().tx.compactions; seed%2 == 1 && n == 0 {
		t.Fatal("the text arena was never compacted")
	}
	var final []*api.Product
	for _, p := range model {
		final = append(final, p)
	}
	rebuilt := newLoaded(t, cfg, final)
	checkInvariants(t, s.idx.Load())
	checkInvariants(t, rebuilt.idx.Load())
	if got, want := s.Stats().Products, len(model); got != want {
		t.Fatalf("%d products, want %d", got, want)
	}
	for _, q := range propQueries() {
		for _, limit := range []int{1, 4} {
			got, want := mustSuggest(t, s, q, limit), mustSuggest(t, rebuilt, q, limit)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("query %q limit %d:\nincremental %v %v\nrebuilt     %v %v", q, limit, ids(got), got.Categories, ids(want), want.Categories)
			}
		}
	}
}

// checkInvariants recomputes every prefix's count and list, and every
// term's prefixes, by brute force.
func checkInvariants(t *testing.T, x *index) {
	t.Helper()
	live := 0
	for o := range x.recs {
		r := &x.recs[o]
		if !r.live() {
			continue
		}
		live++
		if x.meta[o] != x.metaOf(x.terms(uint32(o), nil)) {
			t.Fatalf("product %s: stale signatures", x.tx.id(r))
		}
		id := x.tx.id(r)
		if got, _, ok := x.findID(id); !ok || got != uint32(o) {
			t.Fatalf("product %s: id table gives %d %v, want %d", id, got, ok, o)
		}
	}
	if live != x.live || live != x.ids.n {
		t.Fatalf("%d live records, index counts %d, id table %d", live, x.live, x.ids.n)
	}
	posts := make([][]uint32, len(x.termHash))
	for o := range x.recs {
		if x.recs[o].live() {
			for _, tm := range x.terms(uint32(o), nil) {
				posts[tm] = append(posts[tm], uint32(o))
			}
		}
	}
	for tm := range posts {
		if got := x.decodePostings(uint32(tm), nil); !slices.Equal(got, posts[tm]) || int(x.termCount[tm]) != len(got) {
			t.Fatalf("term %q: postings %v (count %d), want %v", x.termStr(uint32(tm)), got, x.termCount[tm], posts[tm])
		}
	}
	for _, w := range x.seen {
		if w != 0 {
			t.Fatal("refill left marks behind")
		}
	}
	for p := range x.pfxHash {
		pfx := x.pfxStr(uint32(p))
		for tm := range x.termHash {
			want := strings.HasPrefix(x.termStr(uint32(tm)), pfx)
			if got := x.hasPrefix(uint32(tm), uint32(p), utf8.RuneCountInString(pfx)); got != want {
				t.Fatalf("hasPrefix(%q, %q) = %v", x.termStr(uint32(tm)), pfx, got)
			}
		}
		var all []uint32
		for o := range x.recs {
			if !x.recs[o].live() {
				continue
			}
			for _, tm := range x.terms(uint32(o), nil) {
				if strings.HasPrefix(x.termStr(tm), pfx) {
					all = append(all, uint32(o))
					break
				}
			}
		}
		if int(x.pfxCount[p]) != len(all) {
			t.Fatalf("prefix %q: count %d, want %d", pfx, x.pfxCount[p], len(all))
		}
		slices.SortFunc(all, func(a, b uint32) int {
			if x.better(a, b) {
				return -1
			}
			return 1
		})
		var got []uint32
		for _, e := range x.pfxList[p] {
			got = append(got, e.o)
			if e != x.entryOf(e.o) {
				t.Fatalf("prefix %q: entry %+v, want %+v", pfx, e, x.entryOf(e.o))
			}
		}
		if want := all[:min(len(all), x.depth)]; !slices.Equal(got, want) {
			t.Fatalf("prefix %q: list %v, want %v", pfx, got, want)
		}
	}
}
