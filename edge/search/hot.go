package search

import (
	"hash/maphash"
	"math/rand/v2"
	"sync/atomic"
)

// hotAnswers holds the most asked answers on-heap, keyed by the raw query
// string of the request (the URL's only input to the answer), so a hit
// costs a hash, a few atomic loads and a compare, and its bytes are sent
// without a copy; the answer cache behind it is keyed by the normalised,
// sorted parameters. Entries carry the generation read before the answer
// was computed; an entry of an older one is never served, so every index
// change drops them all at once (as suggest's hot answers).
//
// A query's hash picks a set of hotWays slots (one cache line of
// pointers), any of which may hold it: with one slot per query, 1,070
// distinct queries in 4,096 slots left ~12 % of them colliding with
// another current answer and answered from the answer cache behind
// (a parse, a copy) instead; with sets of 4 nearly none.
type hotAnswers struct {
	seed     maphash.Seed
	mask     uint64 // of the set index
	maxBytes int
	slots    []atomic.Pointer[hotAnswer]
}

// hotAnswer is one answer: the raw query string, then the cache value, in
// one buffer never modified once published.
type hotAnswer struct {
	gen uint64
	raw []byte
	val []byte
}

const (
	maxHotQuery = 1024
	replaceOdds = 8
	hotWays     = 4
)

func newHotAnswers(entries, maxBytes int) *hotAnswers {
	if entries <= 0 {
		return nil
	}
	n := hotWays
	for n < entries {
		n <<= 1
	}
	return &hotAnswers{seed: maphash.MakeSeed(), mask: uint64(n/hotWays - 1), maxBytes: maxBytes, slots: make([]atomic.Pointer[hotAnswer], n)}
}

// set returns the slots that may hold raw's answer.
func (h *hotAnswers) set(raw []byte) []atomic.Pointer[hotAnswer] {
	i := (maphash.Bytes(h.seed, raw) & h.mask) * hotWays
	return h.slots[i : i+hotWays : i+hotWays]
}

// get returns the cache value answering raw at generation gen.
func (h *hotAnswers) get(gen uint64, raw []byte) ([]byte, bool) {
	set := h.set(raw)
	for i := range set {
		if a := set[i].Load(); a != nil && a.gen == gen && string(a.raw) == string(raw) {
			return a.val, true
		}
	}
	return nil, false
}

// put keeps val as the answer to raw at generation gen (read before val
// was computed), copying both: in raw's slot if it has one, else in an
// empty or outdated slot of its set. When every slot of the set holds
// another answer of the current generation, one of them is taken over
// with probability 1/replaceOdds, so the more asked queries end up
// holding the set.
func (h *hotAnswers) put(gen uint64, raw, val []byte) {
	if len(raw) > maxHotQuery || len(val) > h.maxBytes {
		return
	}
	set := h.set(raw)
	at := -1
	for i := range set {
		a := set[i].Load()
		if a != nil && string(a.raw) == string(raw) {
			at = i
			break
		}
		if at < 0 && (a == nil || a.gen != gen) {
			at = i
		}
	}
	if at < 0 {
		if rand.Uint32N(replaceOdds) != 0 {
			return
		}
		at = rand.IntN(hotWays)
	}
	buf := make([]byte, 0, len(raw)+len(val))
	buf = append(append(buf, raw...), val...)
	set[at].Store(&hotAnswer{gen: gen, raw: buf[:len(raw):len(raw)], val: buf[len(raw):]})
}
