package pages

import "math/bits"

// hashTable maps nonzero 64-bit hashes to slot numbers. It is an open
// addressing table with linear probing over one flat, pointer-free array:
// the keys are seeded hashes already, so a lookup costs no hashing and
// usually one cache miss, and a million entries cost the garbage
// collector nothing to scan. It is guarded by its owner (Cache.mu for the
// index's tables). The zero value is an empty table.
type hashTable struct {
	e []htEntry // len is 0 or a power of two; h == 0 marks a free entry
	n int       // entries in use
}

type htEntry struct {
	h uint64
	i uint32
}

// maxLoad is the fill (in quarters) past which the table doubles.
const maxLoad = 3

func (t *hashTable) len() int { return t.n }

// get returns the slot of h.
func (t *hashTable) get(h uint64) (uint32, bool) {
	if len(t.e) == 0 {
		return 0, false
	}
	m := uint64(len(t.e) - 1)
	for k := h & m; ; k = (k + 1) & m {
		e := &t.e[k]
		if e.h == h {
			return e.i, true
		}
		if e.h == 0 {
			return 0, false
		}
	}
}

// put maps h (nonzero) to slot i, and returns the slot h mapped to before.
func (t *hashTable) put(h uint64, i uint32) (old uint32, had bool) {
	if (t.n+1)*4 > len(t.e)*maxLoad {
		t.reserve(t.n + 1)
	}
	m := uint64(len(t.e) - 1)
	for k := h & m; ; k = (k + 1) & m {
		e := &t.e[k]
		if e.h == h {
			old, e.i = e.i, i
			return old, true
		}
		if e.h == 0 {
			*e = htEntry{h: h, i: i}
			t.n++
			return 0, false
		}
	}
}

// del removes h. The entries after it in its probe run move back into
// the gap, so lookups never need tombstones.
func (t *hashTable) del(h uint64) {
	if len(t.e) == 0 {
		return
	}
	m := uint64(len(t.e) - 1)
	j := h & m
	for ; t.e[j].h != h; j = (j + 1) & m {
		if t.e[j].h == 0 {
			return
		}
	}
	t.n--
	for k := j; ; {
		t.e[j] = htEntry{}
		for {
			k = (k + 1) & m
			if t.e[k].h == 0 {
				return
			}
			// The entry at k may fill the gap at j unless its home lies
			// cyclically in (j, k].
			if home := t.e[k].h & m; (k-home)&m >= (k-j)&m {
				break
			}
		}
		t.e[j] = t.e[k]
		j = k
	}
}

// reserve makes room for n entries in all without growing again, at least
// doubling when it grows (so a table filled one entry at a time rehashes
// O(log n) times).
func (t *hashTable) reserve(n int) {
	if n*4 <= len(t.e)*maxLoad {
		return
	}
	size := max(16, 2*len(t.e), 1<<bits.Len(uint(n*4/maxLoad)))
	old := t.e
	t.e = make([]htEntry, size)
	m := uint64(size - 1)
	for _, e := range old {
		if e.h == 0 {
			continue
		}
		k := e.h & m
		for t.e[k].h != 0 {
			k = (k + 1) & m
		}
		t.e[k] = e
	}
}
