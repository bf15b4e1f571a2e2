package pages

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/VictoriaMetrics/metrics"

	"shopedge/core/api"
)

// shared returns the hot-tier JSON of id after one Get has offered it.
func shared(tb testing.TB, s *testPages, id string) (string, bool) {
	tb.Helper()
	if e, ok := s.getShared(JSON, []byte(id)); ok {
		return string(e.Body), true
	}
	if _, _, ok := s.get(nil, JSON, []byte(id)); !ok {
		return "", false
	}
	e, ok := s.getShared(JSON, []byte(id))
	if !ok {
		tb.Fatalf("%s: Get did not fill an empty hot slot", id)
	}
	return string(e.Body), true
}

func TestHotTierServesLatestState(t *testing.T) {
	s := mustNewStore(t)
	loadAll(s, 1, product("1", "Phone", 1), product("2", "Tablet", 1))
	if got, ok := shared(t, s, "1"); !ok || !strings.Contains(got, "Phone v1") {
		t.Fatalf("first read: %q %v", got, ok)
	}
	// Every kind of change makes the hot entry go at once.
	s.Apply(&api.Event{Seq: 2, Type: api.EventUpsert, Product: product("1", "Phone", 2)})
	if e, ok := s.getShared(JSON, []byte("1")); ok {
		t.Fatalf("hot tier kept the old state after an upsert: %s", e.Body)
	}
	if got, _ := shared(t, s, "1"); !strings.Contains(got, "Phone v2") {
		t.Fatalf("after upsert: %q", got)
	}
	s.Purge([]string{"brand-acme"})
	if _, ok := s.getShared(JSON, []byte("1")); ok {
		t.Fatal("hot tier kept a purged page")
	}
	if got, ok := shared(t, s, "1"); ok {
		t.Fatalf("purged page still readable: %q", got)
	}
	s.Apply(&api.Event{Seq: 3, Type: api.EventUpsert, Product: product("2", "Tablet", 3)})
	if got, _ := shared(t, s, "2"); !strings.Contains(got, "Tablet v3") {
		t.Fatalf("after second upsert: %q", got)
	}
	s.PurgeAll()
	if _, ok := s.getShared(JSON, []byte("2")); ok {
		t.Fatal("hot tier kept a page after PurgeAll")
	}
	s.Apply(&api.Event{Seq: 4, Type: api.EventUpsert, Product: product("2", "Tablet", 4)})
	shared(t, s, "2")
	s.Apply(&api.Event{Seq: 5, Type: api.EventDelete, ID: "2"})
	if _, ok := s.getShared(JSON, []byte("2")); ok {
		t.Fatal("hot tier kept a deleted product")
	}
	// A reload that changes the product drops its hot entry too.
	s.Apply(&api.Event{Seq: 6, Type: api.EventUpsert, Product: product("3", "Watch", 6)})
	shared(t, s, "3")
	loadAll(s, 7, product("3", "Watch", 7))
	if got, _ := shared(t, s, "3"); !strings.Contains(got, "Watch v7") {
		t.Fatalf("after reload: %q", got)
	}
}

func TestHotTierOffAndSizeLimit(t *testing.T) {
	cfg := hotConfig(0)
	s := mustNewStoreCfg(t, cfg)
	loadAll(s, 1, product("1", "Phone", 1))
	s.get(nil, JSON, []byte("1"))
	if _, ok := s.getShared(JSON, []byte("1")); ok {
		t.Fatal("hot tier answered while off")
	}
	cfg.HotEntries = 16
	cfg.HotMaxBytes = 64 // smaller than any page
	s = mustNewStoreCfg(t, cfg)
	loadAll(s, 1, product("1", "Phone", 1))
	s.get(nil, JSON, []byte("1"))
	if _, ok := s.getShared(JSON, []byte("1")); ok {
		t.Fatal("hot tier kept a page over hot_max_bytes")
	}
}

// TestHotTierNeverGoesBack runs readers against a writer that keeps
// upserting new states of a few products: once a write has returned, no
// read may show an older state, and a reader never sees a product's state
// go backwards.
func TestHotTierNeverGoesBack(t *testing.T) {
	s := mustNewStoreCfg(t, hotConfig(2)) // force sharing of slots between products
	ids := []string{"a", "b", "c", "d"}
	var ps []*api.Product
	for _, id := range ids {
		ps = append(ps, product(id, "P"+id, 1))
	}
	loadAll(s, 1, ps...)

	var done atomic.Bool
	var written [4]atomic.Int64 // last state fully written per product
	version := func(body []byte) int64 {
		i := bytes.Index(body, []byte(" v"))
		var n int64
		for _, c := range body[i+2:] {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int64(c-'0')
		}
		return n
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var seen [4]int64
			buf := make([]byte, 0, 4096)
			for n := 0; !done.Load() && n < 2_000_000; n++ {
				k := n % len(ids)
				floor := written[k].Load()
				var got int64
				if e, ok := s.getShared(JSON, []byte(ids[k])); ok {
					got = version(e.Body)
				} else if e, b, ok := s.get(buf[:0], JSON, []byte(ids[k])); ok {
					got = version(e.Body)
					buf = b
				} else {
					continue
				}
				if got < floor || got < seen[k] {
					errs <- fmt.Errorf("product %s: read state %d after state %d was written and %d seen", ids[k], got, floor, seen[k])
					return
				}
				seen[k] = got
			}
		}()
	}
	for n := 2; n <= 400; n++ {
		k := n % len(ids)
		s.Apply(&api.Event{Seq: uint64(n), Type: api.EventUpsert, Product: product(ids[k], "P"+ids[k], n)})
		written[k].Store(int64(n))
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func mustNewStoreCfg(tb testing.TB, cfg Config) *testPages {
	tb.Helper()
	s, err := newTestPages(cfg, metrics.NewSet())
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// sharedHTML reads the HTML of the product at slug the way the edge does:
// one Lookup by slug (hot tier by slug, else by id, offering what it
// read), else rendered from the stored JSON, as a miss is (not offered).
func sharedHTML(tb testing.TB, s *testPages, slug string) (string, bool) {
	tb.Helper()
	r := s.Lookup(nil, HTML, BySlug, []byte(slug))
	switch r.Found {
	case Shared, Copied:
		return string(r.Entry.Body), true
	case Miss:
		rd, ok := s.fillAll(string(r.ID))
		if !ok {
			return "", false
		}
		return string(rd.Bodies[HTML]), true
	}
	return "", false
}

// hotBySlug reports whether the hot tier holds the HTML of slug (a
// Lookup by slug that ends in the tier before reading the index).
func hotBySlug(s *testPages, slug string) bool {
	_, _, ok := s.hot.getSlug(HTML, []byte(slug), s.x.hash([]byte(slug)))
	return ok
}

func TestHotTierBySlugServesLatestState(t *testing.T) {
	s := mustNewStore(t)
	loadAll(s, 1, product("1", "Phone", 1), product("2", "Tablet", 1))
	check := func(slug, want string, wantHot bool) {
		t.Helper()
		if hot := hotBySlug(s, slug); hot != wantHot {
			t.Fatalf("%s: in the hot tier %v, want %v", slug, hot, wantHot)
		}
		got, ok := sharedHTML(t, s, slug)
		if want == "" {
			if ok {
				t.Fatalf("%s: still served: %.80q", slug, got)
			}
			return
		}
		if !ok || !strings.Contains(got, want) {
			t.Fatalf("%s: want %q in %.200q (%v)", slug, want, got, ok)
		}
		if got2, _ := sharedHTML(t, s, slug); got2 != got {
			t.Fatalf("%s: second read differs", slug)
		}
		if hot := hotBySlug(s, slug); !hot {
			t.Fatalf("%s: not in the hot tier after a read", slug)
		}
	}
	check("slug-1", "Phone v1", false)
	check("slug-1", "Phone v1", true)
	s.Apply(&api.Event{Seq: 2, Type: api.EventUpsert, Product: product("1", "Phone", 2)})
	check("slug-1", "Phone v2", false)
	// The product moves to a new slug: the old one is gone at once.
	p := product("1", "Phone", 3)
	p.Slug = "moved-1"
	s.Apply(&api.Event{Seq: 3, Type: api.EventUpsert, Product: p})
	check("slug-1", "", false)
	check("moved-1", "Phone v3", false)
	// Another product takes the old slug.
	q := product("2", "Tablet", 4)
	q.Slug = "slug-1"
	check("slug-2", "Tablet v1", false)
	s.Apply(&api.Event{Seq: 4, Type: api.EventUpsert, Product: q})
	check("slug-2", "", false)
	check("slug-1", "Tablet v4", false)
	check("slug-1", "Tablet v4", true)
	s.Purge([]string{"2"})
	if hot := hotBySlug(s, "slug-1"); hot {
		t.Fatal("purged page still in the hot tier by slug")
	}
	check("slug-1", "", false) // no bytes left: the edge fetches it from the core
	s.Apply(&api.Event{Seq: 5, Type: api.EventDelete, ID: "2"})
	check("slug-1", "", false)
	check("moved-1", "Phone v3", true)
	s.PurgeAll()
	if hot := hotBySlug(s, "moved-1"); hot {
		t.Fatal("page in the hot tier by slug after PurgeAll")
	}
}

// TestHotTierSetHoldsTwo: with one set, two representations are held side
// by side; a third takes a slot over only now and then, never both.
func TestHotTierSetHoldsTwo(t *testing.T) {
	s := mustNewStoreCfg(t, hotConfig(2))
	loadAll(s, 1, product("1", "Phone", 1), product("2", "Tablet", 1), product("3", "Watch", 1))
	shared(t, s, "1")
	shared(t, s, "2")
	for _, id := range []string{"1", "2"} {
		if _, ok := s.getShared(JSON, []byte(id)); !ok {
			t.Fatalf("%s not held beside the other", id)
		}
	}
	took := 0
	for range 400 {
		if _, _, ok := s.get(nil, JSON, []byte("3")); !ok {
			t.Fatal("3 not stored")
		}
		if _, ok := s.getShared(JSON, []byte("3")); ok {
			took++
			break
		}
	}
	if took == 0 {
		t.Fatal("a third representation never took a slot over")
	}
	_, ok1 := s.getShared(JSON, []byte("1"))
	_, ok2 := s.getShared(JSON, []byte("2"))
	if ok1 == ok2 {
		t.Fatalf("after the takeover: 1 held %v, 2 held %v; want exactly one", ok1, ok2)
	}
}

// hotConfig is a small store's configuration with a hot tier of entries.
func hotConfig(entries int) Config {
	cfg := DefaultConfig()
	cfg.CacheBytes = 32 << 20
	cfg.Prerender = false
	cfg.HotEntries = entries
	return cfg
}

// TestHotTierFilledByRequestsOnly: the store's own reads (Fill renders
// from the stored JSON, as the prerender pass does) offer nothing to the
// hot tier; a request's Get does.
func TestHotTierFilledByRequestsOnly(t *testing.T) {
	s := mustNewStore(t)
	loadAll(s, 1, product("1", "Phone", 1))
	if _, ok := s.fillAll("1"); !ok {
		t.Fatal("Fill found no stored JSON")
	}
	if _, ok := s.getShared(JSON, []byte("1")); ok {
		t.Fatal("a render from the stored JSON filled the hot tier")
	}
	if _, _, ok := s.get(nil, JSON, []byte("1")); !ok {
		t.Fatal("JSON not stored")
	}
	if _, ok := s.getShared(JSON, []byte("1")); !ok {
		t.Fatal("a request's Get did not fill an empty hot slot")
	}
}

// TestHotTierTagsAreHints: a slot's tag only picks which entry to read. A
// tag that names another key (as a reader may see while a put races with
// it) costs a key compare, never a wrong answer, and a tag that no longer
// matches costs a miss.
func TestHotTierTagsAreHints(t *testing.T) {
	ht := newHotTier(2, 1<<10, 1<<20) // one set: every key shares it
	a := Entry{ETag: []byte(`"a"`), SurrogateKey: []byte("product-a"), Body: []byte(`{"id":"a"}`)}
	b := Entry{ETag: []byte(`"bb"`), SurrogateKey: []byte("product-b brand-x"), Body: []byte(`{"id":"b"}`)}
	ht.offer(JSON, []byte("a"), a, ht.versions(JSON, []byte("a")))
	ht.offer(JSON, []byte("b"), b, ht.versions(JSON, []byte("b")))
	for id, want := range map[string]Entry{"a": a, "b": b} {
		got, ok := ht.get(JSON, []byte(id))
		if !ok || string(got.ETag) != string(want.ETag) || string(got.SurrogateKey) != string(want.SurrogateKey) ||
			string(got.Body) != string(want.Body) {
			t.Fatalf("get(%s) = %q %q %q, %v", id, got.ETag, got.SurrogateKey, got.Body, ok)
		}
	}
	if _, ok := ht.get(HTML, []byte("a")); ok {
		t.Fatal("another variant of a key was served")
	}
	// Give both slots the tag of "b": the slot holding "a" must not serve
	// it as "b", and "a", whose tag no slot has now, is a miss.
	tagB := tagOf(ht.hashOf(JSON, []byte("b")))
	for j := range ht.slots {
		ht.slots[j].tag.Store(tagB)
	}
	if got, ok := ht.get(JSON, []byte("b")); !ok || string(got.Body) != `{"id":"b"}` {
		t.Fatalf("get(b) with both tags naming b = %q, %v", got.Body, ok)
	}
	if got, ok := ht.get(JSON, []byte("a")); ok {
		t.Fatalf("a served under b's tag: %q", got.Body)
	}
	ht.slots[0].tag.Store(tagOf(ht.hashOf(JSON, []byte("a"))))
	ht.slots[1].tag.Store(tagOf(ht.hashOf(JSON, []byte("b"))))
	// A bump still drops what the slots hold, whatever their tags.
	ht.invalidate(appendKey(nil, JSON, []byte("a")))
	if _, ok := ht.get(JSON, []byte("a")); ok {
		t.Fatal("served after invalidate")
	}
}

// slotBytes is the bytes of the entries t's slots point to.
func slotBytes(t *hotTier) int64 {
	var n int64
	for i := range t.slots {
		if p := t.slots[i].e.Load(); p != nil {
			n += int64(hotSize(p))
		}
	}
	return n
}

// TestHotTierByteBudget: the tier admits an entry only while the entries
// its slots point to stay within its byte budget, counts exactly those
// bytes (a replaced entry's bytes are freed, a stale one's are not until it
// is replaced), and keeps the count exact under concurrent offers.
func TestHotTierByteBudget(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 1000)
	entry := func(id string) Entry {
		return Entry{ETag: []byte(`"` + id + `"`), SurrogateKey: []byte("product-" + id), Body: body}
	}
	offer := func(ht *hotTier, id string) bool {
		ht.offer(JSON, []byte(id), entry(id), ht.versions(JSON, []byte(id)))
		_, ok := ht.get(JSON, []byte(id))
		return ok
	}

	ht := newHotTier(1024, 8<<10, 10_000) // room for 9 of these entries
	held := 0
	for i := range 100 {
		if offer(ht, fmt.Sprint("p", i)) {
			held++
		}
	}
	if held != 9 {
		t.Fatalf("a 10,000-byte tier took %d entries of ~1,030 bytes; want 9", held)
	}
	if got, want := ht.bytes(), slotBytes(ht); got != want || got > 10_000 {
		t.Fatalf("tier counts %d bytes, its slots hold %d; budget 10,000", got, want)
	}

	// Stale entries still hold their bytes; replacing them frees them.
	ht.invalidateAll()
	if got := ht.bytes(); got != slotBytes(ht) || got == 0 {
		t.Fatalf("after invalidateAll the tier counts %d bytes, its slots hold %d", got, slotBytes(ht))
	}
	held = 0
	for i := range 100 {
		if offer(ht, fmt.Sprint("p", i)) {
			held++
		}
	}
	if held == 0 || ht.bytes() != slotBytes(ht) || ht.bytes() > 10_000 {
		t.Fatalf("re-offered after invalidateAll: %d held, %d bytes counted, %d in slots", held, ht.bytes(), slotBytes(ht))
	}

	if newHotTier(1024, 8<<10, 0) != nil {
		t.Fatal("a zero byte budget did not turn the tier off")
	}

	// Concurrent offers of keys sharing few sets: the count stays exact.
	ht = newHotTier(16, 8<<10, 12_000)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				id := fmt.Sprint("k", (i*7+g)%64)
				ht.offer(JSON, []byte(id), entry(id), ht.versions(JSON, []byte(id)))
				if i%100 == 0 {
					ht.invalidate(appendKey(nil, JSON, []byte(id)))
				}
			}
		}()
	}
	wg.Wait()
	if got, want := ht.bytes(), slotBytes(ht); got != want || got > 12_000 {
		t.Fatalf("after concurrent offers the tier counts %d bytes, its slots hold %d; budget 12,000", got, want)
	}
}
