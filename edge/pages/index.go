package pages

import (
	"bytes"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// slot is the on-heap record kept per known product (or tombstone). It
// holds no pointers, so a million of them cost the garbage collector
// nothing to scan: the id and slug live in the index's names arena and the
// maps are keyed by their hashes. The rendered bytes live off-heap in the
// cache.
type slot struct {
	// seq is the feed sequence of the state rendered (or deleted).
	seq uint64
	// name is the offset in names of the id, followed by the slug.
	name    uint32
	idLen   uint16
	slugLen uint16
	// tail indexes index.tails: the surrogate keys besides the product key.
	tail uint32
	// gen is the snapshot load that last saw the product.
	gen uint32
	// ver counts the writes of the slot, so a lazy render of an older
	// state (see Fill) never overwrites a newer one.
	ver   uint32
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
// It is guarded by Store.mu. Slices returned by id and slug alias the
// append-only names arena: its bytes are never modified, so they stay
// valid (and unchanged) after the lock is released.
type index struct {
	names   []byte
	slots   []slot
	free    []uint32
	ids     map[uint64]uint32 // xxhash(id) → slot
	slugs   map[uint64]uint32 // xxhash(slug) → slot
	tails   []string          // tails[0] is ""
	tailIdx map[string]uint32
	// keys maps category and brand keys to the slots that carried them;
	// members are checked against the slot's tail on purge, so stale
	// members are harmless.
	keys map[string][]uint32
}

func newIndex() index {
	return index{ids: make(map[uint64]uint32), slugs: make(map[uint64]uint32), tails: []string{""},
		tailIdx: map[string]uint32{"": 0}, keys: make(map[string][]uint32)}
}

func (x *index) id(i uint32) []byte {
	sl := &x.slots[i]
	return x.names[sl.name : sl.name+uint32(sl.idLen) : sl.name+uint32(sl.idLen)]
}

func (x *index) slug(i uint32) []byte {
	sl := &x.slots[i]
	start := sl.name + uint32(sl.idLen)
	return x.names[start : start+uint32(sl.slugLen) : start+uint32(sl.slugLen)]
}

// lookup returns the slot of id (live or tombstone).
func (x *index) lookup(id []byte) (uint32, bool) {
	i, ok := x.ids[xxhash.Sum64(id)]
	return i, ok && bytes.Equal(x.id(i), id)
}

// bySlug returns the live slot at slug.
func (x *index) bySlug(slug []byte) (uint32, bool) {
	i, ok := x.slugs[xxhash.Sum64(slug)]
	return i, ok && x.slots[i].flags&(flagDeleted|flagFree) == 0 && bytes.Equal(x.slug(i), slug)
}

// add returns a new slot for id (callers check lookup first).
func (x *index) add(id string) uint32 {
	var i uint32
	if n := len(x.free); n > 0 {
		i = x.free[n-1]
		x.free = x.free[:n-1]
	} else {
		i = uint32(len(x.slots))
		x.slots = append(x.slots, slot{})
	}
	x.slots[i] = slot{name: uint32(len(x.names)), idLen: uint16(len(id))}
	x.names = append(x.names, id...)
	x.ids[xxhash.Sum64String(id)] = i
	return i
}

// setSlug points slug at slot i ("" unlinks it). A changed slug is
// appended with a copy of the id; the arena is never written in place.
func (x *index) setSlug(i uint32, slug string) {
	old := x.slug(i)
	if string(old) == slug {
		if slug != "" {
			x.slugs[xxhash.Sum64String(slug)] = i
		}
		return
	}
	if len(old) > 0 {
		if h := xxhash.Sum64(old); x.slugs[h] == i {
			delete(x.slugs, h)
		}
	}
	if len(slug) > 0xffff {
		slug = "" // not addressable; slugs in requests are at most 128 bytes
	}
	sl := &x.slots[i]
	id := x.id(i)
	start := uint32(len(x.names))
	x.names = append(x.names, id...)
	x.names = append(x.names, slug...)
	sl.name, sl.slugLen = start, uint16(len(slug))
	if slug != "" {
		x.slugs[xxhash.Sum64String(slug)] = i
	}
}

// setTail records slot i's surrogate keys besides its product key.
func (x *index) setTail(i uint32, tail string) {
	t, ok := x.tailIdx[tail]
	if !ok {
		t = uint32(len(x.tails))
		tail = strings.Clone(tail)
		x.tails = append(x.tails, tail)
		x.tailIdx[tail] = t
	}
	sl := &x.slots[i]
	if sl.tail == t {
		return
	}
	sl.tail = t
	for _, k := range strings.Fields(x.tails[t]) {
		x.keys[k] = append(x.keys[k], i)
	}
}

// remove frees slot i.
func (x *index) remove(i uint32) {
	if h := xxhash.Sum64(x.id(i)); x.ids[h] == i {
		delete(x.ids, h)
	}
	x.setSlug(i, "")
	x.slots[i] = slot{flags: flagFree}
	x.free = append(x.free, i)
}

// compact rebuilds the names arena with the live slots' names only.
func (x *index) compact() {
	names := make([]byte, 0, len(x.names)/2+64)
	for i := range x.slots {
		sl := &x.slots[i]
		if sl.flags&flagFree != 0 {
			continue
		}
		n := uint32(sl.idLen) + uint32(sl.slugLen)
		start := uint32(len(names))
		names = append(names, x.names[sl.name:sl.name+n]...)
		sl.name = start
	}
	x.names = names
}
