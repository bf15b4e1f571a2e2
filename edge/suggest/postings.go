package suggest

import "slices"

// Postings: termPost[t] lists the ordinals of the live products with term
// t, ascending, as uvarint deltas (the first from 0), and termCount[t]
// counts them. Dense terms (brands, categories) take about a byte per
// product, rare ones two or three.

// postIter walks one term's postings.
type postIter struct {
	b []byte
	i int
	o uint32
}

func (x *index) postings(t uint32) postIter { return postIter{b: x.termPost[t]} }

// next advances to the next ordinal (it.o); false at the end.
func (it *postIter) next() bool {
	if it.i >= len(it.b) {
		return false
	}
	c := it.b[it.i]
	it.i++
	v := uint32(c & 0x7f)
	for s := 7; c >= 0x80; s += 7 {
		c = it.b[it.i]
		it.i++
		v |= uint32(c&0x7f) << s
	}
	it.o += v
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

// decodePostings appends term t's ordinals to dst.
func (x *index) decodePostings(t uint32, dst []uint32) []uint32 {
	for it := x.postings(t); it.next(); {
		dst = append(dst, it.o)
	}
	return dst
}

// addPosting adds product o to term t's postings.
func (x *index) addPosting(t, o uint32) {
	ords := x.decodePostings(t, x.bufPost[:0])
	i, found := slices.BinarySearch(ords, o)
	if !found {
		ords = slices.Insert(ords, i, o)
		x.setPostings(t, ords)
	}
	x.bufPost = ords
}

// removePosting takes product o out of term t's postings.
func (x *index) removePosting(t, o uint32) {
	ords := x.decodePostings(t, x.bufPost[:0])
	if i, found := slices.BinarySearch(ords, o); found {
		ords = slices.Delete(ords, i, i+1)
		x.setPostings(t, ords)
	}
	x.bufPost = ords
}

// setPostings re-encodes term t's postings, in place when they fit.
func (x *index) setPostings(t uint32, ords []uint32) {
	b := x.termPost[t][:0]
	if n := postingsLen(ords); n > cap(b) {
		b = make([]byte, 0, n+n/4)
	}
	x.termPost[t] = appendPostings(b, ords)
	x.termCount[t] = uint32(len(ords))
}

func postingsLen(ords []uint32) int {
	n, prev := 0, uint32(0)
	for _, o := range ords {
		n += uvarintLen(uint64(o - prev))
		prev = o
	}
	return n
}
