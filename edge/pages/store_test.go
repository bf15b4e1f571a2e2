package pages

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"

	"shopedge/core/api"
)

// testPages is a Cache with its Loader, wired as an edge wires them.
type testPages struct {
	*Cache
	*Loader
}

func newTestPages(cfg Config, ms *metrics.Set) (*testPages, error) {
	c, err := New(cfg, zerolog.Nop(), ms)
	if err != nil {
		return nil, err
	}
	return &testPages{c, NewLoader(c)}, nil
}

func mustNewStore(tb testing.TB) *testPages {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.CacheBytes = 32 << 20
	cfg.Workers = 2
	cfg.Prerender = false // tests of the lazy path; prerender_test.go turns it on
	s, err := newTestPages(cfg, metrics.NewSet())
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// loadAll runs one snapshot load of ps consistent with seq.
func loadAll(s *testPages, seq uint64, ps ...*api.Product) {
	s.BeginLoad()
	for _, p := range ps {
		s.Load(p)
	}
	s.EndLoad(seq)
}

func product(id, name string, seq int) *api.Product {
	return &api.Product{ID: id, Slug: "slug-" + id, Name: fmt.Sprintf("%s v%d", name, seq), Brand: "Acme",
		Categories: []string{"Phones", "Smart " + name},
		SKUs:       []api.SKU{{SKU: id, Price: &api.Money{Amount: int64(100 * seq), Currency: "USD"}, Availability: api.InStock}}}
}

// body returns the stored plain JSON of id, or "" on a miss.
func body(tb testing.TB, s *testPages, id string) string {
	tb.Helper()
	e, _, ok := s.get(nil, JSON, []byte(id))
	if !ok {
		return ""
	}
	return string(e.Body)
}

func TestStoreLoadAndGet(t *testing.T) {
	s := mustNewStore(t)
	ps := testProducts(t)
	loadAll(s, 10, ps...)
	if s.Len() != len(ps) || s.Seq() != 10 {
		t.Fatalf("len %d seq %d", s.Len(), s.Seq())
	}
	for _, p := range ps {
		// A load stores JSON only; the rest is rendered on demand.
		if _, _, ok := s.get(nil, HTML, []byte(p.ID)); ok {
			t.Fatalf("%s: HTML stored by a load", p.ID)
		}
		if _, _, ok := s.get(nil, JSON, []byte(p.ID)); !ok {
			t.Fatalf("%s: JSON not stored by a load", p.ID)
		}
		r, _ := Render(p, 5)
		filled, ok := s.fillAll(p.ID)
		if !ok || !bytes.Equal(filled.Bodies[HTML], r.Bodies[HTML]) {
			t.Fatalf("%s: Fill did not render the stored product", p.ID)
		}
		for v := Variant(0); v < numVariants; v++ {
			buf := make([]byte, 3, 64)
			e, buf, ok := s.get(buf, v, []byte(p.ID))
			if !ok {
				t.Fatalf("%s variant %d: miss", p.ID, v)
			}
			if len(buf) != 3 || !bytes.Equal(e.Body, r.Bodies[v]) || !bytes.Equal(e.ETag, r.ETags[v]) || !bytes.Equal(e.SurrogateKey, r.SurrogateKey) {
				t.Fatalf("%s variant %d: stored entry differs from rendering", p.ID, v)
			}
		}
		if id, ok := s.idBySlug([]byte(p.Slug)); !ok || string(id) != p.ID {
			t.Fatalf("slug %s → %q %v", p.Slug, id, ok)
		}
	}
	if _, _, ok := s.get(nil, JSON, []byte("nope")); ok {
		t.Fatal("hit for an unknown id")
	}
}

func TestStoreSeqOrdering(t *testing.T) {
	s := mustNewStore(t)
	loadAll(s, 5, product("1", "Phone", 5))
	s.Apply(&api.Event{Seq: 7, Type: api.EventUpsert, Product: product("1", "Phone", 7)})
	if !strings.Contains(body(t, s, "1"), "Phone v7") {
		t.Fatalf("upsert not applied: %s", body(t, s, "1"))
	}
	// An older event, replayed, never moves the product backwards.
	s.Apply(&api.Event{Seq: 6, Type: api.EventUpsert, Product: product("1", "Phone", 6)})
	s.Apply(&api.Event{Seq: 7, Type: api.EventUpsert, Product: product("1", "Phone", 6)})
	if !strings.Contains(body(t, s, "1"), "Phone v7") {
		t.Fatalf("stale upsert applied: %s", body(t, s, "1"))
	}
	// A fetch that started before seq 7 was applied must not overwrite it.
	if _, err := s.putAll(product("1", "Phone", 3), 6); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body(t, s, "1"), "Phone v7") {
		t.Fatalf("stale fetch stored: %s", body(t, s, "1"))
	}
	// Delete, then an older upsert: stays deleted. A newer one revives it.
	s.Apply(&api.Event{Seq: 9, Type: api.EventDelete, ID: "1"})
	if body(t, s, "1") != "" || s.Len() != 0 {
		t.Fatal("delete not applied")
	}
	if _, ok := s.idBySlug([]byte("slug-1")); ok {
		t.Fatal("slug survives delete")
	}
	s.Apply(&api.Event{Seq: 8, Type: api.EventUpsert, Product: product("1", "Phone", 8)})
	if body(t, s, "1") != "" {
		t.Fatal("an upsert older than the delete revived the product")
	}
	s.Apply(&api.Event{Seq: 11, Type: api.EventUpsert, Product: product("1", "Phone", 11)})
	if !strings.Contains(body(t, s, "1"), "Phone v11") || s.Seq() != 11 {
		t.Fatalf("newer upsert not applied: %q seq %d", body(t, s, "1"), s.Seq())
	}
	// A fetch after everything applied is stored.
	s.Purge([]string{"1"})
	if _, err := s.putAll(product("1", "Phone", 12), s.Seq()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body(t, s, "1"), "Phone v12") {
		t.Fatal("fresh fetch not stored")
	}
}

func TestStorePurge(t *testing.T) {
	s := mustNewStore(t)
	a, b, c := product("a", "Phone", 1), product("b", "Tablet", 1), product("c", "Phone", 1)
	c.Brand = "Other"
	loadAll(s, 1, a, b, c)
	if n := s.Purge([]string{"a"}); n != 1 || body(t, s, "a") != "" || body(t, s, "b") == "" {
		t.Fatalf("purge by id: n=%d", n)
	}
	loadAll(s, 2, a, b, c)
	if n := s.Purge([]string{"product-b"}); n != 1 || body(t, s, "b") != "" || body(t, s, "a") == "" {
		t.Fatalf("purge by product key: n=%d", n)
	}
	loadAll(s, 3, a, b, c)
	if n := s.Purge([]string{"brand-acme"}); n != 2 || body(t, s, "a") != "" || body(t, s, "b") != "" || body(t, s, "c") == "" {
		t.Fatalf("purge by brand: n=%d", n)
	}
	loadAll(s, 4, a, b, c)
	if n := s.Purge([]string{"category-smart-phone"}); n != 2 || body(t, s, "b") == "" {
		t.Fatalf("purge by category: n=%d", n)
	}
	// A product that moved out of a category is no longer purged by it.
	b2 := product("b", "Phone", 5)
	s.Apply(&api.Event{Seq: 5, Type: api.EventUpsert, Product: b2})
	a3 := product("a", "Watch", 6)
	s.Apply(&api.Event{Seq: 6, Type: api.EventUpsert, Product: a3})
	loadAll(s, 6, a3, b2, c)
	if n := s.Purge([]string{"category-smart-phone"}); n != 2 || body(t, s, "a") == "" {
		t.Fatalf("purge after category move: n=%d", n)
	}
	if n := s.Purge([]string{"category-none", "zzz"}); n != 0 {
		t.Fatalf("purge of unknown keys: n=%d", n)
	}
	loadAll(s, 7, a3, b2, c)
	s.Apply(&api.Event{Seq: 8, Type: api.EventPurgeAll})
	for _, id := range []string{"a", "b", "c"} {
		if body(t, s, id) != "" {
			t.Fatalf("%s survives purge_all", id)
		}
	}
	if s.Len() != 3 {
		t.Fatal("purge_all must keep products known")
	}
}

func TestStoreLoadDropsAbsent(t *testing.T) {
	s := mustNewStore(t)
	loadAll(s, 1, product("a", "Phone", 1), product("b", "Phone", 1))
	s.BeginLoad()
	s.Load(product("a", "Phone", 2))
	// The old state is served while the load runs.
	if body(t, s, "b") == "" {
		t.Fatal("b dropped before EndLoad")
	}
	s.EndLoad(20)
	if body(t, s, "b") != "" || s.Len() != 1 {
		t.Fatal("b survives a snapshot without it")
	}
	if _, ok := s.idBySlug([]byte("slug-b")); ok {
		t.Fatal("slug of b survives")
	}
	// Loaded products carry the snapshot seq.
	s.Apply(&api.Event{Seq: 19, Type: api.EventUpsert, Product: product("a", "Phone", 19)})
	if !strings.Contains(body(t, s, "a"), "Phone v2") {
		t.Fatal("an event older than the snapshot was applied")
	}
	// An abandoned load (BeginLoad twice) drops nothing.
	s.BeginLoad()
	s.BeginLoad()
	s.Load(product("a", "Phone", 3))
	s.EndLoad(21)
	if !strings.Contains(body(t, s, "a"), "Phone v3") {
		t.Fatal("reload not applied")
	}
}

func TestStoreBigEntries(t *testing.T) {
	s := mustNewStore(t)
	p := product("big", "Phone", 1)
	p.Description = strings.Repeat("A long description. ", 10000) // ~200 KB
	loadAll(s, 1, p)
	r, _ := Render(p, 5)
	s.fillAll("big")
	e, _, ok := s.get(nil, HTML, []byte("big"))
	if !ok || !bytes.Equal(e.Body, r.Bodies[HTML]) {
		t.Fatal("big HTML entry not stored")
	}
	if e, _, ok := s.get(nil, HTMLGzip, []byte("big")); !ok || !bytes.Equal(e.Body, r.Bodies[HTMLGzip]) {
		t.Fatal("gzip entry not stored")
	}
	// Shrinking it moves the entry back to the small layout.
	small := product("big", "Phone", 2)
	s.Apply(&api.Event{Seq: 2, Type: api.EventUpsert, Product: small})
	r2, _ := Render(small, 5)
	if e, _, ok := s.get(nil, HTML, []byte("big")); !ok || !bytes.Equal(e.Body, r2.Bodies[HTML]) {
		t.Fatal("shrunk entry not served")
	}
	s.Apply(&api.Event{Seq: 3, Type: api.EventDelete, ID: "big"})
	if _, _, ok := s.get(nil, HTML, []byte("big")); ok {
		t.Fatal("deleted entry served")
	}
}

func TestFillNeverOverwritesNewerState(t *testing.T) {
	s := mustNewStore(t)
	loadAll(s, 1, product("a", "Phone", 1))
	if _, ok := s.fillAll("zzz"); ok {
		t.Fatal("Fill of an unknown id")
	}
	// An upsert lands between Fill's read of the JSON and its write.
	s.mu.RLock()
	i, _ := s.x.lookup([]byte("a"))
	ver := s.x.slots[i].ver
	s.mu.RUnlock()
	s.Apply(&api.Event{Seq: 2, Type: api.EventUpsert, Product: product("a", "Phone", 2)})
	s.mu.RLock()
	changed := s.x.slots[i].ver != ver
	s.mu.RUnlock()
	if !changed {
		t.Fatal("an upsert must bump the slot version")
	}
	r, ok := s.fillAll("a")
	if !ok || !strings.Contains(string(r.Bodies[HTML]), "Phone v2") {
		t.Fatal("Fill must render the current state")
	}
	s.Purge([]string{"a"})
	if _, ok := s.fillAll("a"); ok {
		t.Fatal("Fill after purge must leave the fetch to the core")
	}
}

func TestConfigValidate(t *testing.T) {
	f := func(mut func(*Config), field string) {
		t.Helper()
		c := DefaultConfig()
		mut(&c)
		if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Fatalf("want error naming %s, got %v", field, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	f(func(c *Config) { c.CacheBytes = 1 }, "cache_bytes")
	f(func(c *Config) { c.Workers = -1 }, "workers")
	f(func(c *Config) { c.GzipLevel = 0 }, "gzip_level")
	f(func(c *Config) { c.HotEntries = -1 }, "hot_entries")
	f(func(c *Config) { c.HotEntries = 1<<20 + 1 }, "hot_entries")
	f(func(c *Config) { c.HotMaxBytes = -1 }, "hot_max_bytes")
	f(func(c *Config) { c.HotBytes = -1 }, "hot_bytes")
	f(func(c *Config) { c.HotBytes = 64<<30 + 1 }, "hot_bytes")
}

func TestIndexSlugChangesAndReuse(t *testing.T) {
	s := mustNewStore(t)
	loadAll(s, 1, product("a", "Phone", 1), product("b", "Phone", 1))
	moved := product("a", "Phone", 2)
	moved.Slug = "a-much-longer-new-slug-a"
	s.Apply(&api.Event{Seq: 2, Type: api.EventUpsert, Product: moved})
	if _, ok := s.idBySlug([]byte("slug-a")); ok {
		t.Fatal("old slug still resolves")
	}
	if id, ok := s.idBySlug([]byte(moved.Slug)); !ok || string(id) != "a" {
		t.Fatalf("new slug → %q %v", id, ok)
	}
	s.Apply(&api.Event{Seq: 3, Type: api.EventDelete, ID: "b"})
	c := product("c", "Phone", 4)
	loadAll(s, 4, moved, c) // drops b's tombstone, reuses its slot, compacts names
	for slug, want := range map[string]string{moved.Slug: "a", "slug-c": "c"} {
		if id, ok := s.idBySlug([]byte(slug)); !ok || string(id) != want {
			t.Fatalf("after compaction %s → %q %v", slug, id, ok)
		}
	}
	if _, ok := s.idBySlug([]byte("slug-b")); ok || s.Len() != 2 {
		t.Fatalf("b survives: len %d", s.Len())
	}
	if n := s.Purge([]string{"brand-acme"}); n != 2 {
		t.Fatalf("purge by brand after reuse: %d", n)
	}
	// A product that leaves a category and comes back is purged once.
	s.Apply(&api.Event{Seq: 5, Type: api.EventUpsert, Product: product("c", "Watch", 5)})
	s.Apply(&api.Event{Seq: 6, Type: api.EventUpsert, Product: product("c", "Phone", 6)})
	if n := s.Purge([]string{"category-smart-phone"}); n != 2 {
		t.Fatalf("purge after a round trip between categories: %d, want a and c once each", n)
	}
}

// TestFillForAndPutForStoreWhatWasAsked: a miss renders and stores the
// JSON and the representation asked for; the others are rendered when a
// request asks for them, and a new state drops the old ones.
func TestFillForAndPutForStoreWhatWasAsked(t *testing.T) {
	s := mustNewStore(t)
	loadAll(s, 1, product("a", "Phone", 1)) // a snapshot load stores the JSON only
	has := func(v Variant) bool {
		t.Helper()
		_, _, ok := s.get(nil, v, []byte("a"))
		return ok
	}
	want := func(vs ...Variant) {
		t.Helper()
		var m uint8
		for _, v := range vs {
			m |= 1 << v
		}
		for v := Variant(0); v < numVariants; v++ {
			if got := has(v); got != (m&(1<<v) != 0) {
				t.Fatalf("variant %d stored: %v, want %v", v, got, !got)
			}
		}
	}
	want(JSON)
	r, ok := s.FillFor("a", HTMLGzip)
	if !ok {
		t.Fatal("FillFor(HTMLGzip) found no stored JSON")
	}
	if r.Bodies[HTMLGzip] == nil || r.Bodies[JSONGzip] != nil {
		t.Fatalf("FillFor(HTMLGzip) rendered HTMLGzip %v, JSONGzip %v", r.Bodies[HTMLGzip] != nil, r.Bodies[JSONGzip] != nil)
	}
	want(JSON, HTML, HTMLGzip)
	if _, ok := s.FillFor("a", JSONGzip); !ok {
		t.Fatal("FillFor(JSONGzip)")
	}
	want(JSON, JSONGzip, HTML, HTMLGzip)
	// What was stored is what Render makes.
	all, _ := Render(product("a", "Phone", 1), s.Loader.cfg.GzipLevel)
	for v := Variant(0); v < numVariants; v++ {
		e, _, _ := s.get(nil, v, []byte("a"))
		if !bytes.Equal(e.Body, all.Bodies[v]) || !bytes.Equal(e.ETag, all.ETags[v]) {
			t.Fatalf("variant %d differs from Render's", v)
		}
	}
	// A fetched new state, for a JSON request, replaces every old one.
	if _, err := s.PutFor(product("a", "Phone", 2), s.Seq(), JSON); err != nil {
		t.Fatal(err)
	}
	want(JSON)
	if !strings.Contains(body(t, s, "a"), "Phone v2") {
		t.Fatalf("new state not stored: %s", body(t, s, "a"))
	}
	if _, err := s.PutFor(product("a", "Phone", 3), s.Seq(), HTML); err != nil {
		t.Fatal(err)
	}
	want(JSON, HTML)
	if e, _, _ := s.get(nil, HTML, []byte("a")); !strings.Contains(string(e.Body), "Phone v3") {
		t.Fatalf("HTML of the new state: %s", e.Body)
	}
}
