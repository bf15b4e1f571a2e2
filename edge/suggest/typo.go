package suggest

import (
	"bytes"
	"unicode/utf8"
)

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
		if x.termCount[t] == 0 {
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
