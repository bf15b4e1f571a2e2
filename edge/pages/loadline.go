package pages

import (
	"bytes"
	"encoding/binary"
	"strings"

	"github.com/cespare/xxhash/v2"

	"shopedge/core/api"
)

// A snapshot load stores each product's NDJSON line as its JSON body: the
// core renders the same canonical JSON the edge would (api.Product through
// goccy/go-json), so decoding it again to re-encode it would only cost
// time. The follower's goroutine copies the lines into batches; the load
// workers hash them and store a batch per lock acquisition.

// span is a [start, end) range of a loadBatch's arena.
type span struct{ start, end uint32 }

type loadItem struct {
	line, id, slug span
	tail           string // interned by the loader's tailCache
	pop            int64
}

// loadBatch is a run of snapshot products copied into one arena.
// Batches are recycled by their loader.
type loadBatch struct {
	arena []byte
	items []loadItem
	// indexOnly: the products are indexed without their bytes (the
	// cache was past LoadMaxFill when the batch was handed out).
	indexOnly bool
}

// Batches are cut at loadBatchItems products or loadBatchBytes bytes.
const (
	loadBatchItems = 128
	loadBatchBytes = 256 << 10
)

func (b *loadBatch) reset() {
	b.arena = b.arena[:0]
	b.items = b.items[:0]
}

func (b *loadBatch) full() bool {
	return len(b.items) >= loadBatchItems || len(b.arena) >= loadBatchBytes
}

func (b *loadBatch) put(s []byte) span {
	start := uint32(len(b.arena))
	b.arena = append(b.arena, s...)
	return span{start, uint32(len(b.arena))}
}

func (b *loadBatch) putString(s string) span {
	start := uint32(len(b.arena))
	b.arena = append(b.arena, s...)
	return span{start, uint32(len(b.arena))}
}

func (b *loadBatch) bytes(sp span) []byte { return b.arena[sp.start:sp.end:sp.end] }

func (b *loadBatch) add(p *api.Product, line []byte, tail string) {
	b.items = append(b.items, loadItem{line: b.put(line), id: b.putString(p.ID), slug: b.putString(p.Slug), tail: tail, pop: p.Popularity})
}

// tailCache maps a product's brand and categories to its surrogate tail:
// a catalog has a few thousand distinct combinations, and turning every
// name into a key token for each of a million products dominated a load.
type tailCache struct {
	m   map[string]string
	key []byte
}

// maxTailCache bounds the cache; it starts over when full.
const maxTailCache = 1 << 16

// tail returns the surrogate tail of p (see surrogateTail).
func (c *tailCache) tail(p *api.Product) string {
	k := c.key[:0]
	k = binary.AppendUvarint(k, uint64(len(p.Brand)))
	k = append(k, p.Brand...)
	for _, cat := range p.Categories {
		k = binary.AppendUvarint(k, uint64(len(cat)))
		k = append(k, cat...)
	}
	c.key = k
	t, ok := c.m[string(k)]
	if !ok {
		t = fullTail(p)
		if c.m == nil || len(c.m) >= maxTailCache {
			c.m = make(map[string]string)
		}
		c.m[string(k)] = t
	}
	if len("product-")+len(p.ID)+1+len(t) > maxSurrogateKey {
		return surrogateTail(p) // cut to the header bound for this id
	}
	return t
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
	vals  []byte
	ends  []int
	etags [][18]byte
	key   []byte
	old   []byte
}

// storeBatch stores the products of b as loaded by load gen: the entries
// are built first, then stored under one acquisition of s.mu.
func (s *Store) storeBatch(w *loadWorker, b *loadBatch, gen uint32) {
	w.vals, w.ends, w.etags = w.vals[:0], w.ends[:0], w.etags[:0]
	for k := range b.items {
		it := &b.items[k]
		var e [18]byte
		putETag(&e, b.bytes(it.line))
		w.etags = append(w.etags, e)
		w.vals = append(w.vals, byte(len(e)))
		w.vals = append(w.vals, e[:]...)
		skLen := len("product-") + int(it.id.end-it.id.start)
		if it.tail != "" {
			skLen += 1 + len(it.tail)
		}
		w.vals = binary.BigEndian.AppendUint16(w.vals, uint16(skLen))
		w.vals = append(w.vals, "product-"...)
		w.vals = append(w.vals, b.bytes(it.id)...)
		if it.tail != "" {
			w.vals = append(w.vals, ' ')
			w.vals = append(w.vals, it.tail...)
		}
		w.vals = append(w.vals, b.bytes(it.line)...)
		w.ends = append(w.ends, len(w.vals))
	}
	// Past the budget the products are indexed only (see LoadMaxFill).
	indexOnly := b.indexOnly
	s.mu.Lock()
	defer s.mu.Unlock()
	start := 0
	for k := range b.items {
		val := w.vals[start:w.ends[k]]
		if indexOnly {
			val = nil
		}
		s.storeLoaded(w, b, k, val, gen)
		start = w.ends[k]
	}
	if indexOnly {
		s.loadIndexOnly.Add(len(b.items))
	} else {
		s.renders.Add(len(b.items))
	}
}

// storeLoaded stores item k of b (its cache value val) as loaded by load
// gen; with a nil val the product is indexed without bytes. A product
// whose stored JSON is byte for byte the loaded one keeps its other
// representations: a reload re-renders only what changed. s.mu is held.
func (s *Store) storeLoaded(w *loadWorker, b *loadBatch, k int, val []byte, gen uint32) {
	it := &b.items[k]
	id := b.bytes(it.id)
	w.key = AppendKey(w.key[:0], JSON, id)
	i, ok := s.x.lookup(id)
	if ok {
		sl := &s.x.slots[i]
		if sl.flags&(flagDeleted|flagFree|1<<JSON) == 0 && sl.have&(1<<JSON) != 0 {
			w.old = s.cache.Get(w.old[:0], w.key)
			if e, ok := parseEntry(w.old); ok && bytes.Equal(e.ETag, w.etags[k][:]) && bytes.Equal(e.Body, b.bytes(it.line)) {
				sl.gen = gen
				return
			}
		}
	} else {
		i = s.x.addBytes(id)
		s.x.slots[i].flags = flagDeleted
	}
	sl := &s.x.slots[i]
	sl.ver++
	for v := JSON + 1; v < numVariants; v++ { // only the JSON is loaded
		w.key[0] = byte(v)
		s.delVariant(sl, w.key, v)
		sl.have &^= 1 << v
		sl.flags &^= 1 << v
	}
	w.key[0] = byte(JSON)
	if val == nil {
		s.delVariant(sl, w.key, JSON)
		sl.have &^= 1 << JSON
		sl.flags &^= 1 << JSON
	} else if len(val)+len(w.key) < maxSmall {
		if sl.flags&(1<<JSON) != 0 {
			s.delVariant(sl, w.key, JSON) // was big
		}
		s.cacheSet(sl, w.key, val)
		sl.flags &^= 1 << JSON
	} else {
		if sl.flags&(1<<JSON) == 0 {
			s.delVariant(sl, w.key, JSON) // was small
		}
		w.key[0] |= bigFlag
		s.cacheSetBig(sl, w.key, val)
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
	s.x.setSlugBytes(i, b.bytes(it.slug))
	s.x.setTail(i, it.tail)
}

// putETag writes the strong, quoted ETag of body (see etag) to e.
func putETag(e *[18]byte, body []byte) {
	e[0], e[17] = '"', '"'
	h := xxhash.Sum64(body)
	for i := 0; i < 16; i++ {
		e[1+i] = "0123456789abcdef"[(h>>uint(60-4*i))&0xf]
	}
}
