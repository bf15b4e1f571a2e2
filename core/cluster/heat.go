package cluster

import "sync"

// maxTracked bounds the SKUs one second's counts hold: beyond it new SKUs
// are not counted that second (a store of many cold SKUs, none hot).
const maxTracked = 4096

// heat counts checkouts per SKU in whole seconds: the second under way and
// the one before. It is safe for concurrent use.
type heat struct {
	mu        sync.Mutex
	sec       int64 // the second cur counts
	cur, prev map[string]int
	// all counts every checkout (cart read or not), per second.
	all, allPrev int
}

func newHeat() *heat { return &heat{cur: map[string]int{}, prev: map[string]int{}} }

// roll moves to second now, keeping the second before it.
func (h *heat) roll(now int64) {
	if now == h.sec {
		return
	}
	if now == h.sec+1 {
		h.prev, h.cur = h.cur, h.prev
		h.allPrev = h.all
	} else {
		clear(h.prev)
		h.allPrev = 0
	}
	clear(h.cur)
	h.all, h.sec = 0, now
}

// arrive counts one checkout at second now and reports whether this core
// takes enough checkouts for any SKU to be hot at rate.
func (h *heat) arrive(now int64, rate int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.roll(now)
	h.all++
	return max(h.all, h.allPrev) >= rate
}

// add counts sku once at second now and returns its rate: the larger of
// this second's count so far and the last second's.
func (h *heat) add(now int64, sku string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.roll(now)
	n, ok := h.cur[sku]
	if ok || len(h.cur) < maxTracked {
		n++
		h.cur[sku] = n
	}
	return max(n, h.prev[sku])
}

// hot returns how many SKUs were hot at rate in the last whole second.
func (h *heat) hot(now int64, rate int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.roll(now)
	n := 0
	for _, c := range h.prev {
		if c >= rate {
			n++
		}
	}
	return n
}
