package embedded

import (
	"bytes"
	"hash/maphash"
	"slices"
)

// writeSet is one Update caller's buffered writes. Keys and values are
// copied into arena chunks, and entries are found by a linear scan while
// there are few of them (most callers write a handful of keys) and through
// a hash index of the key beyond that. Unlike a map[string]entry it
// allocates nothing per key: no string per key on Set and no []byte per key
// when the writes are applied to bbolt.
//
// The committer owns one writeSet per batch transaction and resets it for
// each caller. Slices in it stay valid until the bbolt transaction ends
// (bbolt keeps the slices passed to Put until commit): arena chunks are
// never reused, only dropped.
type writeSet struct {
	ents    []wsEntry
	seed    maphash.Seed
	index   map[uint64]int32 // key hash → newest entry with that hash
	indexed bool             // index holds every entry of ents
	arena   []byte           // the current chunk; full chunks are dropped
}

// wsEntry is one buffered write; del marks a deletion. next chains entries
// whose keys share a hash (-1 ends the chain).
type wsEntry struct {
	k, v []byte
	del  bool
	next int32
}

// wsLinear is how many entries are searched linearly before the hash
// index is built.
const wsLinear = 8

// arenaChunk is the size of a fresh arena chunk.
const arenaChunk = 64 << 10

func newWriteSet() *writeSet {
	return &writeSet{seed: maphash.MakeSeed(), index: make(map[uint64]int32)}
}

// reset empties w for the next caller; the arena keeps its chunk, whose
// earlier slices may still be referenced by the bbolt transaction.
func (w *writeSet) reset() {
	clear(w.ents)
	w.ents = w.ents[:0]
	if w.indexed {
		clear(w.index)
		w.indexed = false
	}
}

func (w *writeSet) len() int { return len(w.ents) }

// copyIn copies b into the arena and returns the copy (capacity capped so
// appends never run into a neighbour).
func (w *writeSet) copyIn(b []byte) []byte {
	if len(b) > cap(w.arena)-len(w.arena) {
		w.arena = make([]byte, 0, max(arenaChunk, len(b)))
	}
	n := len(w.arena)
	w.arena = append(w.arena, b...)
	return w.arena[n:len(w.arena):len(w.arena)]
}

func (w *writeSet) hash(key []byte) uint64 { return maphash.Bytes(w.seed, key) }

// find returns the index of key's entry, or -1.
func (w *writeSet) find(key []byte) int {
	if !w.indexed {
		for i := range w.ents {
			if bytes.Equal(w.ents[i].k, key) {
				return i
			}
		}
		return -1
	}
	i, ok := w.index[w.hash(key)]
	if !ok {
		return -1
	}
	for ; i >= 0; i = w.ents[i].next {
		if bytes.Equal(w.ents[i].k, key) {
			return int(i)
		}
	}
	return -1
}

// put records a write of key (a deletion when del).
func (w *writeSet) put(key, value []byte, del bool) {
	v := []byte{}
	if !del && len(value) > 0 {
		v = w.copyIn(value)
	}
	if i := w.find(key); i >= 0 {
		w.ents[i].v, w.ents[i].del = v, del
		return
	}
	w.ents = append(w.ents, wsEntry{k: w.copyIn(key), v: v, del: del, next: -1})
	switch {
	case w.indexed:
		w.link(len(w.ents) - 1)
	case len(w.ents) > wsLinear:
		for i := range w.ents {
			w.link(i)
		}
		w.indexed = true
	}
}

func (w *writeSet) link(i int) {
	h := w.hash(w.ents[i].k)
	if j, ok := w.index[h]; ok {
		w.ents[i].next = j
	}
	w.index[h] = int32(i)
}

// sorted returns the entries in key order. It reorders w's entries, so the
// index is stale afterwards: call it last, before reset.
func (w *writeSet) sorted() []wsEntry {
	slices.SortFunc(w.ents, func(a, b wsEntry) int { return bytes.Compare(a.k, b.k) })
	if w.indexed {
		clear(w.index)
		w.indexed = false
	}
	return w.ents
}

// inRange returns the entries with keys in [start, end) (nil end: no
// bound), in key order, in a new slice.
func (w *writeSet) inRange(start, end []byte) []wsEntry {
	var own []wsEntry
	for _, e := range w.ents {
		if bytes.Compare(e.k, start) >= 0 && (end == nil || bytes.Compare(e.k, end) < 0) {
			own = append(own, e)
		}
	}
	slices.SortFunc(own, func(a, b wsEntry) int { return bytes.Compare(a.k, b.k) })
	return own
}
