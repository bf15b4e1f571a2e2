package suggest

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// state is one lookup's scratch space, pooled by the Service so that warm
// lookups allocate nothing.
type state struct {
	q       *Normalizer // the query
	name    *Normalizer // a product name, for highlights
	cons    []constraint
	alts    []alt
	words   []byte // bytes of the alternatives
	runes   []rune
	vbuf    []byte
	hits    []uint32
	cats    []catCount
	catPos  []int32 // per category id: its position in cats + 1, 0 when absent
	key     []byte
	val     []byte
	known   []uint32
	order   []int
	matched []uint64  // ordinal<<32 | category id + 1 of every product matched
	runs    [][]entry // per driver alternative: its matching products, best first
	pos     []int
	batch   []cand
	set     []uint32 // dedupMatched's, all zero between uses
	need    []int    // constraints a candidate's signatures leave undecided
	terms   []uint32 // the candidate's terms
	offs    []uint32
	sink    byte // what prefetch read, kept so that its loads stay
	typo    bool
}

func newState() *state { return &state{q: NewNormalizer(), name: NewNormalizer()} }

// constraint is one query word: a product matches when one of its words
// starts with one of alts (the word itself, or its one-edit variants).
type constraint struct {
	alts   []int // indexes into state.alts
	count  int
	capped bool // the word is longer than the indexed prefix: verify
	typo   bool
}

type alt struct {
	pid        uint32
	start, end int    // in state.words
	chars      int    // characters of the indexed prefix pid
	capped     bool   // the word is longer than pid: compare strings too
	lo, hi     uint32 // the terms of the build with prefix pid
	mask       uint64 // signature bits every matching product has
	mask2      uint64 // the same of sig2
	mask4      uint64 // the same of sig4
	exact      bool   // the mask alone decides a match
}

type catCount struct {
	id    uint32
	count int
}

func (st *state) altWord(a int) []byte { return st.words[st.alts[a].start:st.alts[a].end] }

// lookup finds the best limit products for the normalised query in st.q:
// st.hits (ordinals, best first) and st.cats (categories of every matching
// product seen, most frequent first). The caller holds x.mu.RLock.
func (x *index) lookup(st *state, limit int) {
	st.cons, st.alts, st.words = st.cons[:0], st.alts[:0], st.words[:0]
	st.hits, st.cats, st.typo = st.hits[:0], st.cats[:0], false
	if len(st.q.Words) == 0 {
		return
	}
	for i := range st.q.Words {
		w := st.q.Word(i)
		c := constraint{alts: nil}
		n := capLen(w, x.maxPrefix)
		p, ok := x.findPfx(w[:n])
		count := 0
		if ok && x.pfxCount[p] > 0 {
			count = int(x.pfxCount[p])
			if n < len(w) {
				count = x.cappedCount(p, w)
			}
		}
		if count > 0 {
			c.alts = append(st.nextAlts(), x.addAlt(st, p, w))
			c.count, c.capped = count, n < len(w)
		} else if utf8.RuneCount(w) >= x.cfg.TypoMinChars {
			c = x.typos.constraint(x, st, w)
			if len(c.alts) == 0 {
				return
			}
			st.typo = true
		} else {
			return
		}
		st.cons = append(st.cons, c)
	}
	// Drivers: the most selective word first (exact before typo). When
	// its list is incomplete and yields fewer than limit products, the
	// lists of the other words add theirs ("iphone case": the best iPhones
	// are no cases, but the best cases include iPhone cases).
	st.order = st.order[:0]
	for i := range st.cons {
		st.order = append(st.order, i)
	}
	slices.SortFunc(st.order, func(a, b int) int {
		ca, cb := &st.cons[a], &st.cons[b]
		if ca.typo != cb.typo {
			if ca.typo {
				return 1
			}
			return -1
		}
		if ca.count != cb.count {
			return ca.count - cb.count
		}
		return a - b
	})
	// Every driver alternative's list is filtered into a run of its own,
	// best first, the lists taken in step so that a spent budget leaves
	// each examined to the same depth; the answer merges the runs.
	st.runs = st.runs[:0]
	budget, found := x.cfg.MaxExamined, 0
	for i, d := range st.order {
		c := &st.cons[d]
		base := len(st.runs)
		for range c.alts {
			st.runs = st.nextRun()
		}
		// The lists are examined a batch of steps at a time, so that the
		// records and blobs of the candidates the signatures let through
		// are fetched from memory together rather than one miss after
		// another (see prefetch).
		pos, more := 0, true
		for more && budget > 0 {
			st.batch = st.batch[:0]
			for more && budget > 0 && len(st.batch) < lookupBatch {
				more = false
				for k, a := range c.alts {
					l := x.pfxList[st.alts[a].pid]
					if pos >= len(l) {
						continue
					}
					more = true
					budget--
					st.batch = append(st.batch, cand{e: &l[pos], k: k})
				}
				pos++
			}
			x.prefetch(st, d)
			for _, cd := range st.batch {
				if cd.sig == sigYes || cd.sig == sigUndecided && x.matchesAll(st, cd.e, d) {
					st.runs[base+cd.k] = append(st.runs[base+cd.k], *cd.e)
					found++
				}
			}
		}
		// At most two drivers: each costs a list of checks.
		if i == 1 || found >= limit || budget <= 0 || x.complete(st, c) {
			break
		}
	}
	x.mergeRuns(st, limit)
	st.matched = st.matched[:0]
	for _, r := range st.runs {
		for i := range r {
			st.matched = append(st.matched, uint64(r[i].o)<<32|uint64(r[i].cat))
		}
	}
	if len(st.runs) > 1 {
		st.dedupMatched() // a product found by several runs counts once
	}
	if n := len(x.tx.cats); len(st.catPos) < n {
		st.catPos = make([]int32, n+n/4)
	}
	for _, k := range st.matched {
		if c := uint32(k); c != 0 {
			st.countCat(c - 1)
		}
	}
	for _, c := range st.cats {
		st.catPos[c.id] = 0
	}
	slices.SortFunc(st.cats, func(a, b catCount) int {
		if a.count != b.count {
			return b.count - a.count
		}
		return strings.Compare(x.tx.cats[a.id], x.tx.cats[b.id])
	})
}

// dedupMatched drops repeated products from st.matched (a product's key
// is always the same), with a small open-addressing set of ordinals.
func (st *state) dedupMatched() {
	size := 64
	for size < 2*len(st.matched) {
		size *= 2
	}
	if len(st.set) < size {
		st.set = make([]uint32, size)
	}
	set, mask := st.set[:size], uint64(size-1)
	kept := st.matched[:0]
	for _, k := range st.matched {
		v := uint32(k>>32) + 1
		for h := (uint64(v) * 0x9E3779B97F4A7C15 >> 32) & mask; ; h = (h + 1) & mask {
			if set[h] == v {
				break
			}
			if set[h] == 0 {
				set[h] = v
				kept = append(kept, k)
				break
			}
		}
	}
	st.matched = kept
	clear(set)
}

// complete reports whether c's lists hold every product matching c.
func (x *index) complete(st *state, c *constraint) bool {
	for _, a := range c.alts {
		p := st.alts[a].pid
		if int(x.pfxCount[p]) > len(x.pfxList[p]) {
			return false
		}
	}
	return true
}

// mergeRuns sets st.hits to the best limit distinct products of st.runs:
// a k-way merge that reads the records of the runs' heads only.
func (x *index) mergeRuns(st *state, limit int) {
	if len(st.runs) == 1 {
		for _, e := range st.runs[0][:min(len(st.runs[0]), limit)] {
			st.hits = append(st.hits, e.o)
		}
		return
	}
	st.pos = st.pos[:0]
	for range st.runs {
		st.pos = append(st.pos, 0)
	}
	for len(st.hits) < limit {
		best := -1
		for i, r := range st.runs {
			if st.pos[i] < len(r) && (best < 0 || x.better(r[st.pos[i]].o, st.runs[best][st.pos[best]].o)) {
				best = i
			}
		}
		if best < 0 {
			return
		}
		o := st.runs[best][st.pos[best]].o
		st.pos[best]++
		if n := len(st.hits); n == 0 || st.hits[n-1] != o {
			st.hits = append(st.hits, o)
		}
	}
}

// nextRun returns st.runs with one more, empty run, reusing storage.
func (st *state) nextRun() [][]entry {
	if i := len(st.runs); i < cap(st.runs) {
		return append(st.runs, st.runs[:i+1][i][:0])
	}
	return append(st.runs, nil)
}

// nextAlts returns an empty slice of alternatives backed by the state's
// reusable constraint storage.
func (st *state) nextAlts() []int {
	if i := len(st.cons); i < cap(st.cons) {
		return st.cons[:i+1][i].alts[:0]
	}
	return nil
}

func (x *index) addAlt(st *state, p uint32, w []byte) int {
	start := len(st.words)
	st.words = append(st.words, w...)
	n := capLen(w, x.maxPrefix)
	a := alt{pid: p, start: start, end: len(st.words), chars: utf8.RuneCount(w[:n]), capped: n < len(w)}
	if int(p) < len(x.pfxLo) {
		a.lo, a.hi = x.pfxLo[p], x.pfxHi[p]
	}
	a.mask = kidBit(w[0])
	a.exact = a.chars == 1 && !a.capped && a.mask != 0
	if a.chars >= 2 {
		a.mask2 = sig2Bit(x.termPrefixes(x.pfxTerm[p])[1])
	}
	if a.chars >= 3 {
		a.mask |= sigBit(x.termPrefixes(x.pfxTerm[p])[2])
	}
	if a.chars >= 4 {
		a.mask4 = sig4Bit(x.termPrefixes(x.pfxTerm[p])[3])
	}
	st.alts = append(st.alts, a)
	return len(st.alts) - 1
}

// admits reports whether a product with signatures m may have a term
// starting with a.
func (a *alt) admits(m *meta) bool {
	return m.sig&a.mask == a.mask && m.sig2&a.mask2 == a.mask2 && m.sig4&a.mask4 == a.mask4
}

// countCat counts one product of category id; st.catPos must cover id.
func (st *state) countCat(id uint32) {
	if i := st.catPos[id]; i > 0 {
		st.cats[i-1].count++
		return
	}
	st.cats = append(st.cats, catCount{id: id, count: 1})
	st.catPos[id] = int32(len(st.cats))
}

// lookupBatch is the number of candidates prefetch fetches together.
const lookupBatch = 32

// cand is a candidate of a driver list: the entry and the alternative
// whose list it is in.
type cand struct {
	e   *entry
	k   int
	sig uint8 // sigMatch's outcome
}

// prefetch decides by their signatures the candidates in st.batch it
// can (cand.sig), then reads the record and the first bytes of the blob
// of the others. Each pass over the batch (signatures, records, blobs)
// issues independent loads, so that their memory latencies overlap;
// matchesAll then finds what it reads in cache.
func (x *index) prefetch(st *state, d int) {
	checked := false // a constraint besides the driver's decides
	for i := range st.cons {
		checked = checked || i != d || st.cons[i].capped
	}
	if !checked {
		for i := range st.batch {
			st.batch[i].sig = sigYes
		}
		return
	}
	sum := uint64(0)
	for _, cd := range st.batch {
		sum += x.meta[cd.e.o].sig
	}
	st.offs = st.offs[:0]
	for i := range st.batch {
		cd := &st.batch[i]
		cd.sig = x.sigMatch(st, cd.e, d)
		if cd.sig == sigUndecided {
			st.offs = append(st.offs, cd.e.o)
		}
	}
	if len(st.offs) >= 2 {
		for i, o := range st.offs {
			st.offs[i] = x.recs[o].off
		}
		blobs := x.tx.blobs
		for _, off := range st.offs {
			sum += uint64(blobs[off])
		}
	}
	st.sink += byte(sum)
}

// Outcomes of sigMatch.
const (
	sigNo        = iota // a constraint's signatures rule the product out
	sigYes              // the signatures decide every constraint
	sigUndecided        // the terms must be read
)

// sigAdmits reports whether the signatures m may satisfy constraint c
// (maybe), and whether that is then certain (exact).
func (st *state) sigAdmits(c *constraint, m *meta) (maybe, exact bool) {
	for _, ai := range c.alts {
		if a := &st.alts[ai]; a.admits(m) {
			maybe = true
			exact = exact || a.exact
		}
	}
	return maybe, exact
}

// sigMatch checks e against the constraints by its signatures alone.
func (x *index) sigMatch(st *state, e *entry, d int) uint8 {
	m := &x.meta[e.o]
	out := uint8(sigYes)
	for i := range st.cons {
		c := &st.cons[i]
		if i == d && !c.capped {
			continue
		}
		maybe, exact := st.sigAdmits(c, m)
		if !maybe {
			return sigNo
		}
		if !exact {
			out = sigUndecided
		}
	}
	return out
}

// matchesAll reports whether product o satisfies every constraint; the
// driver d needs checking only when its word was capped.
func (x *index) matchesAll(st *state, e *entry, d int) bool {
	// The signatures first, for every constraint: most candidates fail
	// there, without reading their terms.
	m := &x.meta[e.o]
	st.need = st.need[:0]
	for i := range st.cons {
		c := &st.cons[i]
		if i == d && !c.capped {
			continue
		}
		maybe, exact := st.sigAdmits(c, m)
		if !maybe {
			return false
		}
		if !exact {
			st.need = append(st.need, i)
		}
	}
	if len(st.need) == 0 {
		return true
	}
	if len(st.need) == 1 && len(st.cons[st.need[0]].alts) <= maxTypoAlts+1 {
		return x.matchesEnc(st, readBlobTerms(x.tx.blobs, x.recs[e.o].off), m, &st.cons[st.need[0]])
	}
	st.terms = x.terms(e.o, st.terms[:0])
	for _, i := range st.need {
		if !x.matches(st, m, &st.cons[i]) {
			return false
		}
	}
	return true
}

// matches reports whether one of the product's terms (st.terms) starts
// with one of c's alternatives whose signatures it has. Whether a term
// has a prefix takes integer compares, no string reads: a term of the
// build is in the alternative's range of terms, a later one has it among
// its prefixes.
func (x *index) matches(st *state, m *meta, c *constraint) bool {
	for _, ai := range c.alts {
		a := &st.alts[ai]
		if !a.admits(m) {
			continue
		}
		for _, t := range st.terms {
			if t < x.sortedTerms {
				if t < a.lo || t >= a.hi {
					continue
				}
			} else if tp := x.termPrefixes(t); len(tp) < a.chars || tp[a.chars-1] != a.pid {
				continue
			}
			if !a.capped || strings.HasPrefix(x.termStr(t), b2s(st.altWord(ai))) {
				return true
			}
		}
	}
	return false
}

// matchesEnc is matches over the encoded terms of a product, decoded one
// at a time until one matches; c has at most maxTypoAlts+1 alternatives.
func (x *index) matchesEnc(st *state, enc []byte, m *meta, c *constraint) bool {
	var admit [maxTypoAlts + 1]*alt
	var words [maxTypoAlts + 1]int
	n := 0
	for _, ai := range c.alts {
		if a := &st.alts[ai]; a.admits(m) {
			admit[n], words[n] = a, ai
			n++
		}
	}
	t := uint32(0)
	for i := 0; i < len(enc); {
		var d uint32
		d, i = nextDelta(enc, i)
		t += d
		for k, a := range admit[:n] {
			if t < x.sortedTerms {
				if t < a.lo || t >= a.hi {
					continue
				}
			} else if tp := x.termPrefixes(t); len(tp) < a.chars || tp[a.chars-1] != a.pid {
				continue
			}
			if !a.capped || strings.HasPrefix(x.termStr(t), b2s(st.altWord(words[k]))) {
				return true
			}
		}
	}
	return false
}

// cappedCount returns how many products have a term starting with w, a
// word longer than its indexed prefix p (at most: a product with two such
// terms counts twice). Only the terms under p are read.
func (x *index) cappedCount(p uint32, w []byte) int {
	n := 0
	for _, t := range x.pfxTerms[p] {
		if strings.HasPrefix(x.termStr(t), b2s(w)) {
			n += int(x.termCount[t])
		}
	}
	return n
}
