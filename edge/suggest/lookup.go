package suggest

import (
	"bytes"
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
	out     []byte
	hl      [][2]int
	known   []uint32
	order   []int
	matched []uint64  // ordinal<<32 | category id + 1 of every product matched
	runs    [][]entry // per driver alternative: its matching products, best first
	pos     []int
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
	mask       uint64 // signature bits every matching product has
	mask2      uint64 // the same of sig2
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
		for pos := 0; budget > 0; pos++ {
			more := false
			for k, a := range c.alts {
				l := x.pfxList[st.alts[a].pid]
				if pos >= len(l) {
					continue
				}
				more = true
				budget--
				if e := &l[pos]; x.matchesAll(st, e, d) {
					st.runs[base+k] = append(st.runs[base+k], *e)
					found++
				}
			}
			if !more {
				break
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
		slices.Sort(st.matched) // by ordinal: a product's key is always the same
		st.matched = slices.Compact(st.matched)
	}
	if n := len(x.cats); len(st.catPos) < n {
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
		return strings.Compare(x.cats[a.id], x.cats[b.id])
	})
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
	a.mask = kidBit(w[0])
	a.exact = a.chars == 1 && !a.capped && a.mask != 0
	if a.chars >= 2 {
		a.mask2 = sig2Bit(x.termPrefixes(x.pfxTerm[p])[1])
	}
	if a.chars >= 3 {
		a.mask |= sigBit(x.termPrefixes(x.pfxTerm[p])[2])
	}
	st.alts = append(st.alts, a)
	return len(st.alts) - 1
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

// matchesAll reports whether product o satisfies every constraint; the
// driver d needs checking only when its word was capped.
func (x *index) matchesAll(st *state, e *entry, d int) bool {
	for i := range st.cons {
		c := &st.cons[i]
		if i == d && !c.capped {
			continue
		}
		if !x.matches(st, e, c) {
			return false
		}
	}
	return true
}

// Whether a term has a prefix takes integer compares (hasPrefix), no
// string reads.
func (x *index) matches(st *state, e *entry, c *constraint) bool {
	sig, sig2 := e.sigs()
	maybe := false
	for _, ai := range c.alts {
		if a := &st.alts[ai]; sig&a.mask == a.mask && sig2&a.mask2 == a.mask2 {
			if a.exact {
				return true
			}
			maybe = true
		}
	}
	if !maybe {
		return false
	}
	for _, t := range x.recs[e.o].terms {
		for _, ai := range c.alts {
			a := &st.alts[ai]
			if !x.hasPrefix(t, a.pid, a.chars) {
				continue
			}
			if !a.capped || strings.HasPrefix(x.termStr(t), b2s(st.altWord(ai))) {
				return true
			}
		}
	}
	return false
}

const typoAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// typoConstraint collects the one-edit variants of w (deletion,
// transposition, substitution, insertion) that are indexed prefixes. Each
// variant walks the prefix trie from the longest known prefix before its
// edit, one integer probe per character, and is dropped at its first
// character no live product has: the bytes of a variant are built only
// for the few that exist.
func (x *index) typoConstraint(st *state, w []byte) constraint {
	c := constraint{alts: st.nextAlts(), typo: true}
	st.runes = st.runes[:0]
	for _, r := range string(w) {
		st.runes = append(st.runes, r)
	}
	rs := st.runes
	// A variant keeps the characters before its edit, so the edit must
	// fall within the longest indexed prefix of w (or just after it), and
	// a substituted or inserted character must extend that prefix.
	known := x.knownPrefixes(st, w)
	last := min(len(known)-1, len(rs)-1)
	for i := 0; i <= last; i++ {
		kids := x.rootKids
		if i > 0 {
			kids = x.pfxKids[known[i]]
		}
		x.tryVariant(st, &c, i, 0, 0, i+1) // deletion
		if i+1 < len(rs) && rs[i] != rs[i+1] {
			x.tryVariant(st, &c, i, rs[i+1], rs[i], i+2) // transposition
		}
		if i == 0 {
			// The first character is taken as typed (deletions and
			// transpositions aside): first-letter typos are rare and
			// would cost 72 probes per word.
			continue
		}
		for k, a := range typoAlphabet {
			if kids&(1<<k) == 0 {
				continue
			}
			if a != rs[i] {
				x.tryVariant(st, &c, i, a, 0, i+1) // substitution
			}
			x.tryVariant(st, &c, i, a, 0, i) // insertion
		}
	}
	if last == len(rs)-1 && len(known) > len(rs) {
		for k, a := range typoAlphabet {
			if x.pfxKids[known[len(rs)]]&(1<<k) != 0 {
				x.tryVariant(st, &c, len(rs), a, 0, len(rs))
			}
		}
	}
	if len(rs) > x.maxPrefix && len(known) == x.maxPrefix+1 {
		x.longTypos(st, &c, known[x.maxPrefix], w)
	}
	x.sumAlts(st, &c)
	return c
}

// sumAlts sets the count and the capped flag of a typo constraint from
// its alternatives.
func (x *index) sumAlts(st *state, c *constraint) {
	for _, a := range c.alts {
		w := st.altWord(a)
		c.count += int(x.pfxCount[st.alts[a].pid])
		c.capped = c.capped || capLen(w, x.maxPrefix) < len(w)
	}
}

// tryVariant adds to c the variant rs[:i] + e1 + e2 + rs[j:] of the query
// word in st.runes (e1, e2 are 0 when absent) when it is an indexed prefix
// with live products.
func (x *index) tryVariant(st *state, c *constraint, i int, e1, e2 rune, j int) {
	rs := st.runes
	node, chars := uint32(0), i // node is a prefix id + 1, 0 the empty prefix
	if i > 0 {
		node = st.known[i] + 1
	}
	step := func(r rune) bool {
		if chars == x.maxPrefix {
			return true
		}
		p, ok := x.child(node, r)
		if !ok {
			return false
		}
		node, chars = p+1, chars+1
		return true
	}
	if e1 != 0 && !step(e1) || e2 != 0 && !step(e2) {
		return
	}
	for k := j; k < len(rs) && chars < x.maxPrefix; k++ {
		if !step(rs[k]) {
			return
		}
	}
	if node == 0 || x.pfxCount[node-1] == 0 {
		return // an empty variant, or one no live product has
	}
	p := node - 1
	v := st.vbuf[:0]
	for _, r := range rs[:i] {
		v = utf8.AppendRune(v, r)
	}
	for _, r := range [2]rune{e1, e2} {
		if r != 0 {
			v = utf8.AppendRune(v, r)
		}
	}
	for _, r := range rs[j:] {
		v = utf8.AppendRune(v, r)
	}
	st.vbuf = v
	x.offerAlt(st, c, p, v)
}

// offerAlt adds the correction v (its capped prefix is p) to the typo
// constraint c, unless c has it or already holds maxTypoAlts better ones.
func (x *index) offerAlt(st *state, c *constraint, p uint32, v []byte) {
	for _, a := range c.alts {
		if bytes.Equal(st.altWord(a), v) {
			return
		}
	}
	if len(c.alts) < maxTypoAlts {
		c.alts = append(c.alts, x.addAlt(st, p, v))
		return
	}
	// Keep the corrections most products agree with: a short word has
	// many one-edit neighbours, and each costs list merges and checks.
	worst := 0
	for i := range c.alts {
		if x.altBefore(st, c.alts[worst], c.alts[i]) {
			worst = i
		}
	}
	a := x.addAlt(st, p, v)
	if x.altBefore(st, a, c.alts[worst]) {
		c.alts[worst] = a
	}
}

// cappedCount returns how many products have a term starting with w, a
// word longer than its indexed prefix p (at most: a product with two such
// terms counts twice). Only the terms under p are read.
func (x *index) cappedCount(p uint32, w []byte) int {
	n := 0
	for _, t := range x.pfxTerms[p] {
		if strings.HasPrefix(x.termStr(t), b2s(w)) {
			n += len(x.termPost[t])
		}
	}
	return n
}

// maxLongTerms bounds the terms longTypos compares.
const maxLongTerms = 512

// longTypos offers the corrections of w, a word longer than the indexed
// prefix p it starts with, whose edit falls past that prefix: the
// beginnings of terms under p within one byte edit of w (the walk of
// typoConstraint covers edits inside the prefix).
func (x *index) longTypos(st *state, c *constraint, p uint32, w []byte) {
	for i, t := range x.pfxTerms[p] {
		if i == maxLongTerms {
			return
		}
		if len(x.termPost[t]) == 0 {
			continue
		}
		s := x.termStr(t)
		for k := len(w) - 1; k <= len(w)+1 && k <= len(s); k++ {
			if k < len(s) && s[k]&0xC0 == 0x80 || !oneEdit(s[:k], b2s(w)) {
				continue
			}
			v := s2b(s[:k])
			if vp, ok := x.findPfx(v[:capLen(v, x.maxPrefix)]); ok && x.pfxCount[vp] > 0 {
				x.offerAlt(st, c, vp, v)
			}
		}
	}
}

// oneEdit reports whether a and b differ by exactly one deletion,
// insertion, substitution or transposition of adjacent bytes.
func oneEdit(a, b string) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	i := 0
	for i < len(b) && a[i] == b[i] {
		i++
	}
	switch len(a) - len(b) {
	case 0:
		if i == len(a) {
			return false
		}
		return a[i+1:] == b[i+1:] || i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case 1:
		return a[i+1:] == b[i:]
	}
	return false
}

// knownPrefixes returns in st.known the prefix ids of w's leading
// characters that are indexed with products: known[k] is the prefix of k
// characters (known[0] stands for the empty prefix).
func (x *index) knownPrefixes(st *state, w []byte) []uint32 {
	st.known = append(st.known[:0], 0)
	node := uint32(0)
	for _, r := range b2s(w) {
		if len(st.known) > x.maxPrefix {
			break
		}
		p, ok := x.child(node, r)
		if !ok || x.pfxCount[p] == 0 {
			break
		}
		st.known = append(st.known, p)
		node = p + 1
	}
	return st.known
}

// altBefore reports whether correction a is preferred to b: more
// products, then the smaller word.
func (x *index) altBefore(st *state, a, b int) bool {
	ca, cb := x.pfxCount[st.alts[a].pid], x.pfxCount[st.alts[b].pid]
	if ca != cb {
		return ca > cb
	}
	return bytes.Compare(st.altWord(a), st.altWord(b)) < 0
}

// maxTypoAlts bounds the corrections tried for one word.
const maxTypoAlts = 4
