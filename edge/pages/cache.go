package pages

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/VictoriaMetrics/fastcache"
	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
)

// Cache holds the rendered product pages of one edge: the index of
// products (ids, slugs, surrogate keys), the off-heap cache of their
// representations and the hot tier in front of it. It is safe for
// concurrent use. Requests call Lookup; the admin API calls Purge and
// PurgeAll. What it holds is written by its Loader (NewLoader), which
// renders and writes through the unexported methods of write.go.
type Cache struct {
	cfg   Config
	log   zerolog.Logger
	cache *fastcache.Cache
	hot   *hotTier // nil when off

	mu   sync.RWMutex
	x    index
	live int // products that are neither free nor deleted
	seq  uint64
	gen  uint32

	*counters

	// beforeFillWrite, when set (tests only), runs between a fill's render
	// and its write.
	beforeFillWrite func()
}

// counters are the page metrics, shared by a Cache and the Loader and
// prerender pass writing into it.
type counters struct {
	renders, renderErrors, purged, stale *metrics.Counter
	prerendered, loadIndexOnly           *metrics.Counter
	// offHeapReads counts reads of the off-heap cache (hot-tier misses,
	// and renders from the stored JSON).
	offHeapReads *metrics.Counter
	// pending is the number of products the running prerender pass has
	// yet to render.
	pending atomic.Int64
}

// New returns an empty Cache. Its metrics are registered on ms.
func New(cfg Config, log zerolog.Logger, ms *metrics.Set) (*Cache, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cannot create page cache: %w", err)
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.PrerenderWorkers == 0 {
		cfg.PrerenderWorkers = max(1, runtime.GOMAXPROCS(0)/2)
	}
	s := &Cache{
		cfg:   cfg,
		log:   log,
		cache: fastcache.New(int(cfg.CacheBytes)),
		hot:   newHotTier(cfg.HotEntries, cfg.HotMaxBytes, int64(cfg.HotBytes)),
		x:     newIndex(),
	}
	s.counters = &counters{
		renders:      ms.NewCounter("shopedge_edge_page_renders_total"),
		renderErrors: ms.NewCounter("shopedge_edge_page_render_errors_total"),
		purged:       ms.NewCounter("shopedge_edge_page_purged_total"),
		stale:        ms.NewCounter("shopedge_edge_page_stale_writes_skipped_total"),
		prerendered:  ms.NewCounter("shopedge_edge_pages_prerendered_total"),
		// products a snapshot load indexed without bytes (cache budget)
		loadIndexOnly: ms.NewCounter("shopedge_edge_pages_loaded_index_only_total"),
		offHeapReads:  ms.NewCounter("shopedge_edge_pages_offheap_reads_total"),
	}
	s.x.onSlug = s.hot.invalidateSlug
	ms.NewGauge("shopedge_edge_pages_prerender_pending", func() float64 { return float64(s.pending.Load()) })
	ms.NewGauge("shopedge_edge_pages_products", func() float64 { return float64(s.Len()) })
	ms.NewGauge("shopedge_edge_pages_seq", func() float64 { return float64(s.Seq()) })
	ms.NewGauge("shopedge_edge_pages_hot_bytes", func() float64 { return float64(s.hot.bytes()) })
	ms.NewGauge("shopedge_edge_pages_cache_bytes", func() float64 {
		var st fastcache.Stats
		s.cache.UpdateStats(&st)
		return float64(st.BytesSize)
	})
	return s, nil
}

// Len returns the number of live products known to the store.
func (s *Cache) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.live
}

// Seq returns the highest change-feed sequence applied to the store.
func (s *Cache) Seq() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.seq
}

// By says what a Lookup key names: a product id or a product slug.
type By uint8

const (
	ByID   By = iota // the key is a product id
	BySlug           // the key is a product slug (HTML pages)
)

// Found is how a Lookup ended.
type Found uint8

const (
	// Miss: the product is known (or asked for by id) but the
	// representation is not held (never rendered, purged or evicted).
	// Result.ID names the product to fetch.
	Miss Found = iota
	// Shared: Result.Entry's bytes are immutable (the hot tier) and stay
	// valid, so a response may send them without a copy.
	Shared
	// Copied: Result.Entry points into Result.Buf, valid as long as it.
	Copied
	// NoSlug: no live product has the slug (lookups by slug only).
	NoSlug
)

// Result is what Lookup found.
type Result struct {
	Entry Entry
	// bufs and buf: the buffer borrowed for an off-heap read, handed
	// back by Release.
	bufs *sync.Pool
	buf  *[]byte
	// ID is the product's id (for BySlug, the id the slug maps to; it is
	// immutable and must not be modified). It is nil when Found is Shared
	// or NoSlug.
	ID []byte
	// Found says where the entry came from, or why there is none.
	Found Found
}

// Release hands the buffer a Copied entry points into back to the
// caller's pool; the entry must not be used after.
func (r *Result) Release() {
	if r.buf != nil {
		r.bufs.Put(r.buf)
		r.buf = nil
	}
}

// Lookup is a request's one call into the cache: it finds representation
// v of the product named by key (an id or a slug, per by), trying the hot
// tier and then the off-heap cache. Only an off-heap read takes a buffer
// (a *[]byte) from the caller's pool bufs (nil: a new buffer) and appends
// into it; call Result.Release when done with the entry. What the
// off-heap cache returns is offered to the hot tier (by id, and by slug
// for a lookup by slug). It allocates nothing when the pooled buffer has
// room and the hot tier does not take the entry.
func (s *Cache) Lookup(bufs *sync.Pool, v Variant, by By, key []byte) (r Result) {
	var slug slugRef
	id := key
	if by == BySlug {
		if s.hot != nil {
			h := s.x.hash(key) // the seed never changes: no lock needed
			e, ver, ok := s.hot.getSlug(v, key, h)
			if ok {
				r.Entry, r.Found = e, Shared
				return r
			}
			slug = slugRef{h: h, ver: ver, ok: true}
		}
		var known bool
		if id, known = s.idBySlug(key); !known {
			r.Found = NoSlug
			return r
		}
	}
	r.ID = id
	if s.hot != nil {
		if e, ok := s.hot.get(v, id); ok {
			s.offerBySlug(slug, v, key, e)
			r.Entry, r.Found = e, Shared
			return r
		}
	}
	var dst []byte
	if bufs != nil {
		r.bufs, r.buf = bufs, bufs.Get().(*[]byte)
		dst = (*r.buf)[:0]
	}
	e, buf, ok := s.get(dst, v, id)
	if r.buf != nil {
		*r.buf = buf
	}
	if !ok {
		return r // Miss
	}
	s.offerBySlug(slug, v, key, e)
	r.Entry, r.Found = e, Copied
	return r
}

// get looks up id's representation v in the off-heap cache. It appends
// the stored bytes to dst and returns them split into an Entry pointing
// into the returned buffer, and offers them to the hot tier. ok is false
// on a miss (never rendered, purged, deleted or evicted).
func (s *Cache) get(dst []byte, v Variant, id []byte) (e Entry, buf []byte, ok bool) {
	var hver hotVersions
	if s.hot != nil {
		hver = s.hot.versions(v, id)
	}
	e, buf, ok = s.read(dst, v, id)
	if ok && s.hot != nil {
		s.hot.offer(v, id, e, hver)
	}
	return e, buf, ok
}

// read is get for the store's own reads (rendering from the stored JSON):
// they say nothing of what requests ask for, so nothing is offered to the
// hot tier.
func (s *Cache) read(dst []byte, v Variant, id []byte) (e Entry, buf []byte, ok bool) {
	s.offHeapReads.Inc()
	n := len(dst)
	dst = appendKey(dst, v, id)
	key := dst[n:]
	buf = s.cache.Get(dst, key)
	if len(buf) == len(dst) {
		if !s.isBig(id, v) {
			return e, dst[:n], false
		}
		key[0] |= bigFlag
		buf = s.cache.GetBig(dst, key)
		if len(buf) == len(dst) {
			return e, dst[:n], false
		}
	}
	e, ok = parseEntry(buf[len(dst):])
	return e, buf[:n], ok
}

// slugRef carries what a lookup by slug saw in the hot tier before it
// looked the slug up: the versions of the slug's hot-tier set. ok is
// false for lookups by id, and when the tier is off.
type slugRef struct {
	h   uint64
	ver hotVersions
	ok  bool
}

// offerBySlug offers e, read after ref was taken, to the hot tier as
// representation v of the product at slug.
func (s *Cache) offerBySlug(ref slugRef, v Variant, slug []byte, e Entry) {
	if ref.ok {
		s.hot.offerSlug(v, slug, ref.h, e, ref.ver)
	}
}

// getShared returns id's representation v from the hot tier, if held.
func (s *Cache) getShared(v Variant, id []byte) (e Entry, ok bool) {
	if s.hot == nil {
		return e, false
	}
	return s.hot.get(v, id)
}

func (s *Cache) isBig(id []byte, v Variant) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.x.lookup(id)
	return ok && s.x.slots[i].flags&(1<<v) != 0
}

// Known reports whether id is a live product of the store (its bytes may
// still be evicted or purged).
func (s *Cache) Known(id []byte) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.x.lookup(id)
	return ok && s.x.slots[i].flags&(flagDeleted|flagFree) == 0
}

// idBySlug returns the id of the live product at slug. The returned bytes
// are immutable and stay valid; they must not be modified.
func (s *Cache) idBySlug(slug []byte) ([]byte, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.x.bySlug(slug)
	if !ok {
		return nil, false
	}
	return s.x.id(i), true
}

// store writes r unless a newer state is known (seq below the slot's);
// force skips that check for snapshot loads. gen marks the load.
func (s *Cache) store(r *Rendered, seq uint64, gen uint32, force bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.x.lookup([]byte(r.ID))
	if ok && !force && s.x.slots[i].seq > seq {
		s.stale.Inc()
		return false
	}
	if !ok {
		i = s.newSlot(r.ID)
	}
	s.write(i, r)
	sl := &s.x.slots[i]
	if seq > sl.seq {
		sl.seq = seq
	}
	if gen != 0 {
		sl.gen = gen
	}
	return true
}

// write stores r's representations in slot i (dropping those r lacks) and
// updates the slot's slug, surrogate keys and popularity: a new state of
// the product, so the slot's version moves on. s.mu is held.
func (s *Cache) write(i uint32, r *Rendered) {
	sl := &s.x.slots[i]
	sl.ver++
	s.setVariants(i, r, allVariants)
	if sl.flags&flagDeleted != 0 {
		s.live++
	}
	sl.flags &^= flagDeleted
	sl.pop = r.Popularity
	s.x.setSlug(i, r.Slug)
	s.x.setTail(i, r.Tail)
}

// allVariants is the variant mask of every representation.
const allVariants = 1<<numVariants - 1

// setVariants stores the representations of r selected by mask (bit v for
// variant v) in slot i, deleting those r lacks; variants outside mask are
// left as they are. s.mu is held.
func (s *Cache) setVariants(i uint32, r *Rendered, mask uint8) {
	sl := &s.x.slots[i]
	key := make([]byte, 0, 1+len(r.ID))
	var val []byte
	for v := Variant(0); v < numVariants; v++ {
		bit := uint8(1) << v
		if mask&bit == 0 {
			continue
		}
		key = appendKey(key[:0], v, []byte(r.ID))
		if r.Bodies[v] == nil {
			s.delVariant(sl, key, v)
			sl.have &^= bit
			sl.flags &^= bit
			continue
		}
		val = appendEntry(val[:0], r, v)
		if len(val)+len(key) < maxSmall {
			if sl.flags&bit != 0 {
				s.delVariant(sl, key, v) // was big
			}
			s.cacheSet(sl, key, val)
			sl.flags &^= bit
		} else {
			if sl.flags&bit == 0 {
				s.delVariant(sl, key, v) // was small
			}
			key[0] |= bigFlag
			s.cacheSetBig(sl, key, val)
			sl.flags |= bit
		}
		sl.have |= bit
	}
}

// delVariant deletes variant v of slot sl (key is its small key, restored
// on return) if it may be stored. s.mu is held.
func (s *Cache) delVariant(sl *slot, key []byte, v Variant) {
	if sl.have&(1<<v) == 0 {
		return
	}
	s.cacheDel(sl, key)
	if sl.flags&(1<<v) != 0 {
		key[0] |= bigFlag
		s.cacheDel(sl, key)
		key[0] &^= bigFlag
	}
}

// newSlot returns a new slot for id, marked deleted until written. s.mu
// is held.
func (s *Cache) newSlot(id string) uint32 {
	i := s.x.add(id)
	s.x.slots[i].flags = flagDeleted
	return i
}

// dropBytes deletes every stored representation of slot i. s.mu is held.
func (s *Cache) dropBytes(i uint32) {
	sl := &s.x.slots[i]
	key := append([]byte{0}, s.x.id(i)...)
	for v := Variant(0); v < numVariants; v++ {
		key[0] = byte(v)
		s.delVariant(sl, key, v)
	}
	sl.flags &= flagDeleted
	sl.have = 0
	sl.ver++
}

// remove forgets slot i entirely. s.mu is held.
func (s *Cache) remove(i uint32) {
	s.dropBytes(i)
	if s.x.slots[i].flags&flagDeleted == 0 {
		s.live--
	}
	s.x.remove(i)
}

// Purge drops the stored bytes of every product named by keys (product ids
// or surrogate keys), so the next request fetches them from the core
// again. It returns the number of products purged.
func (s *Cache) Purge(keys []string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, k := range keys {
		n += s.purgeKey(k)
	}
	s.purged.Add(n)
	return n
}

func (s *Cache) purgeKey(k string) int {
	if i, ok := s.x.lookup([]byte(k)); ok {
		s.dropBytes(i)
		return 1
	}
	if id, ok := strings.CutPrefix(k, "product-"); ok {
		if i, ok := s.x.lookup([]byte(id)); ok {
			s.dropBytes(i)
			return 1
		}
		return 0
	}
	n := 0
	s.x.withKey(k, func(i uint32) {
		s.dropBytes(i)
		n++
	})
	return n
}

// PurgeAll drops every stored representation; products stay known and are
// fetched from the core again on demand.
func (s *Cache) PurgeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cache.Reset()
	s.hot.invalidateAll()
	for i := range s.x.slots {
		s.x.slots[i].flags &= flagDeleted | flagFree
		s.x.slots[i].have = 0
		s.x.slots[i].ver++
	}
	s.purged.Add(s.live)
}

// cacheSet, cacheSetBig and cacheDel change the cache for the product of
// slot sl and then invalidate the key's hot-tier slots (by id, and by the
// product's slug): every change of stored bytes goes through them.
func (s *Cache) cacheSet(sl *slot, key, val []byte) {
	s.cache.Set(key, val)
	s.invalidateHot(sl, key)
}

func (s *Cache) cacheSetBig(sl *slot, key, val []byte) {
	s.cache.SetBig(key, val)
	s.invalidateHot(sl, key)
}

func (s *Cache) cacheDel(sl *slot, key []byte) {
	s.cache.Del(key)
	s.invalidateHot(sl, key)
}

func (s *Cache) invalidateHot(sl *slot, key []byte) {
	s.hot.invalidate(key)
	s.hot.invalidateSlug(sl.slug)
}
