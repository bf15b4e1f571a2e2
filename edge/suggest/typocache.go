package suggest

import "sync"

// typoCache remembers the corrections found for words without an exact
// match: a user typing "name brands" looks "name" up again at every
// keystroke after it, and finding corrections walks the prefix trie
// dozens of times. Corrections depend only on which prefixes and terms
// have products and how many, which change only when a product's words
// do: the index clears the cache then (under its write lock), not on
// price, stock or popularity changes. At most maxTypoCache words are kept; a
// full cache is cleared.
type typoCache struct {
	mu sync.RWMutex
	m  map[string][]typoAlt // word → corrections (none is an answer too)
}

type typoAlt struct {
	pid  uint32
	word string
}

// maxTypoCache bounds the words a typoCache holds.
const maxTypoCache = 1 << 14

// constraint returns the typo constraint of w, from the cache or found
// and remembered. The caller holds x.mu.RLock.
func (tc *typoCache) constraint(x *index, st *state, w []byte) constraint {
	tc.mu.RLock()
	alts, ok := tc.m[b2s(w)]
	tc.mu.RUnlock()
	if ok {
		c := constraint{alts: st.nextAlts(), typo: true}
		for _, a := range alts {
			c.alts = append(c.alts, x.addAlt(st, a.pid, s2b(a.word)))
		}
		x.sumAlts(st, &c)
		return c
	}
	c := x.typoConstraint(st, w)
	alts = make([]typoAlt, len(c.alts))
	for i, a := range c.alts {
		alts[i] = typoAlt{pid: st.alts[a].pid, word: string(st.altWord(a))}
	}
	tc.mu.Lock()
	if tc.m == nil || len(tc.m) >= maxTypoCache {
		tc.m = map[string][]typoAlt{}
	}
	tc.m[string(w)] = alts
	tc.mu.Unlock()
	return c
}

// clear forgets every word; the caller holds the index's write lock.
func (tc *typoCache) clear() {
	tc.mu.Lock()
	clear(tc.m)
	tc.mu.Unlock()
}
