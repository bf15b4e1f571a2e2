package search

import "hash/maphash"

// idTable maps product ids to ordinals: open addressing (linear probing)
// over ordinal+1, 0 for an empty slot, at most half full. The ids are not
// stored: a probe compares the id in the product's blob. No pointers.
type idTable struct {
	s    []uint32
	n    int
	seed maphash.Seed
}

func newIDTable(n int, seed maphash.Seed) idTable {
	size := 1024
	for size < 2*n {
		size *= 2
	}
	return idTable{s: make([]uint32, size), seed: seed}
}

func (x *index) idHash(id string) int { return int(maphash.String(x.ids.seed, id)) }

// findID returns the ordinal of product id, with the slot holding it.
func (x *index) findID(id string) (o uint32, slot int, ok bool) {
	tb := &x.ids
	mask := len(tb.s) - 1
	for i := x.idHash(id) & mask; ; i = (i + 1) & mask {
		v := tb.s[i]
		if v == 0 {
			return 0, i, false
		}
		if x.idOf(v-1) == id {
			return v - 1, i, true
		}
	}
}

// putID adds id (not in the table) as ordinal o.
func (x *index) putID(id string, o uint32) {
	tb := &x.ids
	if 2*(tb.n+1) > len(tb.s) {
		old := tb.s
		*tb = newIDTable(2*(tb.n+1), tb.seed)
		for _, v := range old {
			if v != 0 {
				x.insertID(x.idOf(v-1), v-1)
			}
		}
	}
	x.insertID(id, o)
}

func (x *index) insertID(id string, o uint32) {
	tb := &x.ids
	mask := len(tb.s) - 1
	i := x.idHash(id) & mask
	for tb.s[i] != 0 {
		i = (i + 1) & mask
	}
	tb.s[i] = o + 1
	tb.n++
}

// deleteID removes the id in slot i, shifting the entries after it back
// so that no probe sequence has a hole.
func (x *index) deleteID(i int) {
	tb := &x.ids
	mask := len(tb.s) - 1
	for j := (i + 1) & mask; tb.s[j] != 0; j = (j + 1) & mask {
		home := x.idHash(x.idOf(tb.s[j]-1)) & mask
		// Move j's entry into the hole at i unless its home lies
		// cyclically in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			tb.s[i] = tb.s[j]
			i = j
		}
	}
	tb.s[i] = 0
	tb.n--
}
