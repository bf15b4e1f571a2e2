package pages

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
)

// TestLoadLineMatchesRender loads the test products by their lines: what
// is stored is what rendering the decoded product yields.
func TestLoadLineMatchesRender(t *testing.T) {
	s := mustNewStore(t)
	ps := testProducts(t)
	long := product(strings.Repeat("9", 1000), "Phone", 1) // surrogate header cut for this id
	for i := 0; i < 200; i++ {
		long.Categories = append(long.Categories, "A rather long category name number "+strings.Repeat("x", i%7))
	}
	big := product("big", "Phone", 1)
	big.Description = strings.Repeat("A long description. ", 5000) // ~100 KB: a big entry
	ps = append(ps, long, big)
	s.BeginLoad()
	for _, p := range ps {
		line, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var q api.Product // the decoded line, as the follower passes it
		if err := json.Unmarshal(line, &q); err != nil {
			t.Fatal(err)
		}
		s.LoadLine(&q, line)
		line[0] = 'X' // not retained
		q.Brand = "Changed"
	}
	s.EndLoad(7)
	for _, p := range ps {
		r, err := RenderJSON(p)
		if err != nil {
			t.Fatal(err)
		}
		e, _, ok := s.get(nil, JSON, []byte(p.ID))
		if !ok {
			t.Fatalf("%.20s: not stored", p.ID)
		}
		if !bytes.Equal(e.Body, r.Bodies[JSON]) || !bytes.Equal(e.ETag, r.ETags[JSON]) || !bytes.Equal(e.SurrogateKey, r.SurrogateKey) {
			t.Fatalf("%.20s: stored entry differs from RenderJSON:\n%s\n%s", p.ID, e.SurrogateKey, r.SurrogateKey)
		}
		if id, ok := s.idBySlug([]byte(p.Slug)); !ok || string(id) != p.ID {
			t.Fatalf("%.20s: slug lookup", p.ID)
		}
	}
	if n := s.Purge([]string{"category-smart-phone"}); n != 2 { // long and big
		t.Fatalf("purge by category: %d products", n)
	}
}

// TestReloadKeepsUnchangedRenderings reloads a snapshot in which one
// product changed: the others keep their HTML, the changed one loses it.
func TestReloadKeepsUnchangedRenderings(t *testing.T) {
	s := mustNewStore(t)
	a, b := product("a", "Phone", 1), product("b", "Phone", 1)
	loadAll(s, 1, a, b)
	s.fillAll("a")
	s.fillAll("b")
	b2 := product("b", "Phone", 2)
	loadAll(s, 2, a, b2)
	if e, _, ok := s.get(nil, HTML, []byte("a")); !ok || !strings.Contains(string(e.Body), "Phone v1") {
		t.Fatal("an unchanged product lost its HTML in a reload")
	}
	if _, _, ok := s.get(nil, HTML, []byte("b")); ok {
		t.Fatal("a changed product kept its old HTML")
	}
	if !strings.Contains(body(t, s, "b"), "Phone v2") {
		t.Fatal("the changed JSON is not stored")
	}
	// The unchanged product still counts as loaded: a third load without
	// it drops it.
	loadAll(s, 3, b2)
	if body(t, s, "a") != "" || s.Len() != 1 {
		t.Fatal("a product absent from the last snapshot survives")
	}
}

func TestTailCacheMatchesSurrogateTail(t *testing.T) {
	var c tailCache
	ps := append(testProducts(t), product("x", "Phone", 1), &api.Product{ID: "y"}, &api.Product{ID: "z", Brand: "Only Brand"})
	for round := 0; round < 2; round++ { // misses, then hits
		for _, p := range ps {
			if got, want := c.tail(p), surrogateTail(p); got != want {
				t.Fatalf("%s: tail %q, want %q", p.ID, got, want)
			}
		}
	}
	// Brand and categories are length-prefixed: no two splits collide.
	p1 := &api.Product{ID: "1", Brand: "ab", Categories: []string{"c"}}
	p2 := &api.Product{ID: "2", Brand: "a", Categories: []string{"bc"}}
	if c.tail(p1) == c.tail(p2) {
		t.Fatal("different brand/category splits share a tail")
	}
	// Were two products' names to share a hash, the second still gets
	// its own tail.
	p3 := &api.Product{ID: "3", Brand: "Other", Categories: []string{"Watches"}}
	p4 := &api.Product{ID: "4", Brand: "ab", Categories: []string{"c", ""}}
	for _, p := range []*api.Product{p2, p3, p4} {
		c.m[c.hash(p)] = c.ref(p1)
		if got, want := c.tail(p), surrogateTail(p); got != want {
			t.Fatalf("%s: names colliding with another product's: tail %q, want %q", p.ID, got, want)
		}
	}
}

// TestLoadStopsStoringAtBudget loads more than the budget allows, most
// popular first as the core sends them: the first products get their JSON
// stored, the rest are known without bytes, so a request fetches them.
func TestLoadStopsStoringAtBudget(t *testing.T) {
	// The fill is measured per 128-product batch as it is handed out,
	// while a few batches are still being stored, so the load stops
	// within a few batches past 0.3.
	s, ms := mustNewPrerenderStore(t, 1, 0.9)
	s.Loader.cfg.LoadMaxFill = 0.3
	var ps []*api.Product
	for i := 0; i < 1000; i++ {
		p := product(fmt.Sprintf("p%04d", i), "Phone", 1)
		p.Popularity = int64(1000 - i)
		ps = append(ps, p)
	}
	loadAll(s, 1, ps...)
	s.waitPrerender()
	stored, html := 0, 0
	for i, p := range ps {
		_, _, ok := s.get(nil, JSON, []byte(p.ID))
		if ok && stored != i {
			t.Fatalf("%s stored after an unstored more popular product", p.ID)
		}
		if ok {
			stored++
		}
		if _, _, ok := s.get(nil, HTML, []byte(p.ID)); ok {
			if html != i {
				t.Fatalf("%s prerendered out of popularity order", p.ID)
			}
			html++
		}
		if !s.Known([]byte(p.ID)) {
			t.Fatalf("%s not indexed", p.ID)
		}
		if id, ok := s.idBySlug([]byte(p.Slug)); !ok || string(id) != p.ID {
			t.Fatalf("%s: slug not indexed", p.ID)
		}
	}
	if stored == 0 || stored == len(ps) || html == 0 || html > stored {
		t.Fatalf("stored %d, prerendered %d of %d", stored, html, len(ps))
	}
	if _, ok := s.fillAll(ps[len(ps)-1].ID); ok {
		t.Fatal("Fill of a product stored without bytes must leave it to the core")
	}
	var b bytes.Buffer
	ms.WritePrometheus(&b)
	if !strings.Contains(b.String(), fmt.Sprintf("shopedge_edge_pages_loaded_index_only_total %d\n", len(ps)-stored)) {
		t.Fatalf("index-only counter wrong (stored %d):\n%s", stored, b.String())
	}
	// A product fetched on demand is stored (the budget bounds loads only).
	last := ps[len(ps)-1]
	if _, err := s.putAll(last, s.Seq()); err != nil {
		t.Fatal(err)
	}
	if body(t, s, last.ID) == "" {
		t.Fatal("an on-demand fetch was not stored")
	}
}

// TestLoadDuplicateLastWins loads a snapshot naming products more than
// once, across many batches: each is stored as its last line says, with
// its slug and surrogate keys, and counted once.
func TestLoadDuplicateLastWins(t *testing.T) {
	s := mustNewStore(t)
	s.BeginLoad()
	const n = 300 // a few batches
	for round := 1; round <= 3; round++ {
		for i := 0; i < n; i++ {
			p := product(fmt.Sprintf("p%03d", i), "Phone", round)
			p.Slug = fmt.Sprintf("slug-%d-p%03d", round, i)
			if round == 3 {
				p.Brand = "Last"
			}
			line, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			s.LoadLine(p, line)
		}
	}
	s.EndLoad(1)
	if s.Len() != n {
		t.Fatalf("%d products, want %d", s.Len(), n)
	}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("p%03d", i)
		if b := body(t, s, id); !strings.Contains(b, "Phone v3") {
			t.Fatalf("%s: stored %.80s, want its last line", id, b)
		}
		if got, ok := s.idBySlug([]byte(fmt.Sprintf("slug-3-p%03d", i))); !ok || string(got) != id {
			t.Fatalf("%s: last slug → %q %v", id, got, ok)
		}
		if _, ok := s.idBySlug([]byte(fmt.Sprintf("slug-2-p%03d", i))); ok {
			t.Fatalf("%s: an earlier slug still resolves", id)
		}
	}
	if got := s.Purge([]string{"brand-acme"}); got != 0 {
		t.Fatalf("purge by an earlier line's brand: %d products", got)
	}
	if got := s.Purge([]string{"brand-last"}); got != n {
		t.Fatalf("purge by the last lines' brand: %d products, want %d", got, n)
	}
}
