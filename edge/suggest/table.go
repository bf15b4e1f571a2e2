package suggest

import (
	"hash/maphash"
	"unicode/utf8"
	"unsafe"
)

// The index interns terms (distinct normalised words) and prefixes in two
// open-addressing tables of uint32 ids: no Go map keyed by string. A term's
// bytes live once in termArena; a prefix is stored as (term id, byte
// length) of the first term that had it, so prefixes share the terms'
// bytes. The arena is append-only, so strings returned by termStr stay
// valid.

type slots struct {
	s    []uint32 // id+1, 0 = empty
	mask uint32
}

func newSlots(n int) slots {
	size := 1024
	for size < 2*n {
		size *= 2
	}
	return slots{s: make([]uint32, size), mask: uint32(size - 1)}
}

func (x *index) hash(b []byte) uint64 { return maphash.Bytes(x.seed, b) }

func (x *index) termStr(t uint32) string {
	a, b := x.termOff[t], x.termOff[t+1]
	if a == b {
		return ""
	}
	return unsafe.String(&x.termArena[a], int(b-a))
}

func (x *index) pfxStr(p uint32) string { return x.termStr(x.pfxTerm[p])[:x.pfxLen[p]] }

// findTerm returns the id of term w.
func (x *index) findTerm(w []byte, h uint64) (uint32, bool) {
	for i := uint32(h) & x.termSlots.mask; ; i = (i + 1) & x.termSlots.mask {
		v := x.termSlots.s[i]
		if v == 0 {
			return 0, false
		}
		if x.termHash[v-1] == uint32(h>>32) && x.termStr(v-1) == b2s(w) {
			return v - 1, true
		}
	}
}

// findPfx returns the id of prefix p.
func (x *index) findPfx(p []byte) (uint32, bool) {
	h := x.hash(p)
	for i := uint32(h) & x.pfxSlots.mask; ; i = (i + 1) & x.pfxSlots.mask {
		v := x.pfxSlots.s[i]
		if v == 0 {
			return 0, false
		}
		if x.pfxHash[v-1] == uint32(h>>32) && x.pfxStr(v-1) == b2s(p) {
			return v - 1, true
		}
	}
}

// term returns the id of w, adding it (and its prefixes) when new.
func (x *index) term(w []byte) uint32 {
	h := x.hash(w)
	if t, ok := x.findTerm(w, h); ok {
		return t
	}
	t := uint32(len(x.termHash))
	x.termArena = append(x.termArena, w...)
	x.termOff = append(x.termOff, uint32(len(x.termArena)))
	x.termHash = append(x.termHash, uint32(h>>32))
	x.termPost = append(x.termPost, nil)
	x.termCount = append(x.termCount, 0)
	x.insertSlot(&x.termSlots, t, h, len(x.termHash), x.termRehash)
	chars, prev := 0, -1
	for i := 1; i <= len(w) && chars < x.maxPrefix; i++ {
		if i < len(w) && w[i]&0xC0 == 0x80 {
			continue // not at a character boundary
		}
		chars++
		p := x.prefix(w[:i], t, prev)
		x.termPfx = append(x.termPfx, p)
		if bit := kidBit(w[i-1]); prev < 0 {
			x.rootKids |= bit
		} else {
			x.pfxKids[prev] |= bit
		}
		prev = int(p)
	}
	x.termPfxOff = append(x.termPfxOff, uint32(len(x.termPfx)))
	return t
}

// prefix returns the id of prefix p of term t, adding it when new (as the
// child of prefix parent, -1 for none), and records t under it.
func (x *index) prefix(p []byte, t uint32, parent int) uint32 {
	h := x.hash(p)
	for i := uint32(h) & x.pfxSlots.mask; ; i = (i + 1) & x.pfxSlots.mask {
		v := x.pfxSlots.s[i]
		if v == 0 {
			break
		}
		if x.pfxHash[v-1] == uint32(h>>32) && x.pfxStr(v-1) == b2s(p) {
			x.pfxTerms[v-1] = append(x.pfxTerms[v-1], t)
			return v - 1
		}
	}
	id := uint32(len(x.pfxHash))
	x.pfxTerm = append(x.pfxTerm, t)
	x.pfxLen = append(x.pfxLen, uint8(len(p)))
	x.pfxHash = append(x.pfxHash, uint32(h>>32))
	x.pfxList = append(x.pfxList, nil)
	x.pfxCount = append(x.pfxCount, 0)
	x.pfxKids = append(x.pfxKids, 0)
	if x.pfxLo != nil {
		x.pfxLo = append(x.pfxLo, 0)
		x.pfxHi = append(x.pfxHi, 0)
	}
	x.pfxTerms = append(x.pfxTerms, []uint32{t})
	x.insertSlot(&x.pfxSlots, id, h, len(x.pfxHash), x.pfxRehash)
	r, _ := utf8.DecodeLastRune(p)
	x.edges.put(uint32(parent+1), r, id)
	return id
}

func (x *index) insertSlot(s *slots, id uint32, h uint64, n int, rehash func(uint32) uint64) {
	if 2*n > len(s.s) {
		ns := newSlots(n)
		for old := uint32(0); old < id; old++ {
			put(&ns, old, rehash(old))
		}
		*s = ns
	}
	put(s, id, h)
}

func put(s *slots, id uint32, h uint64) {
	i := uint32(h) & s.mask
	for s.s[i] != 0 {
		i = (i + 1) & s.mask
	}
	s.s[i] = id + 1
}

func (x *index) termRehash(t uint32) uint64 { return maphash.String(x.seed, x.termStr(t)) }
func (x *index) pfxRehash(p uint32) uint64  { return maphash.String(x.seed, x.pfxStr(p)) }

// termPrefixes returns the prefix ids of term t, shortest first.
func (x *index) termPrefixes(t uint32) []uint32 {
	a := uint32(0)
	if t > 0 {
		a = x.termPfxOff[t-1]
	}
	return x.termPfx[a:x.termPfxOff[t]]
}

// kidBit returns the bit of c in a children mask: one bit per character of
// typoAlphabet (0 for others, which typo variants never insert).
func kidBit(c byte) uint64 {
	switch {
	case c >= 'a' && c <= 'z':
		return 1 << (c - 'a')
	case c >= '0' && c <= '9':
		return 1 << (26 + c - '0')
	}
	return 0
}

// child returns the prefix one character r longer than node (a prefix id
// + 1, 0 for the empty prefix). The children mask answers most misses
// before the edge table is probed.
func (x *index) child(node uint32, r rune) (uint32, bool) {
	if bit := kidBit(byte(r)); r < 0x80 && bit != 0 {
		kids := x.rootKids
		if node > 0 {
			kids = x.pfxKids[node-1]
		}
		if kids&bit == 0 {
			return 0, false
		}
	}
	return x.edges.child(node, r)
}

// edges is the prefix trie as a table from (parent prefix id + 1, next
// character) to the child prefix id (parent 0 is the empty prefix). Typo
// variants walk it with one integer probe per character and stop at the
// first character no product has, instead of hashing every variant whole.
type edges struct {
	keys []uint64 // parent<<32 | character; 0 = empty
	vals []uint32
	n    int
}

func edgeKey(parent uint32, r rune) uint64 { return uint64(parent)<<32 | uint64(uint32(r)) }

func edgeSlot(k uint64, mask int) int { return int((k*0x9E3779B97F4A7C15)>>32) & mask }

// child returns the prefix one character r longer than parent.
func (e *edges) child(parent uint32, r rune) (uint32, bool) {
	if len(e.keys) == 0 {
		return 0, false
	}
	k, mask := edgeKey(parent, r), len(e.keys)-1
	for i := edgeSlot(k, mask); ; i = (i + 1) & mask {
		switch e.keys[i] {
		case k:
			return e.vals[i], true
		case 0:
			return 0, false
		}
	}
}

// put adds a new edge (the caller never adds one twice).
func (e *edges) put(parent uint32, r rune, child uint32) {
	if 2*(e.n+1) > len(e.keys) {
		old, oldVals := e.keys, e.vals
		size := max(1024, 2*len(old))
		e.keys, e.vals = make([]uint64, size), make([]uint32, size)
		for i, k := range old {
			if k != 0 {
				e.insert(k, oldVals[i])
			}
		}
	}
	e.insert(edgeKey(parent, r), child)
	e.n++
}

func (e *edges) insert(k uint64, v uint32) {
	mask := len(e.keys) - 1
	i := edgeSlot(k, mask)
	for e.keys[i] != 0 {
		i = (i + 1) & mask
	}
	e.keys[i], e.vals[i] = k, v
}
