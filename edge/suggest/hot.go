package suggest

import (
	"hash/maphash"
	"math/rand/v2"
	"sync/atomic"
)

// hotAnswers holds the most asked answers on-heap, keyed by the raw query
// string of the request (before decoding and normalising it), so a hit
// costs a hash, an atomic load and a compare, and its bytes are sent
// without a copy. Equivalent spellings of a query get entries of their
// own here (the answer cache behind it shares one).
//
// Entries carry the answer generation read before the answer was read or
// computed; an entry of an older generation is never served, so every
// index change (which bumps the generation after it is made) drops them
// all at once, as it does the answer cache's.
type hotAnswers struct {
	seed     maphash.Seed
	mask     uint64
	maxBytes int
	slots    []atomic.Pointer[hotAnswer]
}

// hotAnswer is one answer: the raw query string, then the cache value
// (see Service.encode), in one buffer never modified once published.
type hotAnswer struct {
	gen uint64
	raw []byte
	val []byte
}

// maxHotQuery bounds the raw query strings kept.
const maxHotQuery = 512

const replaceOdds = 8

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
// was). It copies both. A slot holding another answer of the current
// generation is taken over with probability 1/replaceOdds only, so
// queries sharing a slot do not allocate on every request and the more
// asked one ends up holding it.
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
