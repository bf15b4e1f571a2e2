package storefront

import (
	"strings"

	"github.com/cespare/xxhash/v2"

	"shopedge/core/api"
)

// dirtySet is what the feed touched since the last refresh.
type dirtySet struct {
	all  bool            // a load or purge_all: everything
	tree bool            // a product came, went or changed: counts and maybe categories
	home bool            // the home page
	cats map[string]bool // category names whose pages show other products or counts now
	keys map[string]bool // purged surrogate keys
}

func newDirtySet() dirtySet { return dirtySet{cats: map[string]bool{}, keys: map[string]bool{}} }

func (d *dirtySet) empty() bool {
	return !d.all && !d.tree && !d.home && len(d.cats) == 0 && len(d.keys) == 0
}

// touches reports whether category page c must be rendered again.
func (d *dirtySet) touches(c *catPage) bool {
	if d.all || d.cats[c.node.Name] || c.r.Load() == nil {
		return true
	}
	if len(d.keys) == 0 {
		return false
	}
	r := c.r.Load()
	for k := range d.keys {
		if k == keyStorefront || r.hasKey(k) {
			return true
		}
	}
	return false
}

// pathTable remembers each product's category path, so that an update
// that moves a product, or a delete (which names only the id), marks the
// pages of the categories it leaves. Products are keyed by the 64-bit hash
// of their id and paths are interned: ~20 bytes per product.
type pathTable struct {
	byID  map[uint64]uint32
	ids   map[string]uint32
	paths [][]string
}

func newPathTable() *pathTable {
	return &pathTable{byID: map[uint64]uint32{}, ids: map[string]uint32{}, paths: [][]string{nil}}
}

func (t *pathTable) get(id string) []string {
	return t.paths[t.byID[xxhash.Sum64String(id)]]
}

func (t *pathTable) set(id string, path []string) {
	if len(path) == 0 {
		delete(t.byID, xxhash.Sum64String(id))
		return
	}
	k := strings.Join(path, "\x1f")
	i, ok := t.ids[k]
	if !ok {
		i = uint32(len(t.paths))
		t.paths = append(t.paths, append([]string(nil), path...))
		t.ids[k] = i
	}
	t.byID[xxhash.Sum64String(id)] = i
}

func (t *pathTable) del(id string) { delete(t.byID, xxhash.Sum64String(id)) }

// BeginLoad starts a snapshot load; the pages keep being served as they
// are until EndLoad.
func (s *Storefront) BeginLoad() { s.loading = newPathTable() }

// Load notes one snapshot product's category path.
func (s *Storefront) Load(p *api.Product) {
	if s.loading == nil {
		s.loading = newPathTable()
	}
	s.loading.set(p.ID, p.Categories)
}

// LoadsSummaries reports that product summaries are enough: the
// storefront reads only ids and categories from a snapshot.
func (s *Storefront) LoadsSummaries() bool { return true }

// EndLoad marks every page for rendering: the search index (an earlier
// sink) now holds the new snapshot.
func (s *Storefront) EndLoad(uint64) {
	if s.loading != nil {
		s.paths, s.loading = s.loading, nil
	}
	s.mu.Lock()
	s.loaded = true
	s.dirty.all = true
	s.mu.Unlock()
	s.dyn.invalidate()
	s.poke()
}

// Apply marks the pages an event touches: the home page and the pages of
// every category the product is in or was in. Purges mark the pages that
// carry a purged key (a product id counts as its product key).
func (s *Storefront) Apply(ev *api.Event) {
	s.mu.Lock()
	switch ev.Type {
	case api.EventUpsert:
		if p := ev.Product; p != nil {
			s.markPath(s.paths.get(p.ID))
			s.markPath(p.Categories)
			s.paths.set(p.ID, p.Categories)
			s.dirty.tree, s.dirty.home = true, true
		}
	case api.EventDelete:
		s.markPath(s.paths.get(ev.ID))
		s.paths.del(ev.ID)
		s.dirty.tree, s.dirty.home = true, true
	case api.EventPurge:
		for _, k := range ev.Keys {
			s.dirty.keys[k] = true
			s.dirty.keys[api.ProductKey(k)] = true
		}
	case api.EventPurgeAll:
		s.dirty.all = true
	}
	s.mu.Unlock()
	s.dyn.invalidate() // the index has the event: pages rendered before it are stale
	s.poke()
}

func (s *Storefront) markPath(path []string) {
	for _, c := range path {
		s.dirty.cats[c] = true
	}
}
