package pages

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"shopedge/core/api"
)

func mustNewPrerenderStore(tb testing.TB, workers int, maxFill float64) (*testPages, *metrics.Set) {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.CacheBytes = 32 << 20
	cfg.Workers = 2
	cfg.PrerenderWorkers = workers
	cfg.PrerenderMaxFill = maxFill
	ms := metrics.NewSet()
	s, err := newTestPages(cfg, ms)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s, ms
}

// stored reports whether every representation of p is stored and equals
// its rendering.
func stored(tb testing.TB, s *testPages, p *api.Product) bool {
	tb.Helper()
	r, err := Render(p, s.Loader.cfg.GzipLevel)
	if err != nil {
		tb.Fatal(err)
	}
	for v := Variant(0); v < numVariants; v++ {
		e, _, ok := s.get(nil, v, []byte(p.ID))
		if !ok {
			return false
		}
		if !bytes.Equal(e.Body, r.Bodies[v]) || !bytes.Equal(e.ETag, r.ETags[v]) {
			tb.Fatalf("%s variant %d: stored bytes differ from the rendering", p.ID, v)
		}
	}
	return true
}

func TestPrerenderRendersEveryProductAfterLoad(t *testing.T) {
	s, ms := mustNewPrerenderStore(t, 2, 0.8)
	ps := testProducts(t)
	loadAll(s, 3, ps...)
	s.waitPrerender()
	for _, p := range ps {
		if !stored(t, s, p) {
			t.Fatalf("%s: not every representation prerendered", p.ID)
		}
	}
	if got := s.prerendered.Get(); got != uint64(len(ps)) {
		t.Fatalf("prerendered %d of %d", got, len(ps))
	}
	var b bytes.Buffer
	ms.WritePrometheus(&b)
	if !strings.Contains(b.String(), "shopedge_edge_pages_prerender_pending 0\n") {
		t.Fatalf("pending gauge not 0 after the pass:\n%s", b.String())
	}
	// A reload keeps serving; its pass renders again what the load replaced.
	loadAll(s, 4, ps...)
	s.waitPrerender()
	for _, p := range ps {
		if !stored(t, s, p) {
			t.Fatalf("%s: not prerendered after a reload", p.ID)
		}
	}
}

// TestPrerenderMostPopularFirstWithinBudget fills a small cache: the pass
// stops at the budget, and what it rendered is the most popular products.
func TestPrerenderMostPopularFirstWithinBudget(t *testing.T) {
	s, _ := mustNewPrerenderStore(t, 1, 0.7)
	var ps []*api.Product
	for i := 0; i < 300; i++ {
		p := product(fmt.Sprintf("p%03d", i), "Phone", 1)
		p.Popularity = int64((i * 7919) % 300) // distinct, unrelated to id order
		ps = append(ps, p)
	}
	loadAll(s, 1, ps...)
	s.waitPrerender()
	minIn, maxOut, in := int64(1<<62), int64(-1), 0
	for _, p := range ps {
		if _, _, ok := s.get(nil, HTML, []byte(p.ID)); ok {
			in++
			minIn = min(minIn, p.Popularity)
		} else {
			maxOut = max(maxOut, p.Popularity)
		}
		if body(t, s, p.ID) == "" {
			t.Fatalf("%s: the pass evicted stored JSON", p.ID)
		}
	}
	if in == 0 || in == len(ps) {
		t.Fatalf("rendered %d of %d: want the budget to stop the pass midway", in, len(ps))
	}
	if minIn < maxOut {
		t.Fatalf("a product of popularity %d was rendered before one of %d", minIn, maxOut)
	}
	if f := s.cacheFill(); f > 0.8 {
		t.Fatalf("cache filled to %.2f, budget 0.7", f)
	}
}

// TestPrerenderKeepsNewerState changes a product while the pass renders
// it: the pass must not write its older rendering over the change.
func TestPrerenderKeepsNewerState(t *testing.T) {
	f := func(name string, change func(s *testPages), check func(s *testPages)) {
		t.Helper()
		s, _ := mustNewPrerenderStore(t, 1, 0.8)
		pr := s.pre
		s.pre = nil // run the pass by hand
		loadAll(s, 1, product("a", "Phone", 1))
		done := false
		s.beforeFillWrite = func() {
			if !done {
				done = true
				change(s)
			}
		}
		i, _ := s.x.lookup([]byte("a"))
		pr.one(i, nil)
		if !done {
			t.Fatalf("%s: the pass did not render", name)
		}
		check(s)
	}
	f("upsert", func(s *testPages) {
		s.Apply(&api.Event{Seq: 2, Type: api.EventUpsert, Product: product("a", "Phone", 2)})
	}, func(s *testPages) {
		e, _, ok := s.get(nil, HTML, []byte("a"))
		if !ok || !strings.Contains(string(e.Body), "Phone v2") {
			t.Fatal("the pass overwrote a newer upsert")
		}
	})
	f("purge", func(s *testPages) { s.Purge([]string{"brand-acme"}) }, func(s *testPages) {
		for v := Variant(0); v < numVariants; v++ {
			if _, _, ok := s.get(nil, v, []byte("a")); ok {
				t.Fatalf("variant %d is back after a purge", v)
			}
		}
	})
	f("purge_all", func(s *testPages) { s.Apply(&api.Event{Seq: 2, Type: api.EventPurgeAll}) }, func(s *testPages) {
		if _, _, ok := s.get(nil, HTML, []byte("a")); ok {
			t.Fatal("HTML is back after purge_all")
		}
	})
	f("delete", func(s *testPages) { s.Apply(&api.Event{Seq: 2, Type: api.EventDelete, ID: "a"}) }, func(s *testPages) {
		if _, _, ok := s.get(nil, HTML, []byte("a")); ok {
			t.Fatal("HTML of a deleted product stored")
		}
	})
}

func TestPrerenderStoppedByNextLoad(t *testing.T) {
	s, _ := mustNewPrerenderStore(t, 1, 0.8)
	ps := testProducts(t)
	for round := 0; round < 3; round++ {
		loadAll(s, uint64(round+1), ps...) // BeginLoad stops the previous pass
	}
	s.waitPrerender()
	for _, p := range ps {
		if !stored(t, s, p) {
			t.Fatalf("%s: not prerendered after the last load", p.ID)
		}
	}
}

func TestConfigValidatePrerender(t *testing.T) {
	c := DefaultConfig()
	c.PrerenderMaxFill = 0
	if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "prerender_max_fill:") {
		t.Fatalf("got %v", err)
	}
	c.Prerender = false
	if err := c.Validate(); err != nil {
		t.Fatalf("max fill is not used without prerender: %v", err)
	}
	c = DefaultConfig()
	c.PrerenderWorkers = -1
	if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "prerender_workers:") {
		t.Fatalf("got %v", err)
	}
}

func TestPacerSeesTraffic(t *testing.T) {
	var p pacer
	p.check(1000, 0)
	if p.busy {
		t.Fatal("busy before any interval")
	}
	time.Sleep(5 * time.Millisecond)
	p.check(1000+32, 32) // only the worker's own lookups
	if p.busy {
		t.Fatal("the worker's own lookups count as traffic")
	}
	time.Sleep(5 * time.Millisecond)
	p.check(1000+32+32+500, 32) // 500 lookups in ~5 ms
	if !p.busy {
		t.Fatal("traffic not seen")
	}
	time.Sleep(5 * time.Millisecond)
	p.check(1000+32+32+500+32, 32)
	if p.busy {
		t.Fatal("still busy once traffic stopped")
	}
}
