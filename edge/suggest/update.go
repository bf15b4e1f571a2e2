package suggest

import "slices"

// upsert applies a new state of a product. It reports whether anything an
// answer shows changed. A state not newer than the one held is ignored.
func (x *index) upsert(nr record) bool {
	id := nr.field(fID)
	o, exists := x.ids[id]
	if exists && nr.seq <= x.recs[o].seq {
		return false
	}
	if !exists {
		if s, ok := x.dead[id]; ok && nr.seq <= s {
			return false
		}
	}
	if exists && x.recs[o].sameContent(&nr) {
		x.recs[o].seq = nr.seq
		return false
	}
	nr.terms = x.termsOf(&nr, nil)
	nr.cat = x.category(&nr)
	var oldTerms []uint32
	oldScore := int64(0)
	if exists {
		oldTerms, oldScore = x.recs[o].terms, x.recs[o].score
	} else {
		delete(x.dead, id)
		o = x.newOrdinal()
		x.ids[id] = o
		x.live++
	}
	oldP := x.prefixSet(oldTerms, x.bufA[:0])
	newP := x.prefixSet(nr.terms, x.bufB[:0])
	x.bufA, x.bufB = oldP, newP
	if !slices.Equal(oldTerms, nr.terms) {
		x.typos.clear() // prefix counts and postings change
	}
	for _, t := range diff(oldTerms, nr.terms) {
		x.termPost[t] = removeValue(x.termPost[t], o)
	}
	for _, t := range diff(nr.terms, oldTerms) {
		x.termPost[t] = append(x.termPost[t], o)
	}
	x.recs[o] = nr
	oldMeta := x.meta[o]
	x.meta[o] = x.metaOf(nr.terms, nr.cat)
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
			} else if x.meta[o] != oldMeta {
				x.restamp(oldP[i], o)
			}
			i++
			j++
		}
	}
	return true
}

// remove deletes a product as of sequence seq; it reports whether the
// index changed.
func (x *index) remove(id string, seq uint64) bool {
	o, ok := x.ids[id]
	if !ok {
		if s, had := x.dead[id]; !had || seq > s {
			x.dead[id] = seq
		}
		return false
	}
	if seq <= x.recs[o].seq {
		return false
	}
	terms := x.recs[o].terms
	x.bufA = x.prefixSet(terms, x.bufA[:0])
	x.typos.clear()
	for _, t := range terms {
		x.termPost[t] = removeValue(x.termPost[t], o)
	}
	for _, p := range x.bufA {
		x.leave(p, o)
	}
	x.recs[o] = record{}
	x.meta[o] = meta{}
	x.free = append(x.free, o)
	delete(x.ids, id)
	x.dead[id] = seq
	x.live--
	return true
}

func (x *index) newOrdinal() uint32 {
	if n := len(x.free); n > 0 {
		o := x.free[n-1]
		x.free = x.free[:n-1]
		return o
	}
	x.recs = append(x.recs, record{})
	x.meta = append(x.meta, meta{})
	x.mark = append(x.mark, 0)
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

// restamp copies o's new signatures into p's list entry, if listed.
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
	x.epoch++
	if x.epoch == 0 {
		clear(x.mark)
		x.epoch = 1
	}
	l := x.pfxList[p][:0]
	for _, t := range x.pfxTerms[p] {
		for _, o := range x.termPost[t] {
			if x.mark[o] == x.epoch {
				continue
			}
			x.mark[o] = x.epoch
			if len(l) < x.depth {
				l = x.insertSorted(l, o)
			} else if x.better(o, l[len(l)-1].o) {
				l = x.insertSorted(l, o)
				l = l[:len(l)-1]
			}
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

func removeValue(l []uint32, v uint32) []uint32 {
	for i, e := range l {
		if e == v {
			l[i] = l[len(l)-1]
			return l[:len(l)-1]
		}
	}
	return l
}
