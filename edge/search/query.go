package search

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/RoaringBitmap/roaring/v2"
)

// Matching a query word (DESIGN.md "Search"): a product matches word w
// when one of its words t (of any field) is
//
//   - equal to w or shares a stem with it (see stems), or, for the last
//     word of the query, starts with w;
//   - only when no live term of the catalog matches w that way and w has
//     TypoMinChars characters or more: one edit away from w (for the last
//     word: starts with a string one edit away from w).
//
// Every word of the query must match.

// matchWord appends to dst the live terms matching query word w and
// reports whether they are corrections.
func (x *index) matchWord(w string, last bool, dst []uint32) ([]uint32, bool) {
	start := len(dst)
	var st [4]string
	for _, s := range stems(st[:0], w) {
		for _, t := range x.stemIx[s] {
			if x.terms[t].df > 0 {
				dst = append(dst, t)
			}
		}
	}
	if last {
		lo, hi := x.prefixRange(w)
		for _, t := range x.sorted[lo:hi] {
			if x.terms[t].df > 0 {
				dst = append(dst, t)
			}
		}
	}
	if len(dst) > start {
		slices.Sort(dst[start:])
		return append(dst[:start], slices.Compact(dst[start:])...), false
	}
	if utf8.RuneCountInString(w) < x.cfg.TypoMinChars {
		return dst, false
	}
	dst = x.typos(w, last, dst)
	slices.Sort(dst[start:])
	return append(dst[:start], slices.Compact(dst[start:])...), true
}

// prefixRange returns the range of x.sorted of the terms starting with p.
func (x *index) prefixRange(p string) (int, int) {
	lo, _ := slices.BinarySearchFunc(x.sorted, p, func(t uint32, p string) int { return strings.Compare(x.terms[t].s, p) })
	hi := lo
	for hi < len(x.sorted) && strings.HasPrefix(x.terms[x.sorted[hi]].s, p) {
		hi++
		if hi-lo == 64 {
			// A long range: find its end by binary search.
			n, _ := slices.BinarySearchFunc(x.sorted[hi:], p, func(t uint32, p string) int {
				if strings.HasPrefix(x.terms[t].s, p) {
					return -1
				}
				return strings.Compare(x.terms[t].s, p)
			})
			hi += n
			break
		}
	}
	return lo, hi
}

// typos appends the live terms one edit away from w (last: starting with
// a string one edit away from w). The edits are tried over the
// characters of the catalog's terms, and only where the characters
// before them start some term.
func (x *index) typos(w string, last bool, dst []uint32) []uint32 {
	rs := []rune(w)
	// known: how many leading characters of w start some term.
	known := 0
	for k := 1; k <= len(rs); k++ {
		if lo, hi := x.prefixRange(string(rs[:k])); lo == hi {
			break
		}
		known = k
	}
	var v []rune
	try := func() {
		s := string(v)
		if !last {
			if t, ok := x.termIDs[s]; ok && x.terms[t].df > 0 {
				dst = append(dst, t)
			}
			return
		}
		lo, hi := x.prefixRange(s)
		for _, t := range x.sorted[lo:hi] {
			if x.terms[t].df > 0 {
				dst = append(dst, t)
			}
		}
	}
	for i := 0; i <= known && i <= len(rs); i++ {
		if i < len(rs) {
			v = append(append(v[:0], rs[:i]...), rs[i+1:]...) // deletion
			try()
		}
		if i+1 < len(rs) && rs[i] != rs[i+1] {
			v = append(append(append(v[:0], rs[:i]...), rs[i+1], rs[i]), rs[i+2:]...) // transposition
			try()
		}
		for _, a := range x.alpha {
			if i < len(rs) && a != rs[i] {
				v = append(append(append(v[:0], rs[:i]...), a), rs[i+1:]...) // substitution
				try()
			}
			v = append(append(append(v[:0], rs[:i]...), a), rs[i:]...) // insertion
			try()
		}
	}
	return dst
}

// wordSet is what one query word matches.
type wordSet struct {
	terms []uint32                 // the matching terms, ascending
	typo  bool                     // they are corrections
	by    [nFields]*roaring.Bitmap // products matching in each field
	any   *roaring.Bitmap          // in any field
}

// words fills ws with the sets of the query words in n; ok is false when
// a word matches nothing.
func (x *index) words(ws []wordSet, words []string) bool {
	for i, w := range words {
		s := &ws[i]
		s.terms, s.typo = x.matchWord(w, i == len(words)-1, s.terms[:0])
		if len(s.terms) == 0 {
			return false
		}
		var parts []*roaring.Bitmap
		for f := range nFields {
			parts = parts[:0]
			for _, t := range s.terms {
				if b := x.terms[t].post[f]; b != nil && !b.IsEmpty() {
					parts = append(parts, b)
				}
			}
			s.by[f] = roaring.FastOr(parts...)
		}
		s.any = roaring.FastOr(s.by[:]...)
	}
	return true
}
