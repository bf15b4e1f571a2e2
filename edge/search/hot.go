package search

import (
	"hash/maphash"
	"math/rand/v2"
	"sync/atomic"
)

// hotAnswers holds the most asked answers on-heap, keyed by the raw query
// string of the request (the URL's only input to the answer), so a hit
// costs a hash, an atomic load and a compare, and its bytes are sent
// without a copy; the answer cache behind it is keyed by the normalised,
// sorted parameters. Entries carry the generation read before the answer
// was computed; an entry of an older one is never served, so every index
// change drops them all at once (as suggest's hot answers).
type hotAnswers struct {
	seed     maphash.Seed
	mask     uint64
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
)

func newHotAnswers(entries, maxBytes int) *hotAnswers {
	if entries <= 0 {
		return nil
	}
	n := 1
	for n < entries {
		n <<= 1
	}
	return &hotAnswers{seed: maphash.MakeSeed(), mask: uint64(n - 1), maxBytes: maxBytes, slots: make([]atomic.Pointer[hotAnswer], n)}
}

func (h *hotAnswers) slot(raw []byte) *atomic.Pointer[hotAnswer] {
	return &h.slots[maphash.Bytes(h.seed, raw)&h.mask]
}

// get returns the cache value answering raw at generation gen.
func (h *hotAnswers) get(gen uint64, raw []byte) ([]byte, bool) {
	a := h.slot(raw).Load()
	if a == nil || a.gen != gen || string(a.raw) != string(raw) {
		return nil, false
	}
	return a.val, true
}

// put keeps val as the answer to raw at generation gen (read before val
// was computed), copying both. A slot holding another answer of the
// current generation is taken over with probability 1/replaceOdds, so
// the more asked of two colliding queries ends up holding it.
func (h *hotAnswers) put(gen uint64, raw, val []byte) {
	if len(raw) > maxHotQuery || len(val) > h.maxBytes {
		return
	}
	if cur := h.slot(raw).Load(); cur != nil && cur.gen == gen && rand.Uint32N(replaceOdds) != 0 {
		return
	}
	buf := make([]byte, 0, len(raw)+len(val))
	buf = append(append(buf, raw...), val...)
	h.slot(raw).Store(&hotAnswer{gen: gen, raw: buf[:len(raw):len(raw)], val: buf[len(raw):]})
}
