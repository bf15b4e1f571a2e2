package pages

import (
	"hash/maphash"
	"math/rand/v2"
	"sync/atomic"
)

// hotTier is a small on-heap tier in front of the off-heap cache for the
// most requested representations. A hit returns immutable bytes the
// response can send without a copy (fasthttp's SetBodyRaw) and costs a
// hash, two atomic loads and a key compare: no lock, no map, no copy of
// the body out of fastcache. It is direct-mapped: a representation has one
// slot, chosen by a seeded hash of its key.
//
// Consistency: every write or delete of a representation in the cache
// bumps its slot's version after the cache changed (invalidate). An entry
// carries the slot version read before its bytes were read from the
// cache, and is served only while the slot still has that version, so an
// entry read before a write can never be served after it.
//
// Admission: an empty slot, or one whose entry is stale, takes a new entry
// at once; a slot holding another live entry is taken over with
// probability 1/replaceOdds, so two keys sharing a slot do not allocate on
// every request, and the more requested key ends up holding it.
type hotTier struct {
	seed     maphash.Seed
	mask     uint64
	maxBytes int
	slots    []hotSlot
}

type hotSlot struct {
	e   atomic.Pointer[hotEntry]
	ver atomic.Uint64
}

// hotEntry is one representation held on-heap. buf holds key and entry
// bytes; nothing in it is ever modified after the entry is published.
type hotEntry struct {
	ver uint64
	key []byte // {variant}{id}
	e   Entry
}

const replaceOdds = 8

// slugFlag marks the key of an entry found by slug ({variant|slugFlag}{slug}):
// its slot is chosen by the index's hash of the slug, which the writers of
// a product know (they hold its slot), so they can invalidate it.
const slugFlag = 0x40

// newHotTier returns a tier of entries slots (rounded up to a power of
// two) holding representations of at most maxBytes each; nil when entries
// is 0 (the tier is off).
func newHotTier(entries, maxBytes int) *hotTier {
	if entries <= 0 {
		return nil
	}
	n := 1
	for n < entries {
		n <<= 1
	}
	return &hotTier{seed: maphash.MakeSeed(), mask: uint64(n - 1), maxBytes: maxBytes, slots: make([]hotSlot, n)}
}

// slot returns the slot of representation v of id.
func (t *hotTier) slot(v Variant, id []byte) *hotSlot {
	h := maphash.Bytes(t.seed, id) ^ (uint64(v)+1)*0x9e3779b97f4a7c15
	return &t.slots[(h^h>>29)&t.mask]
}

// slugSlot returns the slot of representation v of the product at the slug
// whose index hash is h.
func (t *hotTier) slugSlot(v Variant, h uint64) *hotSlot {
	h ^= (uint64(v)+1)*0x9e3779b97f4a7c15 + slugFlag
	return &t.slots[(h^h>>29)&t.mask]
}

// getSlug is get for representation v of the product at slug (hash h). On
// a miss it returns the slot's version, for offerSlug.
func (t *hotTier) getSlug(v Variant, slug []byte, h uint64) (Entry, uint64, bool) {
	sl := t.slugSlot(v, h)
	he := sl.e.Load()
	ver := sl.ver.Load()
	if he == nil || he.ver != ver || !keyIs(he.key, v|slugFlag, slug) {
		return Entry{}, ver, false
	}
	return he.e, ver, true
}

// get returns the live entry of representation v of id, if the tier has it.
func (t *hotTier) get(v Variant, id []byte) (Entry, bool) {
	sl := t.slot(v, id)
	he := sl.e.Load()
	if he == nil || he.ver != sl.ver.Load() || !keyIs(he.key, v, id) {
		return Entry{}, false
	}
	return he.e, true
}

// version returns the version of the slot of v and id, to be read before
// reading the representation from the cache and passed to offer.
func (t *hotTier) version(v Variant, id []byte) uint64 {
	return t.slot(v, id).ver.Load()
}

// offer proposes e, read from the cache when the slot had version ver, for
// the tier. It copies e when admitted; e itself is not kept.
func (t *hotTier) offer(v Variant, id []byte, e Entry, ver uint64) {
	t.put(t.slot(v, id), v, id, e, ver)
}

// offerSlug is offer for representation v of the product at slug (hash h);
// ver is the slot's version read before the slug was looked up.
func (t *hotTier) offerSlug(v Variant, slug []byte, h uint64, e Entry, ver uint64) {
	t.put(t.slugSlot(v, h), v|slugFlag, slug, e, ver)
}

func (t *hotTier) put(sl *hotSlot, v Variant, id []byte, e Entry, ver uint64) {
	size := len(e.ETag) + len(e.SurrogateKey) + len(e.Body)
	if size > t.maxBytes {
		return
	}
	if cur := sl.e.Load(); cur != nil && cur.ver == sl.ver.Load() {
		if keyIs(cur.key, v, id) || rand.Uint32N(replaceOdds) != 0 {
			return
		}
	}
	buf := make([]byte, 0, 1+len(id)+size)
	buf = append(append(buf, byte(v)), id...)
	he := &hotEntry{ver: ver, key: buf[:1+len(id)]}
	buf = append(buf, e.ETag...)
	he.e.ETag = buf[len(buf)-len(e.ETag):]
	buf = append(buf, e.SurrogateKey...)
	he.e.SurrogateKey = buf[len(buf)-len(e.SurrogateKey):]
	buf = append(buf, e.Body...)
	he.e.Body = buf[len(buf)-len(e.Body):]
	sl.e.Store(he)
}

// invalidate makes the slot of cache key {variant[|bigFlag]}{id} drop
// whatever it holds. Call it after the cache changed for that key.
func (t *hotTier) invalidate(key []byte) {
	if t == nil || len(key) == 0 {
		return
	}
	t.slot(Variant(key[0]&^bigFlag), key[1:]).ver.Add(1)
}

// invalidateSlug drops the entries found by the slug of index hash h (every
// variant). Call it after the slug's product or its bytes changed.
func (t *hotTier) invalidateSlug(h uint64) {
	if t == nil || h == 0 {
		return
	}
	for v := Variant(0); v < numVariants; v++ {
		t.slugSlot(v, h).ver.Add(1)
	}
}

// invalidateAll drops every entry. Call it after the cache was reset.
func (t *hotTier) invalidateAll() {
	if t == nil {
		return
	}
	for i := range t.slots {
		t.slots[i].ver.Add(1)
	}
}

func keyIs(key []byte, v Variant, id []byte) bool {
	return len(key) == 1+len(id) && key[0] == byte(v) && string(key[1:]) == string(id)
}
