package pages

import (
	"encoding/binary"
	"hash/maphash"
	"math/rand/v2"
	"sync/atomic"
	"unsafe"
)

// hotTier is a small on-heap tier in front of the off-heap cache for the
// most requested representations. A hit returns immutable bytes the
// response can send without a copy (fasthttp's SetBodyRaw) and costs a
// hash, a few atomic loads and a key compare: no lock, no map, no copy of
// the body out of fastcache. It is two-way set associative: a
// representation may sit in either slot of the set chosen by a seeded hash
// of its key.
//
// Memory layout: a set is one 64-byte cache line (two 32-byte slots; the
// slots array is a power-of-two multiple of 64 bytes, which Go's size
// classes and large-object pages keep 64-byte aligned), and
// each slot carries a tag (the key's hash) next to its entry pointer, so a
// lookup reads the entry of the slot whose tag matches and no other. An
// entry is one buffer: a header with its version and lengths, then its key,
// ETag, surrogate key and body. A hit therefore touches two cache lines
// before the body (the set and the entry's first line, which holds the key
// to compare), where a struct pointing at a separate buffer took a third,
// dependent, miss; on a VM, where each miss may also walk the page tables,
// that is most of a hit's cost beyond the syscalls.
//
// Consistency: every write or delete of a representation in the cache
// bumps the versions of its set's slots after the cache changed
// (invalidate). An entry carries the version its slot had before the
// entry's bytes were read from the cache, and is served only while the
// slot still has that version, so an entry read before a write can never
// be served after it. A snapshot load skips the bump for a key whose slot
// has its have bit clear and no slug (a product new to the store): the
// cache holds no bytes of the key, so no entry can have been read from it.
// Tags are hints: a stale or torn tag costs a miss or a key compare, never
// a wrong answer.
//
// Admission: an empty slot, or one whose entry is stale, takes a new entry
// at once; when both slots hold other live entries, one of them is taken
// over with probability 1/replaceOdds, so keys sharing a set do not
// allocate on every request, and the more requested keys end up holding it.
// An entry is admitted only while the entries the slots point to (live or
// stale: a slot keeps its last entry reachable until it is replaced) stay
// within the byte budget; used counts their buffers' bytes, changed only by
// the puts: each reserves its bytes before it builds its entry and gives
// them back if its compare-and-swap of the slot loses.
type hotTier struct {
	seed     maphash.Seed
	mask     uint64 // of set indexes
	maxBytes int
	budget   int64
	used     atomic.Int64
	slots    []hotSlot // set k is slots[2k], slots[2k+1]
}

type hotSlot struct {
	e   atomic.Pointer[byte] // first byte of the entry's buffer (hotHeader), or nil
	ver atomic.Uint64
	tag atomic.Uint64 // tag of the key of e; 0 for none
	_   uint64        // two slots fill one cache line
}

// Entry buffer layout (little-endian), immutable once published:
//
//	[8] version  [4] len(body)  [2] len(surrogate key)  [2] len(key)  [1] len(etag)
//	key ({variant}{id} or {variant|slugFlag}{slug}), etag, surrogate key, body
const hotHeader = 17

// hotVersions are the versions of a set's slots, read before reading the
// bytes to offer.
type hotVersions [2]uint64

const replaceOdds = 8

// slugFlag marks the key of an entry found by slug: its set is chosen by
// the index's hash of the slug, which the writers of a product know (they
// hold its slot), so they can invalidate it.
const slugFlag = 0x40

// newHotTier returns a tier of at least entries slots (a power of two)
// holding representations of at most maxBytes each and at most budget
// bytes of entries in all; nil when entries or budget is 0 (the tier is
// off).
func newHotTier(entries, maxBytes int, budget int64) *hotTier {
	if entries <= 0 || budget <= 0 {
		return nil
	}
	n := 2
	for n < entries {
		n <<= 1
	}
	return &hotTier{seed: maphash.MakeSeed(), mask: uint64(n/2 - 1), maxBytes: maxBytes, budget: budget,
		slots: make([]hotSlot, n)}
}

// bytes returns the bytes of the entries the slots point to.
func (t *hotTier) bytes() int64 {
	if t == nil {
		return 0
	}
	return t.used.Load()
}

// hashOf returns the hash choosing the set of representation v of id.
func (t *hotTier) hashOf(v Variant, id []byte) uint64 {
	return maphash.Bytes(t.seed, id) ^ (uint64(v)+1)*0x9e3779b97f4a7c15
}

// slugHash returns the hash choosing the set of representation v of the
// product at the slug whose index hash is h.
func slugHash(v Variant, h uint64) uint64 {
	return h ^ ((uint64(v)+1)*0x9e3779b97f4a7c15 + slugFlag)
}

func (t *hotTier) setOf(h uint64) []hotSlot {
	k := (h ^ h>>29) & t.mask
	return t.slots[2*k : 2*k+2 : 2*k+2]
}

// tagOf is the slot tag of a key whose set hash is h: never 0.
func tagOf(h uint64) uint64 { return h | 1 }

// lookup returns the live entry of key {v}{id} (set hash h), and the set's
// versions for an offer on a miss.
func (t *hotTier) lookup(h uint64, v Variant, id []byte) (Entry, hotVersions, bool) {
	set := t.setOf(h)
	tag := tagOf(h)
	var vers hotVersions
	for j := range set {
		sl := &set[j]
		vers[j] = sl.ver.Load()
		if sl.tag.Load() != tag {
			continue
		}
		if e, ok := hotRead(sl.e.Load(), vers[j], v, id); ok {
			return e, vers, true
		}
	}
	return Entry{}, vers, false
}

// hotRead returns the entry in the buffer at p when it has version ver and
// key {v}{id}.
func hotRead(p *byte, ver uint64, v Variant, id []byte) (e Entry, ok bool) {
	if p == nil {
		return e, false
	}
	hd := unsafe.Slice(p, hotHeader)
	if binary.LittleEndian.Uint64(hd) != ver {
		return e, false
	}
	bl := int(binary.LittleEndian.Uint32(hd[8:]))
	sl := int(binary.LittleEndian.Uint16(hd[12:]))
	kl := int(binary.LittleEndian.Uint16(hd[14:]))
	el := int(hd[16])
	b := unsafe.Slice(p, hotHeader+kl+el+sl+bl)[hotHeader:]
	if !keyIs(b[:kl], v, id) {
		return e, false
	}
	b = b[kl:]
	e.ETag = b[:el:el]
	b = b[el:]
	e.SurrogateKey = b[:sl:sl]
	e.Body = b[sl:]
	return e, true
}

// hotKeyIs reports whether the buffer at p has key {v}{id}, whatever its
// version.
func hotKeyIs(p *byte, v Variant, id []byte) bool {
	hd := unsafe.Slice(p, hotHeader)
	kl := int(binary.LittleEndian.Uint16(hd[14:]))
	return keyIs(unsafe.Slice(p, hotHeader+kl)[hotHeader:], v, id)
}

// hotSize returns the length of the buffer at p.
func hotSize(p *byte) int {
	hd := unsafe.Slice(p, hotHeader)
	return hotHeader + int(binary.LittleEndian.Uint32(hd[8:])) + int(binary.LittleEndian.Uint16(hd[12:])) +
		int(binary.LittleEndian.Uint16(hd[14:])) + int(hd[16])
}

// hotVersion returns the version of the buffer at p.
func hotVersion(p *byte) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice(p, 8))
}

// get returns the live entry of representation v of id, if the tier has it.
func (t *hotTier) get(v Variant, id []byte) (Entry, bool) {
	e, _, ok := t.lookup(t.hashOf(v, id), v, id)
	return e, ok
}

// getSlug is get for representation v of the product at slug (hash h). On
// a miss it returns the set's versions, for offerSlug.
func (t *hotTier) getSlug(v Variant, slug []byte, h uint64) (Entry, hotVersions, bool) {
	return t.lookup(slugHash(v, h), v|slugFlag, slug)
}

// versions returns the versions of the set of v and id, to be read before
// reading the representation from the cache and passed to offer.
func (t *hotTier) versions(v Variant, id []byte) hotVersions {
	set := t.setOf(t.hashOf(v, id))
	return hotVersions{set[0].ver.Load(), set[1].ver.Load()}
}

// offer proposes e, read from the cache after vers were read, for the
// tier. It copies e when admitted; e itself is not kept.
func (t *hotTier) offer(v Variant, id []byte, e Entry, vers hotVersions) {
	t.put(t.hashOf(v, id), v, id, e, vers)
}

// offerSlug is offer for representation v of the product at slug (hash h).
func (t *hotTier) offerSlug(v Variant, slug []byte, h uint64, e Entry, vers hotVersions) {
	t.put(slugHash(v, h), v|slugFlag, slug, e, vers)
}

func (t *hotTier) put(h uint64, v Variant, id []byte, e Entry, vers hotVersions) {
	size := len(e.ETag) + len(e.SurrogateKey) + len(e.Body)
	if size > t.maxBytes || len(e.ETag) > 0xff || len(e.SurrogateKey) > 0xffff ||
		1+len(id) > 0xffff || uint64(len(e.Body)) > 0xffffffff {
		return
	}
	set := t.setOf(h)
	var cur [2]*byte
	j := -1
	for k := range set {
		cur[k] = set[k].e.Load()
		if cur[k] == nil || hotVersion(cur[k]) != set[k].ver.Load() {
			if j < 0 {
				j = k // free or stale
			}
			continue
		}
		if hotKeyIs(cur[k], v, id) {
			return // held already
		}
	}
	if j < 0 {
		if rand.Uint32N(replaceOdds) != 0 {
			return
		}
		j = int(rand.Uint32N(2))
	}
	need := int64(hotHeader + 1 + len(id) + size)
	if cur[j] != nil {
		need -= int64(hotSize(cur[j]))
	}
	for { // reserve need bytes, so concurrent puts cannot overrun the budget together
		u := t.used.Load()
		if u+need > t.budget {
			return
		}
		if t.used.CompareAndSwap(u, u+need) {
			break
		}
	}
	buf := make([]byte, hotHeader, hotHeader+1+len(id)+size)
	binary.LittleEndian.PutUint64(buf, vers[j])
	binary.LittleEndian.PutUint32(buf[8:], uint32(len(e.Body)))
	binary.LittleEndian.PutUint16(buf[12:], uint16(len(e.SurrogateKey)))
	binary.LittleEndian.PutUint16(buf[14:], uint16(1+len(id)))
	buf[16] = byte(len(e.ETag))
	buf = append(append(buf, byte(v)), id...)
	buf = append(buf, e.ETag...)
	buf = append(buf, e.SurrogateKey...)
	buf = append(buf, e.Body...)
	if !set[j].e.CompareAndSwap(cur[j], &buf[0]) {
		t.used.Add(-need) // another put replaced it first
		return
	}
	set[j].tag.Store(tagOf(h))
}

// invalidate makes the set of cache key {variant[|bigFlag]}{id} drop
// whatever it holds. Call it after the cache changed for that key.
func (t *hotTier) invalidate(key []byte) {
	if t == nil || len(key) == 0 {
		return
	}
	bump(t.setOf(t.hashOf(Variant(key[0]&^bigFlag), key[1:])))
}

// invalidateSlug drops the entries found by the slug of index hash h (every
// variant). Call it after the slug's product or its bytes changed.
func (t *hotTier) invalidateSlug(h uint64) {
	if t == nil || h == 0 {
		return
	}
	for v := Variant(0); v < numVariants; v++ {
		bump(t.setOf(slugHash(v, h)))
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
