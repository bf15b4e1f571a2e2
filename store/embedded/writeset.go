package embedded

import (
	"bytes"
	"hash/maphash"
	"slices"
)

// writeSet is a set of buffered writes: one Update caller's, or a whole
// batch's. Keys and values live in arena chunks, and entries are found by
// a linear scan while there are few of them (most callers write a handful
// of keys) and through a hash index of the key beyond that. Unlike a
// map[string]entry it allocates nothing per key: no string per key on Set
// and no []byte per key when the writes are applied to bbolt.
//
// The committer owns the write sets; see batch.go for their lifetimes.
// Slices in them stay valid as long as anything references them (bbolt
// keeps the slices passed to Put until commit): arena chunks are never
// reused, only dropped.
type writeSet struct {
	ents    []wsEntry
	seed    maphash.Seed
	index   map[uint64]int32 // key hash → newest entry with that hash
	indexed bool             // index holds every entry of ents
	arena   *arena
	own     int // entries not inherited
}

// arena hands out immutable copies; the write sets of a committer share one,
// so merging a caller's writes into its batch copies no bytes.
type arena struct{ cur []byte } // the current chunk; full chunks are dropped

// wsEntry is one buffered write; del marks a deletion. next chains entries
// whose keys share a hash (-1 ends the chain). An inherited entry is a
// write of the previous batch, not yet committed when this batch started:
// it is read, never written again.
type wsEntry struct {
	k, v      []byte
	del       bool
	inherited bool
	next      int32
}

// wsLinear is how many entries are searched linearly before the hash
// index is built.
const wsLinear = 8

// arenaChunk is the size of a fresh arena chunk.
const arenaChunk = 64 << 10

func newWriteSet(a *arena) *writeSet {
	return &writeSet{seed: maphash.MakeSeed(), index: make(map[uint64]int32), arena: a}
}

// reset empties w; the arena keeps its chunk, whose earlier slices may
// still be referenced elsewhere.
func (w *writeSet) reset() {
	clear(w.ents)
	w.ents, w.own = w.ents[:0], 0
	if w.indexed {
		clear(w.index)
		w.indexed = false
	}
}

func (w *writeSet) len() int { return len(w.ents) }

// copyIn copies b into the arena and returns the copy (capacity capped so
// appends never run into a neighbour).
func (w *writeSet) copyIn(b []byte) []byte { return w.arena.copyIn(b) }

func (a *arena) copyIn(b []byte) []byte {
	if len(b) > cap(a.cur)-len(a.cur) {
		a.cur = make([]byte, 0, max(arenaChunk, len(b)))
	}
	n := len(a.cur)
	a.cur = append(a.cur, b...)
	return a.cur[n:len(a.cur):len(a.cur)]
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

// put records a write of key (a deletion when del), copying both.
func (w *writeSet) put(key, value []byte, del bool) {
	v := []byte{}
	if !del && len(value) > 0 {
		v = w.copyIn(value)
	}
	w.putOwned(key, v, del, false, true)
}

// merge adds the entries of from (sharing w's arena) to w, newer than w's
// own: a caller's writes joining its batch. Nothing is copied.
func (w *writeSet) merge(from *writeSet) {
	for _, e := range from.ents {
		w.putOwned(e.k, e.v, e.del, false, false)
	}
}

// inherit adds from's own entries to w as inherited ones: the writes of a
// batch still being committed, for the next batch to read.
func (w *writeSet) inherit(from *writeSet) {
	for _, e := range from.ents {
		if !e.inherited {
			w.putOwned(e.k, e.v, e.del, true, false)
		}
	}
}

// putOwned records a write whose slices are already owned by the arena;
// copyKey copies the key of a new entry.
func (w *writeSet) putOwned(key, v []byte, del, inherited, copyKey bool) {
	if i := w.find(key); i >= 0 {
		e := &w.ents[i]
		if e.inherited && !inherited {
			w.own++
		}
		e.v, e.del, e.inherited = v, del, e.inherited && inherited
		return
	}
	if copyKey {
		key = w.copyIn(key)
	}
	if !inherited {
		w.own++
	}
	w.ents = append(w.ents, wsEntry{k: key, v: v, del: del, inherited: inherited, next: -1})
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

// sortedOwn returns the entries that are not inherited, in key order, in
// buf (reused).
func (w *writeSet) sortedOwn(buf []wsEntry) []wsEntry {
	buf = buf[:0]
	for _, e := range w.ents {
		if !e.inherited {
			buf = append(buf, e)
		}
	}
	slices.SortFunc(buf, func(a, b wsEntry) int { return bytes.Compare(a.k, b.k) })
	return buf
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
