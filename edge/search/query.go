package search

import (
	"cmp"
	"slices"
	"strings"
	"sync"
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
// Every word of the query must match. A match on w itself is exact; the
// others (forms, longer words, corrections) are not, and rank below.

// Relevance: a product's text score is the pair (E, T), compared E
// first: E counts the query words the product's title (name or brand)
// has as typed, T the words its title matches in any way (a form, a
// longer word, a correction). Words matched only by the categories or
// attributes count in neither. So "computers" ranks titles with
// "computers" over titles with "computer" over products in a
// "Computers" category.

// Classes of a word in a product of the result set.
const (
	cExact = iota // the title has the word as typed
	cTitle        // the title matches it otherwise
	cElse         // only the categories or attributes do
	nClasses
)

// wordSet is what one query word matches.
type wordSet struct {
	w     string
	terms []uint32 // the matching terms, ascending (besides pfx's)
	pfx   *heavy   // the last word's prefix set, when w is a heavy prefix
	typo  bool     // the terms are corrections
	exact uint32   // the term w itself + 1, 0 when it does not match
	// For relevance, the result set's products by class, computed as
	// needed (nil until then).
	class [nClasses]*roaring.Bitmap
}

// has reports whether a product word (its term t, its text s) matches.
func (ws *wordSet) has(t uint32, s string) bool {
	if _, ok := slices.BinarySearch(ws.terms, t); ok {
		return true
	}
	return ws.pfx != nil && strings.HasPrefix(s, ws.w)
}

// match finds the live terms matching query word w into ws (reused).
func (x *index) match(ws *wordSet, w string, last bool) {
	ws.w, ws.terms, ws.pfx, ws.typo, ws.exact = w, ws.terms[:0], nil, false, 0
	if t, ok := x.termIDs[w]; ok && x.terms[t].df > 0 {
		ws.exact = t + 1
	}
	var st [4]string
	for _, s := range stems(st[:0], w) {
		for _, t := range x.stemIx[s] {
			if x.terms[t].df > 0 {
				ws.terms = append(ws.terms, t)
			}
		}
	}
	if last {
		if h := x.heavy[w]; h != nil && h.live() {
			ws.pfx = h
		} else {
			lo, hi := x.prefixRange(w)
			for _, t := range x.sorted[lo:hi] {
				if x.terms[t].df > 0 {
					ws.terms = append(ws.terms, t)
				}
			}
		}
	}
	if len(ws.terms) == 0 && ws.pfx == nil && utf8.RuneCountInString(w) >= x.cfg.TypoMinChars {
		ws.terms, ws.typo = x.typosCached(w, last, ws.terms), true
	}
	slices.Sort(ws.terms)
	ws.terms = slices.Compact(ws.terms)
}

// matched reports whether the word matches any product.
func (ws *wordSet) matched() bool { return len(ws.terms) > 0 || ws.pfx != nil }

// prefixRange returns the range of x.sorted of the terms starting with p.
func (x *index) prefixRange(p string) (int, int) {
	lo, _ := slices.BinarySearchFunc(x.sorted, p, func(t uint32, p string) int { return strings.Compare(x.terms[t].s, p) })
	n, _ := slices.BinarySearchFunc(x.sorted[lo:], p, func(t uint32, p string) int {
		if strings.HasPrefix(x.terms[t].s, p) {
			return -1
		}
		return 1
	})
	return lo, lo + n
}

// postings appends to dst the postings of ws's matches: all of them, or
// (title) those of the title field, but the exact term's.
func (x *index) postings(ws *wordSet, title bool, dst []*roaring.Bitmap) []*roaring.Bitmap {
	for _, t := range ws.terms {
		var b *roaring.Bitmap
		switch {
		case !title:
			b = x.terms[t].all()
		case t+1 != ws.exact:
			b = x.terms[t].post[fTitle]
		}
		if b != nil && !b.IsEmpty() {
			dst = append(dst, b)
		}
	}
	if ws.pfx != nil {
		if title {
			dst = append(dst, ws.pfx.by[fTitle])
		} else {
			dst = append(dst, ws.pfx.any)
		}
	}
	return dst
}

// andUnion returns s ∧ (the union of parts). With own, s belongs to the
// caller's search (no posting or shared set) and is intersected in
// place and returned; else the answer is a new bitmap. A small s is
// intersected with each part (roaring gallops over the larger side);
// else the parts' containers are ORed only at s's keys (AndAny), so
// neither the union nor a copy of a large s is made.
func andUnion(s *roaring.Bitmap, parts []*roaring.Bitmap, own bool) *roaring.Bitmap {
	switch {
	case len(parts) == 0 || s.IsEmpty():
		if own {
			s.Clear()
			return s
		}
		return roaring.New()
	case len(parts) == 1:
		if own {
			s.And(parts[0])
			return s
		}
		return roaring.And(s, parts[0])
	case s.GetCardinality() <= smallSet:
		var out *roaring.Bitmap
		for _, p := range parts {
			if !s.Intersects(p) {
				continue
			}
			if out == nil {
				out = roaring.And(s, p)
			} else {
				out.Or(roaring.And(s, p))
			}
		}
		if out == nil {
			out = roaring.New()
		}
		return out
	}
	if !own {
		// A copy of s to intersect in place, or the union of the
		// parts intersected with s in place: the smaller.
		sum := uint64(0)
		for _, p := range parts {
			sum += p.GetCardinality()
		}
		if sum < s.GetCardinality() {
			u := union(parts)
			u.And(s)
			return u
		}
		s = s.Clone()
	}
	s.AndAny(parts...)
	return s
}

// union returns the union of parts (nil ones skipped) in a new bitmap.
// roaring's FastOr
// merges array containers one part after another and was measured 3.5×
// slower than its heap-ordered HeapOr on the postings of a common word
// at 1M products (1.27 ms vs 0.36 ms for 7 parts of 120,000 products).
func union(parts []*roaring.Bitmap) *roaring.Bitmap {
	if slices.Contains(parts, nil) {
		parts = slices.DeleteFunc(slices.Clone(parts), func(b *roaring.Bitmap) bool { return b == nil })
	}
	switch len(parts) {
	case 0:
		return roaring.New()
	case 1:
		return parts[0].Clone()
	case 2:
		return roaring.Or(parts[0], parts[1])
	}
	return roaring.HeapOr(parts...)
}

// smallSet is the largest set intersected with each part of a union
// rather than with the union.
const smallSet = 4096

// estimate returns an upper bound of the products matching ws: the sum
// of its terms' df (a posting set's GetCardinality walks its containers;
// a prefix's terms are many).
func (x *index) estimate(ws *wordSet) uint64 {
	n := uint64(0)
	for _, t := range ws.terms {
		n += uint64(max(x.terms[t].df, 0))
	}
	if ws.pfx != nil {
		n += ws.pfx.any.GetCardinality()
	}
	return n
}

// matchAll returns the products matching every word (matched): the
// words taken from the rarest, each intersected with what the previous
// left. The answer may be a posting set (one word of one term), which
// nothing downstream writes.
func (x *index) matchAll(ws []wordSet, st *state) *roaring.Bitmap {
	order, est := st.order[:0], st.est[:0]
	for i := range ws {
		order = append(order, i)
		e := uint64(0)
		if len(ws) > 1 {
			e = x.estimate(&ws[i])
		}
		est = append(est, e)
	}
	st.order, st.est = order, est
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(est[a], est[b]) })
	var m *roaring.Bitmap
	own := false // m was made here (not a posting set)
	for _, i := range order {
		parts := x.postings(&ws[i], false, st.parts[:0])
		st.parts = parts
		if m == nil {
			if len(parts) == 1 {
				m = parts[0]
			} else {
				m, own = union(parts), true
			}
			continue
		}
		m, own = andUnion(m, parts, own), true
		if m.IsEmpty() {
			break
		}
	}
	clear(st.parts) // no posting set kept alive by the pool
	return m
}

// classOf returns the products of r (matching ws) in class c.
func (x *index) classOf(ws *wordSet, r *roaring.Bitmap, c int) *roaring.Bitmap {
	if ws.class[c] != nil {
		return ws.class[c]
	}
	switch c {
	case cExact:
		ws.class[c] = emptySet
		if ws.exact != 0 {
			if b := x.terms[ws.exact-1].post[fTitle]; b != nil {
				ws.class[c] = roaring.And(r, b)
			}
		}
	case cTitle:
		var buf [8]*roaring.Bitmap
		s := andUnion(r, x.postings(ws, true, buf[:0]), false)
		s.AndNot(x.classOf(ws, r, cExact))
		ws.class[c] = s
	default:
		s := roaring.AndNot(r, x.classOf(ws, r, cExact))
		s.AndNot(x.classOf(ws, r, cTitle))
		ws.class[c] = s
	}
	return ws.class[c]
}

// emptySet is an empty set that nothing writes (a class without
// members).
var emptySet = roaring.New()

// words matches the query words into ws; ok is false when a word matches
// nothing.
func (x *index) words(ws []wordSet, words []string) bool {
	for i, w := range words {
		x.match(&ws[i], w, i == len(words)-1)
		ws[i].class = [nClasses]*roaring.Bitmap{}
		if !ws[i].matched() {
			return false
		}
	}
	return true
}

// Heavy prefixes: the last word of a query matches every term it starts,
// and a short one starts thousands ("4", "s"): the union of their
// postings is kept, per field, for the prefixes of heavyLen bytes or
// fewer that start heavyMin terms or more at a snapshot load, and kept
// current with the postings.
var heavyMin = 64 // a variable so that tests can make it small

const heavyLen = 3

type heavy struct {
	by  [nFields]*roaring.Bitmap
	any *roaring.Bitmap // the union of by
}

func (h *heavy) live() bool {
	for _, b := range h.by {
		if !b.IsEmpty() {
			return true
		}
	}
	return false
}

// buildHeavy finds the heavy prefixes of the loaded terms.
func (x *index) buildHeavy() {
	byPrefix := map[string][]uint32{}
	for t := range x.terms {
		s := x.terms[t].s
		for l := 1; l <= min(heavyLen, len(s)); l++ {
			if l == len(s) || utf8.RuneStart(s[l]) {
				byPrefix[s[:l]] = append(byPrefix[s[:l]], uint32(t))
			}
		}
	}
	var prefixes []string
	for p, ts := range byPrefix {
		if len(ts) >= heavyMin {
			prefixes = append(prefixes, p)
		}
	}
	hs := make([]*heavy, len(prefixes))
	parallel(len(prefixes), func(i int) {
		h := &heavy{}
		var parts []*roaring.Bitmap
		for f := range nFields {
			parts = parts[:0]
			for _, t := range byPrefix[prefixes[i]] {
				if b := x.terms[t].post[f]; b != nil {
					parts = append(parts, b)
				}
			}
			h.by[f] = union(parts)
		}
		h.any = union(h.by[:])
		hs[i] = h
	})
	x.heavy = make(map[string]*heavy, len(prefixes))
	for i, p := range prefixes {
		x.heavy[p] = hs[i]
	}
}

// heavyOf calls fn with the heavy prefix sets of term s.
func (x *index) heavyOf(s string, fn func(h *heavy)) {
	for l := 1; l <= min(heavyLen, len(s)); l++ {
		if l == len(s) || utf8.RuneStart(s[l]) {
			if h := x.heavy[s[:l]]; h != nil {
				fn(h)
			}
		}
	}
}

// typoCache remembers the corrections of words (a word's corrections
// depend only on the live terms, which change only when a product's text
// does): suggest keeps such a cache too. Searches hold the index's read
// lock, so the cache has a mutex of its own; an entry of an older
// vocabulary generation is never used.
type typoCache struct {
	mu  sync.Mutex
	gen uint64
	m   map[string][]uint32 // "0"/"1" (last) + word → live terms
}

// maxTypoCache bounds the cache's entries (it is emptied when full).
const maxTypoCache = 4096

// typosCached is typos through x.typoCache.
func (x *index) typosCached(w string, last bool, dst []uint32) []uint32 {
	c := &x.typoCache
	key := "0" + w
	if last {
		key = "1" + w
	}
	c.mu.Lock()
	if c.gen != x.vgen || c.m == nil || len(c.m) >= maxTypoCache {
		c.gen, c.m = x.vgen, map[string][]uint32{}
	}
	if ts, ok := c.m[key]; ok {
		c.mu.Unlock()
		return append(dst, ts...)
	}
	c.mu.Unlock()
	start := len(dst)
	dst = x.typos(w, last, dst)
	ts := slices.Clone(dst[start:])
	c.mu.Lock()
	if c.gen == x.vgen {
		c.m[key] = ts
	}
	c.mu.Unlock()
	return dst
}
