package suggest

import (
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"shopedge/core/api"
	"shopedge/edge/suggest/demodata"
)

// TestLoadEqualsBuild: an index loaded through the load pipeline (batches,
// chunked blobs, words found while loading, over several token chunks) is
// the index build makes of the same records stored one by one, field for
// field, repeated ids included.
func TestLoadEqualsBuild(t *testing.T) {
	n := loadTokenChunk + 4000
	if testing.Short() {
		n = 3000
	}
	var ps []*api.Product
	if err := demodata.Generate(n, 7, demoProducts(t), func(p *api.Product) error { ps = append(ps, p); return nil }); err != nil {
		t.Fatal(err)
	}
	// A product loaded again, renamed, after many batches; and one with a
	// blob longer than a chunk.
	again := *ps[5]
	again.Name = "Quokka " + again.Name
	big := *ps[6]
	big.ID, big.Slug = "big", "big"
	big.Image = "https://img.example/" + strings.Repeat("d", 3<<chunkBits/2) + "/big.jpg"
	ps = append(ps, &again, &big, ps[7])
	cfg := testConfig()
	s := newLoaded(t, cfg, ps)

	tx := newTexts()
	recs := make([]record, len(ps))
	for i, p := range ps {
		pr := productOf(&cfg, p)
		recs[i] = tx.record(&pr, 1, nil, false)
	}
	want, got := build(&cfg, recs, tx, nil), s.idx.Load()
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"recs", got.recs, want.recs}, {"blobs", got.tx.blobs, want.tx.blobs}, {"strs", got.tx.strs, want.tx.strs},
		{"cats", got.tx.cats, want.tx.cats}, {"meta", got.meta, want.meta}, {"termArena", got.termArena, want.termArena},
		{"termOff", got.termOff, want.termOff}, {"termPost", got.termPost, want.termPost}, {"termCount", got.termCount, want.termCount},
		{"termPfx", got.termPfx, want.termPfx}, {"pfxTerm", got.pfxTerm, want.pfxTerm}, {"pfxLen", got.pfxLen, want.pfxLen},
		{"pfxList", got.pfxList, want.pfxList}, {"pfxCount", got.pfxCount, want.pfxCount}, {"pfxTerms", got.pfxTerms, want.pfxTerms},
		{"pfxKids", got.pfxKids, want.pfxKids}, {"live", got.live, want.live},
	} {
		if !reflect.DeepEqual(f.got, f.want) {
			t.Fatalf("loaded index differs from the built one in %s", f.name)
		}
	}
	if got.tx.chunks != nil {
		t.Fatal("the loaded index still holds its load chunks")
	}
	if got.live != n+1 || got.ids.n != n+1 {
		t.Fatalf("%d products, %d in the id table, want %d", got.live, got.ids.n, n+1)
	}
	for o := range got.recs {
		id := got.tx.id(&got.recs[o])
		if f, _, ok := got.findID(id); !ok || f != uint32(o) {
			t.Fatalf("product %s: id table gives %d %v, want %d", id, f, ok, o)
		}
	}
	// A smaller catalog next: the load's id table, sized from the last
	// load, is sized down.
	s.BeginLoad()
	for _, p := range ps[:500] {
		s.Load(p)
	}
	s.EndLoad(2)
	small := s.idx.Load()
	if len(small.ids.s) != len(newIDTable(500).s) || small.ids.n != 500 {
		t.Fatalf("id table of %d slots for %d ids, want %d", len(small.ids.s), small.ids.n, len(newIDTable(500).s))
	}
	for _, p := range ps[:500] {
		if _, _, ok := small.findID(p.ID); !ok {
			t.Fatalf("product %s not found after the second load", p.ID)
		}
	}
	for id, wantName := range map[string]string{ps[5].ID: again.Name, "big": big.Name} {
		o, _, ok := got.findID(id)
		if !ok {
			t.Fatalf("product %s not indexed", id)
		}
		r := &got.recs[o]
		b := got.tx.blob(r)
		if b.text[fName] != wantName {
			t.Fatalf("product %s named %q, want %q", id, b.text[fName], wantName)
		}
		if id == "big" && string(got.tx.appendImage(nil, r, &b)) != big.Image {
			t.Fatal("the long image URL did not survive the load")
		}
	}
}

// TestBeginLoadAbandons: a BeginLoad during a load drops what was loaded
// so far, and the abandoned load's goroutine ends.
func TestBeginLoadAbandons(t *testing.T) {
	mk := func(id, name string) *api.Product {
		return &api.Product{ID: id, Slug: id, Name: name, SKUs: []api.SKU{{SKU: id}}}
	}
	s := newLoaded(t, testConfig(), []*api.Product{mk("old", "Wombat Chair")})
	before := runtime.NumGoroutine()
	s.BeginLoad()
	for i := range 5 * batchProducts {
		s.Load(mk(fmt.Sprint("a", i), "Quokka Lamp"))
	}
	s.BeginLoad()
	for i := range 3 {
		s.Load(mk(fmt.Sprint("b", i), "Quokka Desk"))
	}
	if got := fmt.Sprint(ids(mustSuggest(t, s, "wombat", 10))); got != "[old]" {
		t.Fatalf("during the load: %s, want the old index's [old]", got)
	}
	s.EndLoad(2)
	if got := fmt.Sprint(ids(mustSuggest(t, s, "quokka", 10))); got != "[b0 b1 b2]" {
		t.Fatalf("after the second load: %s, want [b0 b1 b2]", got)
	}
	if n := s.Stats().Products; n != 3 {
		t.Fatalf("%d products, want 3", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after the loads, %d before", n, before)
	}
	s.Load(mk("late", "Quokka Late")) // outside a load: ignored
	if got := fmt.Sprint(ids(mustSuggest(t, s, "quokka", 10))); got != "[b0 b1 b2]" {
		t.Fatalf("after a Load outside a load: %s", got)
	}
}

// TestFillPostingsWorkers: postings and counts come out the same however
// many workers split the products between them.
func TestFillPostingsWorkers(t *testing.T) {
	s := newLoaded(t, testConfig(), demoProducts(t))
	x := s.idx.Load()
	rt := &rankedTerms{end: make([]uint32, len(x.recs))}
	for i := range x.recs {
		rt.flat = x.terms(uint32(i), rt.flat)
		rt.end[i] = uint32(len(rt.flat))
	}
	wantPost, wantTerm, wantPfx := slices.Clone(x.termPost), slices.Clone(x.termCount), slices.Clone(x.pfxCount)
	for _, workers := range []int{1, 2, 3, 7} {
		clear(x.termCount)
		clear(x.pfxCount)
		x.fillPostings(rt, workers)
		for p, terms := range x.pfxTerms {
			if len(terms) == 1 {
				x.pfxCount[p] = x.termCount[terms[0]]
			}
		}
		if !reflect.DeepEqual(x.termPost, wantPost) || !slices.Equal(x.termCount, wantTerm) || !slices.Equal(x.pfxCount, wantPfx) {
			t.Fatalf("%d workers: postings or counts differ from the build's", workers)
		}
	}
}
