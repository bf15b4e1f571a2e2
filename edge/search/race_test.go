package search

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"shopedge/core/api"
)

// TestConcurrentSearchAndFeed: searches (direct and through the handler
// and its caches) run while the feed changes products and a new snapshot
// is loaded; run with -race it checks the locking, and every answer must
// be well formed. It does not check answers against the oracle (the
// property test does, between events).
func TestConcurrentSearchAndFeed(t *testing.T) {
	smallBuckets(t)
	g := &gen{rng: rand.New(rand.NewPCG(1, 2))}
	var ps []*api.Product
	for i := range 200 {
		ps = append(ps, g.product(fmt.Sprintf("p%03d", i)))
	}
	cfg := testConfig()
	cfg.CacheBytes, cfg.HotAnswers = 32<<20, 64
	s := newLoaded(t, cfg, ps)
	o := newOracle(cfg, ps)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rg := &gen{rng: rand.New(rand.NewPCG(uint64(w), 9))}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				p := rg.params([]string{"color", "size"})
				if r, err := s.Search(p); err != nil || len(r.Products) > r.Total {
					t.Errorf("Search: %v", err)
					return
				}
				ctx := get(s.HandleSearch, "/v1/search?q="+[]string{"alpha", "phone", "cases", "galxy"}[i%4]+"&per_page=3")
				if ctx.Response.StatusCode() != 200 {
					t.Errorf("status %d", ctx.Response.StatusCode())
					return
				}
				_ = s.Categories()
			}
		}()
	}
	seq := uint64(1)
	for i := range 300 {
		seq++
		ev := g.event(o, seq)
		s.Apply(ev)
		if ev.Type == api.EventUpsert {
			o.upsert(ev.Product, ev.Seq)
		} else {
			o.remove(ev.ID, ev.Seq)
		}
		if i == 150 {
			s.BeginLoad()
			for _, p := range o.products {
				s.Load(p)
			}
			s.EndLoad(seq)
		}
	}
	close(stop)
	wg.Wait()
}
