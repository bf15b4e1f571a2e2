package pages

import (
	"bytes"
	"hash/maphash"
	"slices"
	"strings"
)

// slot is the on-heap record kept per known product (or tombstone). It
// holds no pointers, so a million of them cost the garbage collector
// nothing to scan: the id lives in the index's names arena, the slug only
// as its seeded hash, and the maps are keyed by hashes. The rendered bytes
// live off-heap in the cache.
type slot struct {
	// seq is the feed sequence of the state rendered (or deleted).
	seq uint64
	// slug is the seeded hash of the slug (0: none).
	slug uint64
	// pop is the product's popularity: background rendering goes by it.
	pop int64
	// name is the offset in names of the id.
	name uint32
	// tail indexes index.tails: the surrogate keys besides the product key.
	tail uint32
	// gen is the snapshot load that last saw the product.
	gen uint32
	// ver counts the writes of the slot, so a lazy render of an older
	// state (see filler.fill) never overwrites a newer one.
	ver   uint32
	idLen uint16
	flags uint8
	// have has bit v set when variant v may be in the cache (it may have
	// been evicted since), so writes skip deleting what was never stored.
	have uint8
}

const (
	// bits 0..3 of flags: variant v is stored with SetBig
	flagFree    = 1 << 6 // unused slot, on the free list
	flagDeleted = 1 << 7 // tombstone: keeps seq so an older upsert cannot resurrect it
)

// index maps ids and slugs to slots and surrogate keys to their members.
// It is guarded by Cache.mu. Slices returned by id and slug alias the
// append-only names arena: its bytes are never modified, so they stay
// valid (and unchanged) after the lock is released.
//
// Slugs are kept as 64-bit seeded hashes only (a slug averages ~70 bytes,
// a third of the per-product heap): with a per-process random seed, a
// request slug colliding with a product's slug is a ~2^-64 event per
// product and cannot be crafted from outside.
type index struct {
	seed    maphash.Seed
	names   []byte
	slots   []slot
	free    []uint32
	ids     hashTable  // hash(id) → slot
	slugs   hashTable  // hash(slug) → slot
	tails   []string   // tails[0] is ""
	tailKey [][]string // the keys of tails[i]
	tailIdx map[string]uint32
	// members lists per tail the slots that took it; a purge by key
	// visits the tails holding the key (a few thousand distinct tails at
	// most) and checks each member still has that tail, so stale members
	// are harmless.
	members [][]uint32
	// onSlug, when set, is called with the hash of each slug whose slot
	// changed (a slug left a slot, or moved from one slot to another),
	// after the change; not for a slug new to the index.
	onSlug func(h uint64)
}

func newIndex() index {
	return index{seed: maphash.MakeSeed(), tails: []string{""}, tailKey: [][]string{nil},
		tailIdx: map[string]uint32{"": 0}, members: [][]uint32{nil}}
}

// reserve makes room for n more slots holding idBytes more bytes of ids,
// growing in big steps (by half, the hash tables doubling) rather than an
// append at a time: a snapshot load calls it per batch.
func (x *index) reserve(n, idBytes int) {
	if len(x.slots)+n > cap(x.slots) && len(x.free) < n {
		x.slots = slices.Grow(x.slots, max(n, len(x.slots)/2))
	}
	if len(x.names)+idBytes > cap(x.names) {
		x.names = slices.Grow(x.names, max(idBytes, len(x.names)/2))
	}
	x.ids.reserve(x.ids.len() + n)
	x.slugs.reserve(x.slugs.len() + n)
}

func (x *index) id(i uint32) []byte {
	sl := &x.slots[i]
	return x.names[sl.name : sl.name+uint32(sl.idLen) : sl.name+uint32(sl.idLen)]
}

func (x *index) hash(b []byte) uint64 {
	h := maphash.Bytes(x.seed, b)
	if h == 0 {
		h = 1 // 0 means "no slug"
	}
	return h
}

func (x *index) hashString(s string) uint64 {
	h := maphash.String(x.seed, s)
	if h == 0 {
		h = 1
	}
	return h
}

// lookup returns the slot of id (live or tombstone).
func (x *index) lookup(id []byte) (uint32, bool) { return x.lookupHashed(id, x.hash(id)) }

// lookupHashed is lookup for an id whose hash is h.
func (x *index) lookupHashed(id []byte, h uint64) (uint32, bool) {
	i, ok := x.ids.get(h)
	return i, ok && bytes.Equal(x.id(i), id)
}

// bySlug returns the live slot at slug.
func (x *index) bySlug(slug []byte) (uint32, bool) {
	h := x.hash(slug)
	i, ok := x.slugs.get(h)
	return i, ok && x.slots[i].flags&(flagDeleted|flagFree) == 0 && x.slots[i].slug == h
}

// add returns a new slot for id (callers check lookup first).
func (x *index) add(id string) uint32 { return addHashed(x, id, x.hashString(id)) }

// addBytesHashed is add for an id in bytes whose hash is h.
func (x *index) addBytesHashed(id []byte, h uint64) uint32 { return addHashed(x, id, h) }

func addHashed[S string | []byte](x *index, id S, h uint64) uint32 {
	var i uint32
	if n := len(x.free); n > 0 {
		i = x.free[n-1]
		x.free = x.free[:n-1]
	} else {
		i = uint32(len(x.slots))
		x.slots = append(x.slots, slot{})
	}
	// ver carries on across reuse, so a rendering of the slot's previous
	// product is never written into it.
	x.slots[i] = slot{name: uint32(len(x.names)), idLen: uint16(len(id)), ver: x.slots[i].ver + 1}
	x.names = append(x.names, id...)
	x.ids.put(h, i)
	return i
}

// setSlug points slug at slot i ("" unlinks it).
func (x *index) setSlug(i uint32, slug string) {
	var h uint64
	if slug != "" {
		h = x.hashString(slug)
	}
	x.setSlugHash(i, h)
}

// setSlugHash points the slug of hash h at slot i (0 unlinks it).
func (x *index) setSlugHash(i uint32, h uint64) {
	sl := &x.slots[i]
	old := sl.slug
	if old != 0 && old != h {
		if j, ok := x.slugs.get(old); ok && j == i {
			x.slugs.del(old)
		}
	}
	sl.slug = h
	took := false // h pointed at another slot
	if h != 0 {
		j, had := x.slugs.put(h, i)
		took = had && j != i
	}
	if x.onSlug != nil && old != h {
		if old != 0 {
			x.onSlug(old)
		}
		if took {
			x.onSlug(h)
		}
	}
}

// setTail records slot i's surrogate keys besides its product key.
func (x *index) setTail(i uint32, tail string) { x.setTailNum(i, x.tailNum(tail)) }

// tailNum returns the number of tail in tails, adding it if new. Numbers
// stay valid for the index's lifetime: tails are never removed.
func (x *index) tailNum(tail string) uint32 {
	t, ok := x.tailIdx[tail]
	if !ok {
		t = uint32(len(x.tails))
		tail = strings.Clone(tail)
		x.tails = append(x.tails, tail)
		x.tailKey = append(x.tailKey, strings.Fields(tail))
		x.members = append(x.members, nil)
		x.tailIdx[tail] = t
	}
	return t
}

// setTailNum is setTail for the tail numbered t.
func (x *index) setTailNum(i, t uint32) {
	sl := &x.slots[i]
	if sl.tail == t {
		return
	}
	sl.tail = t
	if t != 0 {
		x.members[t] = append(x.members[t], i)
	}
}

// withKey calls fn for each slot whose tail holds surrogate key k, dropping
// stale members on the way.
func (x *index) withKey(k string, fn func(i uint32)) {
	for t := 1; t < len(x.tails); t++ {
		if !slices.Contains(x.tailKey[t], k) {
			continue
		}
		live := x.members[t][:0]
		for _, i := range x.members[t] {
			if x.slots[i].tail == uint32(t) && x.slots[i].flags&flagFree == 0 {
				live = append(live, i)
			}
		}
		slices.Sort(live)
		live = slices.Compact(live) // a slot that left and came back is listed twice
		for _, i := range live {
			fn(i)
		}
		x.members[t] = live
	}
}

// remove frees slot i.
func (x *index) remove(i uint32) {
	h := x.hash(x.id(i))
	if j, ok := x.ids.get(h); ok && j == i {
		x.ids.del(h)
	}
	x.setSlug(i, "")
	x.slots[i] = slot{flags: flagFree, ver: x.slots[i].ver + 1}
	x.free = append(x.free, i)
}

// compact rebuilds the names arena with the live slots' names only.
func (x *index) compact() {
	n := 0
	for i := range x.slots {
		if x.slots[i].flags&flagFree == 0 {
			n += int(x.slots[i].idLen)
		}
	}
	names := make([]byte, 0, n)
	for i := range x.slots {
		sl := &x.slots[i]
		if sl.flags&flagFree != 0 {
			continue
		}
		n := uint32(sl.idLen)
		start := uint32(len(names))
		names = append(names, x.names[sl.name:sl.name+n]...)
		sl.name = start
	}
	x.names = names
}
