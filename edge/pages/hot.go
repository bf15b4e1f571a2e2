package pages

import (
	"hash/maphash"
	"math/rand/v2"
	"sync/atomic"
)

// hotTier is a small on-heap tier in front of the off-heap cache for the
// most requested representations. A hit returns immutable bytes the
// response can send without a copy (fasthttp's SetBodyRaw) and costs a
// hash, a few atomic loads and a key compare: no lock, no map, no copy of
// the body out of fastcache. It is two-way set associative: a
// representation may sit in either slot of the set chosen by a seeded hash
// of its key.
//
// Consistency: every write or delete of a representation in the cache
// bumps the versions of its set's slots after the cache changed
// (invalidate). An entry carries the version its slot had before the
// entry's bytes were read from the cache, and is served only while the
// slot still has that version, so an entry read before a write can never
// be served after it. A snapshot load skips the bump for a key whose slot
// has its have bit clear and no slug (a product new to the store): the
// cache holds no bytes of the key, so no entry can have been read from it.
//
// Admission: an empty slot, or one whose entry is stale, takes a new entry
// at once; when both slots hold other live entries, one of them is taken
// over with probability 1/replaceOdds, so keys sharing a set do not
// allocate on every request, and the more requested keys end up holding it.
type hotTier struct {
	seed     maphash.Seed
	mask     uint64 // of set indexes
	maxBytes int
	slots    []hotSlot // set k is slots[2k], slots[2k+1]
}

type hotSlot struct {
	e   atomic.Pointer[hotEntry]
	ver atomic.Uint64
}

// hotEntry is one representation held on-heap. Its key and entry bytes
// share one buffer; nothing in it is modified after it is published.
type hotEntry struct {
	ver uint64
	key []byte // {variant}{id} or {variant|slugFlag}{slug}
	e   Entry
}

// hotVersions are the versions of a set's slots, read before reading the
// bytes to offer.
type hotVersions [2]uint64

const replaceOdds = 8

// slugFlag marks the key of an entry found by slug: its set is chosen by
// the index's hash of the slug, which the writers of a product know (they
// hold its slot), so they can invalidate it.
const slugFlag = 0x40

// newHotTier returns a tier of at least entries slots (a power of two)
// holding representations of at most maxBytes each; nil when entries is 0
// (the tier is off).
func newHotTier(entries, maxBytes int) *hotTier {
	if entries <= 0 {
		return nil
	}
	n := 2
	for n < entries {
		n <<= 1
	}
	return &hotTier{seed: maphash.MakeSeed(), mask: uint64(n/2 - 1), maxBytes: maxBytes, slots: make([]hotSlot, n)}
}

// set returns the set of representation v of id.
func (t *hotTier) set(v Variant, id []byte) []hotSlot {
	return t.setOf(maphash.Bytes(t.seed, id) ^ (uint64(v)+1)*0x9e3779b97f4a7c15)
}

// slugSet returns the set of representation v of the product at the slug
// whose index hash is h.
func (t *hotTier) slugSet(v Variant, h uint64) []hotSlot {
	return t.setOf(h ^ ((uint64(v)+1)*0x9e3779b97f4a7c15 + slugFlag))
}

func (t *hotTier) setOf(h uint64) []hotSlot {
	k := (h ^ h>>29) & t.mask
	return t.slots[2*k : 2*k+2 : 2*k+2]
}

// lookup returns the live entry of key {v}{id} in set, and the set's
// versions for an offer on a miss.
func lookup(set []hotSlot, v Variant, id []byte) (Entry, hotVersions, bool) {
	var vers hotVersions
	for j := range set {
		sl := &set[j]
		he := sl.e.Load()
		vers[j] = sl.ver.Load()
		if he != nil && he.ver == vers[j] && keyIs(he.key, v, id) {
			return he.e, vers, true
		}
	}
	return Entry{}, vers, false
}

// get returns the live entry of representation v of id, if the tier has it.
func (t *hotTier) get(v Variant, id []byte) (Entry, bool) {
	e, _, ok := lookup(t.set(v, id), v, id)
	return e, ok
}

// getSlug is get for representation v of the product at slug (hash h). On
// a miss it returns the set's versions, for offerSlug.
func (t *hotTier) getSlug(v Variant, slug []byte, h uint64) (Entry, hotVersions, bool) {
	return lookup(t.slugSet(v, h), v|slugFlag, slug)
}

// versions returns the versions of the set of v and id, to be read before
// reading the representation from the cache and passed to offer.
func (t *hotTier) versions(v Variant, id []byte) hotVersions {
	set := t.set(v, id)
	return hotVersions{set[0].ver.Load(), set[1].ver.Load()}
}

// offer proposes e, read from the cache after vers were read, for the
// tier. It copies e when admitted; e itself is not kept.
func (t *hotTier) offer(v Variant, id []byte, e Entry, vers hotVersions) {
	t.put(t.set(v, id), v, id, e, vers)
}

// offerSlug is offer for representation v of the product at slug (hash h).
func (t *hotTier) offerSlug(v Variant, slug []byte, h uint64, e Entry, vers hotVersions) {
	t.put(t.slugSet(v, h), v|slugFlag, slug, e, vers)
}

func (t *hotTier) put(set []hotSlot, v Variant, id []byte, e Entry, vers hotVersions) {
	size := len(e.ETag) + len(e.SurrogateKey) + len(e.Body)
	if size > t.maxBytes {
		return
	}
	j := -1
	for k := range set {
		cur := set[k].e.Load()
		if cur == nil || cur.ver != set[k].ver.Load() {
			if j < 0 {
				j = k // free or stale
			}
			continue
		}
		if keyIs(cur.key, v, id) {
			return // held already
		}
	}
	if j < 0 {
		if rand.Uint32N(replaceOdds) != 0 {
			return
		}
		j = int(rand.Uint32N(2))
	}
	buf := make([]byte, 0, 1+len(id)+size)
	buf = append(append(buf, byte(v)), id...)
	he := &hotEntry{ver: vers[j], key: buf[:1+len(id)]}
	buf = append(buf, e.ETag...)
	he.e.ETag = buf[len(buf)-len(e.ETag):]
	buf = append(buf, e.SurrogateKey...)
	he.e.SurrogateKey = buf[len(buf)-len(e.SurrogateKey):]
	buf = append(buf, e.Body...)
	he.e.Body = buf[len(buf)-len(e.Body):]
	set[j].e.Store(he)
}

// invalidate makes the set of cache key {variant[|bigFlag]}{id} drop
// whatever it holds. Call it after the cache changed for that key.
func (t *hotTier) invalidate(key []byte) {
	if t == nil || len(key) == 0 {
		return
	}
	bump(t.set(Variant(key[0]&^bigFlag), key[1:]))
}

// invalidateSlug drops the entries found by the slug of index hash h (every
// variant). Call it after the slug's product or its bytes changed.
func (t *hotTier) invalidateSlug(h uint64) {
	if t == nil || h == 0 {
		return
	}
	for v := Variant(0); v < numVariants; v++ {
		bump(t.slugSet(v, h))
	}
}

func bump(set []hotSlot) {
	for j := range set {
		set[j].ver.Add(1)
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
