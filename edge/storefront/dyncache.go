package storefront

import (
	"slices"
	"sync"
	"sync/atomic"

	"shopedge/core/api"
)

// dynCache keeps the rendered bytes (plain and gzip) of the search and
// filtered category pages last asked for, so that a popular search is a
// hit like a category page until the catalog changes. A page renders
// from the index in hundreds of µs (bench/results/wrk-20261207-0024-pages.md);
// a hit costs what a precomputed page does.
//
// Freshness: every entry carries the generation it was rendered in, read
// before the render; Apply, EndLoad and a refresh of the category tree
// start a new generation after the index has the event (the storefront
// follows the feed after the search index), so no page rendered from
// older data is served once an event has been seen. Bounded: at most
// dynMaxPages entries of at most dynMaxBytes each; a full cache is
// emptied and fills again with what is asked for.
type dynCache struct {
	gen atomic.Uint64
	mu  sync.RWMutex
	m   map[string]dynEntry
}

type dynEntry struct {
	r   *rendered
	gen uint64
}

const (
	dynMaxPages = 1024
	dynMaxBytes = 256 << 10
)

// get returns the page cached for key in the current generation.
func (c *dynCache) get(key string) *rendered {
	g := c.gen.Load()
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if ok && e.gen == g {
		return e.r
	}
	return nil
}

// put caches r for key as rendered in generation gen (read before the
// render); a page of an older generation is not kept.
func (c *dynCache) put(key string, gen uint64, r *rendered) {
	if len(r.body) > dynMaxBytes || gen != c.gen.Load() {
		return
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= dynMaxPages {
		c.m = make(map[string]dynEntry, 64)
	}
	c.m[key] = dynEntry{r: r, gen: gen}
	c.mu.Unlock()
}

// invalidate starts a new generation: every cached page is stale.
func (c *dynCache) invalidate() { c.gen.Add(1) }

// dynKey is the cache key of a listing page: its path and the canonical
// form of its parameters (the linker's order, repeated values sorted and
// without repeats, defaults left out), so one page has one key whatever
// the order of the parameters in the request.
func dynKey(l linker, p *api.SearchParams) string {
	q := cloneParams(p)
	q.Categories = slices.Compact(slices.Sorted(slices.Values(q.Categories)))
	q.Brands = slices.Compact(slices.Sorted(slices.Values(q.Brands)))
	for name, vs := range q.Attributes {
		q.Attributes[name] = slices.Compact(slices.Sorted(slices.Values(vs)))
	}
	return l.url(&q)
}
