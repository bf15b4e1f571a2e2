package suggest

import (
	"slices"
	"strings"
)

// upsert applies p, a product's state at sequence seq. It reports
// whether anything an answer shows changed. A state not newer than the
// one held is ignored.
func (x *index) upsert(p *product, seq uint64) bool {
	id := p.text[fID]
	o, _, exists := x.findID(id)
	if exists && seq <= x.recs[o].seq {
		return false
	}
	if !exists {
		if s, ok := x.dead[id]; ok && seq <= s {
			return false
		}
	}
	sameText := false
	var oldBlob blob
	if exists {
		r := &x.recs[o]
		oldBlob = x.tx.blob(r)
		sameText = x.tx.sameText(r, &oldBlob, p)
		if sameText && r.price == p.price && r.has() == p.has && r.score == p.score {
			r.seq = seq
			return false
		}
	}
	newTerms := x.termsOf(p, x.termB[:0])
	x.termB = newTerms
	var oldTerms []uint32
	oldScore, oldCat := int64(0), uint32(0)
	var nr record
	if exists {
		old := &x.recs[o]
		oldTerms = decodeTerms(oldBlob.terms, x.termC[:0])
		x.termC = oldTerms
		oldScore, oldCat = old.score, old.cat
		if sameText {
			nr = *old
			nr.price, nr.score, nr.seq = p.price, p.score, seq
			nr.flags &^= recHas
			if p.has {
				nr.flags |= recHas
			}
		} else {
			x.tx.garbage += oldBlob.size
			nr = x.tx.record(p, seq, newTerms, true)
		}
		x.recs[o] = nr
	} else {
		delete(x.dead, id)
		nr = x.tx.record(p, seq, newTerms, true)
		o = x.newOrdinal()
		x.recs[o] = nr
		x.putID(id, o)
		x.live++
	}
	oldP := x.prefixSet(oldTerms, x.bufA[:0])
	newP := x.prefixSet(newTerms, x.bufB[:0])
	x.bufA, x.bufB = oldP, newP
	if !slices.Equal(oldTerms, newTerms) {
		x.typos.clear() // prefix counts and postings change
	}
	for _, t := range diff(oldTerms, newTerms) {
		x.removePosting(t, o)
	}
	for _, t := range diff(newTerms, oldTerms) {
		x.addPosting(t, o)
	}
	x.meta[o] = x.metaOf(newTerms)
	i, j := 0, 0
	for i < len(oldP) || j < len(newP) {
		switch {
		case j == len(newP) || i < len(oldP) && oldP[i] < newP[j]:
			x.leave(oldP[i], o)
			i++
		case i == len(oldP) || newP[j] < oldP[i]:
			x.pfxCount[newP[j]]++
			x.enter(newP[j], o)
			j++
		default:
			if nr.score != oldScore {
				x.reposition(oldP[i], o)
			} else if nr.cat != oldCat {
				x.restamp(oldP[i], o)
			}
			i++
			j++
		}
	}
	x.compactTexts()
	return true
}

// remove deletes a product as of sequence seq; it reports whether the
// index changed.
func (x *index) remove(id string, seq uint64) bool {
	o, slot, ok := x.findID(id)
	if !ok {
		if s, had := x.dead[id]; !had || seq > s {
			x.dead[id] = seq
		}
		return false
	}
	if seq <= x.recs[o].seq {
		return false
	}
	terms := x.terms(o, x.termC[:0])
	x.termC = terms
	x.bufA = x.prefixSet(terms, x.bufA[:0])
	x.typos.clear()
	for _, t := range terms {
		x.removePosting(t, o)
	}
	for _, p := range x.bufA {
		x.leave(p, o)
	}
	id = strings.Clone(id)
	x.tx.garbage += x.tx.blob(&x.recs[o]).size
	x.deleteID(slot)
	x.recs[o] = record{}
	x.meta[o] = meta{}
	x.free = append(x.free, o)
	x.dead[id] = seq
	x.live--
	x.compactTexts()
	return true
}

// compactTexts copies the live blobs into a new arena when garbage is
// over a third of the old one (and at least compactMin): replaced and deleted
// products cost memory only until then. Strings already taken from the
// old arena stay valid.
func (x *index) compactTexts() {
	tx := x.tx
	if tx.garbage == 0 || tx.garbage < x.compactMin || 3*tx.garbage < len(tx.blobs) {
		return
	}
	arena := make([]byte, 0, len(tx.blobs)-tx.garbage+len(tx.blobs)/8)
	for o := range x.recs {
		r := &x.recs[o]
		if !r.live() {
			continue
		}
		b := tx.blob(r)
		off := len(arena)
		arena = append(arena, tx.blobs[r.off:r.off+uint32(b.size)]...)
		r.off = uint32(off)
	}
	tx.blobs, tx.garbage = arena, 0
	tx.compactions++
}

func (x *index) newOrdinal() uint32 {
	if n := len(x.free); n > 0 {
		o := x.free[n-1]
		x.free = x.free[:n-1]
		return o
	}
	x.recs = append(x.recs, record{})
	x.meta = append(x.meta, meta{})
	if len(x.recs) > 64*len(x.seen) {
		x.seen = append(x.seen, 0)
	}
	return uint32(len(x.recs) - 1)
}

// prefixSet returns the distinct prefix ids of terms, ascending.
func (x *index) prefixSet(terms []uint32, dst []uint32) []uint32 {
	for _, t := range terms {
		dst = append(dst, x.termPrefixes(t)...)
	}
	slices.Sort(dst)
	return slices.Compact(dst)
}

// leave takes product o out of prefix p (its postings are already gone).
func (x *index) leave(p, o uint32) {
	x.pfxCount[p]--
	l := x.pfxList[p]
	i := indexOf(l, o)
	if i < 0 {
		return // below the list: the list stays exact
	}
	l = slices.Delete(l, i, i+1)
	x.pfxList[p] = l
	if int(x.pfxCount[p]) > len(l) {
		x.refill(p)
	}
}

// enter offers product o, newly counted under p, to p's list.
func (x *index) enter(p, o uint32) {
	l := x.pfxList[p]
	if len(l) < x.depth {
		x.pfxList[p] = x.insertSorted(l, o)
		return
	}
	if x.better(o, l[len(l)-1].o) {
		l = x.insertSorted(l, o)
		x.pfxList[p] = l[:len(l)-1]
	}
}

// reposition moves product o within p's list after its score changed.
func (x *index) reposition(p, o uint32) {
	l := x.pfxList[p]
	i := indexOf(l, o)
	if i < 0 {
		x.enter(p, o)
		return
	}
	l = slices.Delete(l, i, i+1)
	outside := int(x.pfxCount[p]) - 1 - len(l)
	if outside == 0 || len(l) > 0 && x.better(o, l[len(l)-1].o) {
		x.pfxList[p] = x.insertSorted(l, o)
		return
	}
	x.pfxList[p] = l
	x.refill(p)
}

// restamp copies o's new category into p's list entry, if listed.
func (x *index) restamp(p, o uint32) {
	if i := indexOf(x.pfxList[p], o); i >= 0 {
		x.pfxList[p][i] = x.entryOf(o)
	}
}

func (x *index) insertSorted(l []entry, o uint32) []entry {
	i, _ := slices.BinarySearchFunc(l, o, func(e entry, t uint32) int {
		if x.better(e.o, t) {
			return -1
		}
		return 1
	})
	return slices.Insert(l, i, x.entryOf(o))
}

func indexOf(l []entry, o uint32) int {
	for i := range l {
		if l[i].o == o {
			return i
		}
	}
	return -1
}

// refill recomputes p's list from the postings of p's terms. It costs a
// pass over every product under p; it runs only when a listed product
// leaves or drops below a product outside the list.
func (x *index) refill(p uint32) {
	l := x.pfxList[p][:0]
	for _, t := range x.pfxTerms[p] {
		for it := x.postings(t); it.next(); {
			o := it.o
			if x.seen[o>>6]&(1<<(o&63)) != 0 {
				continue
			}
			x.seen[o>>6] |= 1 << (o & 63)
			if len(l) < x.depth {
				l = x.insertSorted(l, o)
			} else if x.better(o, l[len(l)-1].o) {
				l = x.insertSorted(l, o)
				l = l[:len(l)-1]
			}
		}
	}
	for _, t := range x.pfxTerms[p] {
		for it := x.postings(t); it.next(); {
			x.seen[it.o>>6] &^= 1 << (it.o & 63)
		}
	}
	x.pfxList[p] = l
}

// diff returns the elements of a (sorted) not in b (sorted).
func diff(a, b []uint32) []uint32 {
	var out []uint32
	j := 0
	for _, v := range a {
		for j < len(b) && b[j] < v {
			j++
		}
		if j == len(b) || b[j] != v {
			out = append(out, v)
		}
	}
	return out
}
