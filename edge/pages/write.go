package pages

import (
	"cmp"
	"slices"

	"github.com/VictoriaMetrics/fastcache"

	"shopedge/core/api"
)

// The Cache's side of its writers: the Loader (snapshot loads, change
// events, renders for requests that missed) and the prerender pass reach
// the cache only through these methods, named by the interfaces loadTarget
// and prerenderTarget. Rendering happens outside the cache; what is here
// takes s.mu for the index and the cache writes.

// newGen starts the generation of a snapshot load: EndLoad forgets the
// products the load did not mark with it.
func (s *Cache) newGen() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	if s.gen == 0 {
		s.gen = 1
	}
	return s.gen
}

// hash returns the index's hash of an id or a slug. It takes no lock: the
// index's seed never changes.
func (s *Cache) hash(b []byte) uint64 { return s.x.hash(b) }

// endLoad stamps every product loaded by load gen with seq and forgets
// the products the load did not see (unless changed after seq).
func (s *Cache) endLoad(gen uint32, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.x.slots {
		sl := &s.x.slots[i]
		switch {
		case sl.flags&flagFree != 0:
		case sl.gen == gen:
			sl.seq = max(sl.seq, seq)
		case sl.seq <= seq:
			s.remove(uint32(i))
		}
	}
	s.x.compact()
	s.seq = max(s.seq, seq)
	s.log.Info().Uint64("seq", seq).Int("products", s.live).Msg("page cache loaded snapshot")
}

// apply applies change event ev; r is the rendering of an upserted
// product (nil: nothing to store, the event is stale or did not render).
// The cache's sequence moves on to ev.Seq either way.
func (s *Cache) apply(ev *api.Event, r *Rendered) {
	switch ev.Type {
	case api.EventUpsert:
		if r != nil {
			s.store(r, ev.Seq, 0, false)
		}
	case api.EventDelete:
		s.delete(ev.ID, ev.Seq)
	case api.EventPurge:
		s.Purge(ev.Keys)
	case api.EventPurgeAll:
		s.PurgeAll()
	}
	s.mu.Lock()
	s.seq = max(s.seq, ev.Seq)
	s.mu.Unlock()
}

// newerThan reports whether the cache holds a state of id newer than seq.
func (s *Cache) newerThan(id string, seq uint64) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.x.lookup([]byte(id))
	return ok && s.x.slots[i].seq >= seq
}

func (s *Cache) delete(id string, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.x.lookup([]byte(id))
	if !ok {
		i = s.newSlot(id)
	} else if s.x.slots[i].seq >= seq {
		return
	}
	s.dropBytes(i)
	if s.x.slots[i].flags&flagDeleted == 0 {
		s.live--
	}
	s.x.setSlug(i, "")
	s.x.setTail(i, "")
	sl := &s.x.slots[i]
	sl.seq = seq
	sl.flags = flagDeleted
	sl.ver++
}

// slotVersion names a product's slot in the state a reader saw: the
// slot's version moves on with every write, delete and purge of the
// product (and across slot reuse).
type slotVersion struct{ i, ver uint32 }

// storedJSON appends the stored JSON of product id to buf[:0] and returns
// it with the slot's version as read. ok is false when the product is
// unknown or its JSON is not stored (a snapshot product indexed only,
// purged or evicted).
func (s *Cache) storedJSON(id, buf []byte) (at slotVersion, body, _ []byte, ok bool) {
	s.mu.RLock()
	i, known := s.x.lookup(id)
	if known {
		at = slotVersion{i, s.x.slots[i].ver}
	}
	s.mu.RUnlock()
	if !known {
		return at, nil, buf, false
	}
	e, buf, ok := s.read(buf[:0], JSON, id)
	return at, e.Body, buf, ok
}

// setIfSame stores the representations of r in mask in the slot at
// names, unless it changed since (or was deleted or purged): an older
// rendering never overwrites a newer state or brings purged bytes back.
func (s *Cache) setIfSame(at slotVersion, r *Rendered, mask uint8) {
	if s.beforeFillWrite != nil {
		s.beforeFillWrite()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.x.slots[at.i].ver == at.ver && s.x.slots[at.i].flags&(flagDeleted|flagFree) == 0 {
		s.setVariants(at.i, r, mask)
	}
}

// jsonOnly returns the live slots stored as JSON only, most popular
// first: what a prerender pass renders.
func (s *Cache) jsonOnly() []uint32 {
	type cand struct {
		i   uint32
		pop int64
	}
	s.mu.RLock()
	cands := make([]cand, 0, s.live)
	for i := range s.x.slots {
		if sl := &s.x.slots[i]; sl.liveJSONOnly() {
			cands = append(cands, cand{uint32(i), sl.pop})
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(cands, func(a, b cand) int {
		if c := cmp.Compare(b.pop, a.pop); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	todo := make([]uint32, len(cands))
	for k, c := range cands {
		todo[k] = c.i
	}
	return todo
}

// jsonOnlyID returns the id of slot i (immutable bytes of the index) if
// the slot still holds a live product stored as JSON only; ok is false
// once it changed, was deleted, purged or evicted, or a request rendered
// its HTML.
func (s *Cache) jsonOnlyID(i uint32) (id []byte, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.x.slots[i].liveJSONOnly() {
		return nil, false
	}
	return s.x.id(i), true
}

// liveJSONOnly reports whether the slot holds a live product whose JSON
// is stored and its HTML not. s.mu is held.
func (sl *slot) liveJSONOnly() bool {
	return sl.flags&(flagDeleted|flagFree) == 0 && sl.have&(1<<JSON) != 0 && sl.have&(1<<HTML) == 0
}

// stats reads the off-heap cache's statistics into st.
func (s *Cache) stats(st *fastcache.Stats) { s.cache.UpdateStats(st) }

// cacheFill returns the allocated fraction of the cache: fastcache fills
// each bucket's chunks in order before it wraps around and evicts.
func (s *Cache) cacheFill() float64 {
	var st fastcache.Stats
	s.cache.UpdateStats(&st)
	return fill(&st)
}

func fill(st *fastcache.Stats) float64 {
	if st.MaxBytesSize == 0 {
		return 1
	}
	return float64(st.BytesSize) / float64(st.MaxBytesSize)
}
