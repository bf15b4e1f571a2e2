package pages

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"slices"
	"strings"

	"shopedge/core/api"
	"shopedge/edge/storefront/theme"
)

// A snapshot load stores each product's NDJSON line as its JSON body: the
// core renders the same canonical JSON the edge would (api.Product through
// goccy/go-json), so decoding it again to re-encode it would only cost
// time. The follower's goroutine (LoadLine) finds each product's surrogate
// tail and writes its cache key, slug and cache value (the line with its
// surrogate key, ETag left blank) into a batch; prep workers hash the ids
// and slugs and fill in the ETags in parallel, then one store goroutine
// stores the batches in load order, a batch per lock acquisition, where
// only the index changes and the cache writes are left: the line is
// copied once into the batch and once into the cache.

// span is a [start, end) range of a loadBatch's arena.
type span struct{ start, end uint32 }

type loadItem struct {
	// key is the JSON cache key {JSON}{id}; val the cache value, whose
	// body (the line) starts at body.
	key, val, slug span
	body           uint32
	// idHash and slugHash are the index's hashes of the id and the slug
	// (0: no slug), set by the load worker.
	idHash, slugHash uint64
	tail             *tailRef
	pop              int64
}

// loadBatch is a run of snapshot products copied into one arena.
// Batches are recycled by their loader.
type loadBatch struct {
	arena []byte
	items []loadItem
	// indexOnly: the products are indexed without their bytes (the
	// cache was past LoadMaxFill when the batch was handed out).
	indexOnly bool
	// prepared receives a value once prepBatch is done with the batch.
	prepared chan struct{}
}

// Batches are cut at loadBatchItems products or loadBatchBytes bytes.
const (
	loadBatchItems = 128
	loadBatchBytes = 256 << 10
)

func (b *loadBatch) reset() {
	if cap(b.arena) < loadBatchBytes+loadBatchBytes/4 {
		b.arena = make([]byte, 0, loadBatchBytes+loadBatchBytes/4)
	}
	b.arena = b.arena[:0]
	b.items = b.items[:0]
}

func (b *loadBatch) full() bool {
	return len(b.items) >= loadBatchItems || len(b.arena) >= loadBatchBytes
}

func (b *loadBatch) bytes(sp span) []byte { return b.arena[sp.start:sp.end:sp.end] }

// etagLen is the length of the quoted ETags putETag writes.
const etagLen = theme.ETagLen

// add appends product p with its line and its tail: the key, the slug,
// then the value in the cache's layout (see appendEntry) with a blank
// ETag for the load worker to fill in.
func (b *loadBatch) add(p *api.Product, line []byte, t *tailRef) {
	a := b.arena
	ss := len(a)
	a = append(a, p.Slug...)
	ks := len(a)
	a = append(a, byte(JSON))
	a = append(a, p.ID...)
	vs := len(a)
	skLen := len("product-") + len(p.ID)
	if t.tail != "" {
		skLen += 1 + len(t.tail)
	}
	a = append(a, etagLen)
	a = append(a, make([]byte, etagLen)...)
	a = binary.BigEndian.AppendUint16(a, uint16(skLen))
	a = appendSurrogateKey(a, p.ID, t.tail)
	bs := len(a)
	a = append(a, line...)
	b.arena = a
	b.items = append(b.items, loadItem{key: span{uint32(ks), uint32(vs)}, val: span{uint32(vs), uint32(len(a))},
		slug: span{uint32(ss), uint32(ks)}, body: uint32(bs), tail: t, pop: p.Popularity})
}

// tailRef is a surrogate tail as the loader found it, with its number in
// the index once a load worker resolved it (under Cache.mu), so products
// sharing the tail skip the index's string lookup.
type tailRef struct {
	tail string
	num  uint32 // 0: not resolved yet (or the empty tail)
	// brand and categories are the names the tail was made of (in a
	// tailCache); they share one string.
	brand      string
	categories []string
}

// num returns the index number of r's tail. s.mu is held.
func (r *tailRef) numIn(x *index) uint32 {
	if r.num == 0 && r.tail != "" {
		r.num = x.tailNum(r.tail)
	}
	return r.num
}

// tailCache maps a product's brand and categories to its surrogate tail:
// a catalog has a few thousand distinct combinations, and turning every
// name into a key token for each of a million products dominated a load.
// It is keyed by a seeded hash of the names (each entry keeps them, so a
// hash collision is told apart) and belongs to one load.
type tailCache struct {
	seed maphash.Seed
	m    map[uint64]*tailRef
}

// maxTailCache bounds the cache; it starts over when full.
const maxTailCache = 1 << 16

// tail returns the surrogate tail of p (see surrogateTail).
func (c *tailCache) tail(p *api.Product) string { return c.ref(p).tail }

// ref returns the surrogate tail of p (see surrogateTail) as a tailRef.
func (c *tailCache) ref(p *api.Product) *tailRef {
	if c.m == nil || len(c.m) >= maxTailCache {
		if c.m == nil {
			c.seed = maphash.MakeSeed()
		}
		c.m = make(map[uint64]*tailRef)
	}
	h := c.hash(p)
	t, ok := c.m[h]
	if !ok {
		t = &tailRef{tail: fullTail(p)}
		t.setNames(p)
		c.m[h] = t
	} else if t.brand != p.Brand || !slices.Equal(t.categories, p.Categories) {
		t = &tailRef{tail: fullTail(p)} // another product's names (a 2^-64 event)
	}
	if len("product-")+len(p.ID)+1+len(t.tail) > maxSurrogateKey {
		return &tailRef{tail: surrogateTail(p)} // cut to the header bound for this id
	}
	return t
}

// hash returns the cache's hash of p's brand and categories: each name's
// hash is mixed in at its position, so neither the order nor the split
// between the names can be confused (short of a 2^-64 collision, which
// ref tells apart).
func (c *tailCache) hash(p *api.Product) uint64 {
	h := maphash.String(c.seed, p.Brand)
	for _, cat := range p.Categories {
		h = (h ^ maphash.String(c.seed, cat)) * 0x9e3779b97f4a7c15
	}
	return h ^ uint64(len(p.Categories))
}

// setNames copies p's brand and categories to t, in one string.
func (t *tailRef) setNames(p *api.Product) {
	n := len(p.Brand)
	for _, cat := range p.Categories {
		n += len(cat)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(p.Brand)
	for _, cat := range p.Categories {
		b.WriteString(cat)
	}
	all := b.String()
	t.brand, all = all[:len(p.Brand)], all[len(p.Brand):]
	t.categories = make([]string, len(p.Categories))
	for i, cat := range p.Categories {
		t.categories[i], all = all[:len(cat)], all[len(cat):]
	}
}

// fullTail is surrogateTail without the header bound.
func fullTail(p *api.Product) string {
	keys := make([]string, 0, 1+len(p.Categories))
	for _, c := range p.Categories {
		keys = append(keys, api.CategoryKey(c))
	}
	if p.Brand != "" {
		keys = append(keys, api.BrandKey(p.Brand))
	}
	return strings.Join(keys, " ")
}

// loadWorker holds one load worker's reusable buffers.
type loadWorker struct {
	old []byte
}

// storeBatch stores the products of b, prepared, as loaded by load gen
// under one acquisition of s.mu.
func (s *Cache) storeBatch(w *loadWorker, b *loadBatch, gen uint32) {
	ids := 0
	for k := range b.items {
		ids += int(b.items[k].key.end-b.items[k].key.start) - 1
	}
	// Past the budget the products are indexed only (see LoadMaxFill).
	indexOnly := b.indexOnly
	s.mu.Lock()
	defer s.mu.Unlock()
	s.x.reserve(len(b.items), ids)
	for k := range b.items {
		s.storeLoaded(w, b, &b.items[k], indexOnly, gen)
	}
	if indexOnly {
		s.loadIndexOnly.Add(len(b.items))
	} else {
		s.renders.Add(len(b.items))
	}
}

// storeLoaded stores item it of b as loaded by load gen; with indexOnly
// the product is indexed without bytes. A product whose stored JSON is
// byte for byte the loaded one keeps its other representations: a reload
// re-renders only what changed. s.mu is held.
func (s *Cache) storeLoaded(w *loadWorker, b *loadBatch, it *loadItem, indexOnly bool, gen uint32) {
	key := b.bytes(it.key) // its variant byte is changed below: the batch is the store goroutine's
	id := key[1:]
	var val []byte
	if !indexOnly {
		val = b.bytes(it.val)
	}
	i, ok := s.x.lookupHashed(id, it.idHash)
	if ok {
		sl := &s.x.slots[i]
		if sl.flags&(flagDeleted|flagFree|1<<JSON) == 0 && sl.have&(1<<JSON) != 0 {
			w.old = s.cache.Get(w.old[:0], key)
			v := b.bytes(it.val)
			if e, ok := parseEntry(w.old); ok && bytes.Equal(e.ETag, v[1:1+etagLen]) && bytes.Equal(e.Body, b.arena[it.body:it.val.end]) {
				sl.gen = gen
				return
			}
		}
		for v := JSON + 1; v < numVariants; v++ { // only the JSON is loaded
			key[0] = byte(v)
			s.delVariant(sl, key, v)
			sl.have &^= 1 << v
			sl.flags &^= 1 << v
		}
		key[0] = byte(JSON)
	} else {
		// A new slot has nothing stored, and its slug is set below.
		i = s.x.addBytesHashed(id, it.idHash)
		s.x.slots[i].flags = flagDeleted
	}
	sl := &s.x.slots[i]
	sl.ver++
	switch {
	case val == nil:
		s.delVariant(sl, key, JSON)
		sl.have &^= 1 << JSON
		sl.flags &^= 1 << JSON
	case len(val)+len(key) < maxSmall:
		if sl.flags&(1<<JSON) != 0 {
			s.delVariant(sl, key, JSON) // was big
		}
		if sl.have&(1<<JSON) == 0 && sl.slug == 0 {
			// Nothing of the key is in the cache, so no request can
			// hold bytes of it to invalidate (see hotTier).
			s.cache.Set(key, val)
		} else {
			s.cacheSet(sl, key, val)
		}
		sl.flags &^= 1 << JSON
	default:
		if sl.flags&(1<<JSON) == 0 {
			s.delVariant(sl, key, JSON) // was small
		}
		key[0] |= bigFlag
		s.cacheSetBig(sl, key, val)
		key[0] &^= bigFlag
		sl.flags |= 1 << JSON
	}
	if val != nil {
		sl.have |= 1 << JSON
	}
	if sl.flags&flagDeleted != 0 {
		s.live++
	}
	sl.flags &^= flagDeleted
	sl.pop = it.pop
	sl.gen = gen
	s.x.setSlugHash(i, it.slugHash)
	s.x.setTailNum(i, it.tail.numIn(&s.x))
}

// putETag writes the strong, quoted ETag of body (theme.ETag) to e.
func putETag(e *[etagLen]byte, body []byte) { theme.AppendETag(e[:0], body) }
