package suggest

import "slices"

// Postings: the products of term t, termCount[t] of them, are
// termPost[t] — ordinals ascending, as uvarint deltas (the first from 0),
// as the build wrote them or the last merge — less termDelta[t].del plus
// termDelta[t].add. Dense terms (brands, categories) take about a byte per
// product, rare ones two or three. The change feed adds and removes
// products in the small delta; a delta grown past a share of its term's
// products is merged into the encoded list, so an event costs in
// proportion to the delta, not to the term.

// postDelta is a term's changes since its postings were encoded.
type postDelta struct {
	add []uint32 // ordinals added, in no order
	del []uint32 // ordinals of the encoded list removed, ascending
}

// postIter walks one term's postings: the encoded list less the removed
// ordinals, ascending, then the added ones.
type postIter struct {
	b     []byte
	i     int
	o     uint32
	del   []uint32
	add   []uint32
	added bool // walking add
}

func (x *index) postings(t uint32) postIter {
	it := postIter{b: x.termPost[t]}
	if len(x.termDelta) > 0 {
		if d := x.termDelta[t]; d != nil {
			it.del, it.add = d.del, d.add
		}
	}
	return it
}

// next advances to the next ordinal (it.o); false at the end.
func (it *postIter) next() bool {
	for !it.added && it.i < len(it.b) {
		c := it.b[it.i]
		it.i++
		v := uint32(c & 0x7f)
		for s := 7; c >= 0x80; s += 7 {
			c = it.b[it.i]
			it.i++
			v |= uint32(c&0x7f) << s
		}
		it.o += v
		for len(it.del) > 0 && it.del[0] < it.o {
			it.del = it.del[1:]
		}
		if len(it.del) > 0 && it.del[0] == it.o {
			it.del = it.del[1:]
			continue
		}
		return true
	}
	it.added = true
	if len(it.add) == 0 {
		return false
	}
	it.o, it.add = it.add[0], it.add[1:]
	return true
}

// appendPostings encodes ordinals (ascending) onto dst.
func appendPostings(dst []byte, ords []uint32) []byte {
	prev := uint32(0)
	for _, o := range ords {
		d := o - prev
		for d >= 0x80 {
			dst = append(dst, byte(d)|0x80)
			d >>= 7
		}
		dst = append(dst, byte(d))
		prev = o
	}
	return dst
}

// decodePostings appends term t's ordinals, ascending, to dst.
func (x *index) decodePostings(t uint32, dst []uint32) []uint32 {
	start := len(dst)
	for it := x.postings(t); it.next(); {
		dst = append(dst, it.o)
	}
	slices.Sort(dst[start:])
	return dst
}

func (x *index) delta(t uint32) *postDelta {
	d := x.termDelta[t]
	if d == nil {
		d = &postDelta{}
		x.termDelta[t] = d
	}
	return d
}

// addPosting adds product o, which does not have term t, to t's postings.
func (x *index) addPosting(t, o uint32) {
	x.termCount[t]++
	d := x.delta(t)
	if i, found := slices.BinarySearch(d.del, o); found {
		d.del = slices.Delete(d.del, i, i+1) // back in the encoded list
	} else {
		d.add = append(d.add, o)
	}
	x.mergePostings(t, d)
}

// removePosting takes product o, which has term t, out of t's postings.
func (x *index) removePosting(t, o uint32) {
	x.termCount[t]--
	d := x.delta(t)
	if i := slices.Index(d.add, o); i >= 0 {
		d.add[i] = d.add[len(d.add)-1]
		d.add = d.add[:len(d.add)-1]
	} else {
		i, _ := slices.BinarySearch(d.del, o)
		d.del = slices.Insert(d.del, i, o)
	}
	x.mergePostings(t, d)
}

// mergePostings re-encodes term t's postings with its delta d once d
// holds more than x.deltaMin + 1/8 of the term's products.
func (x *index) mergePostings(t uint32, d *postDelta) {
	if len(d.add)+len(d.del) == 0 {
		delete(x.termDelta, t)
		return
	}
	if len(d.add)+len(d.del) <= x.deltaMin+int(x.termCount[t])/8 {
		return
	}
	ords := x.decodePostings(t, x.bufPost[:0])
	x.bufPost = ords
	delete(x.termDelta, t)
	b := x.termPost[t][:0]
	if n := postingsLen(ords); n > cap(b) {
		b = make([]byte, 0, n+n/4)
	}
	x.termPost[t] = appendPostings(b, ords)
}

func postingsLen(ords []uint32) int {
	n, prev := 0, uint32(0)
	for _, o := range ords {
		n += uvarintLen(uint64(o - prev))
		prev = o
	}
	return n
}
