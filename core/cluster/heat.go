package cluster

import "sync"

// maxTracked bounds the SKUs one second's counts hold: beyond it new SKUs
// are not counted that second (a store of many cold SKUs, none hot).
const maxTracked = 4096

// heat counts checkouts per SKU in whole seconds (the second under way and
// the one before) and the checkouts of each SKU under way at this core. It
// is safe for concurrent use.
//
// Rate alone misses the SKU that contention has already slowed down: when
// every core sells one SKU and their transactions queue on its stock
// record, each core's rate falls below any threshold while its checkouts
// pile up. So a SKU is also hot when many of its checkouts are in flight
// at once here.
type heat struct {
	mu        sync.Mutex
	sec       int64 // the second cur counts
	cur, prev map[string]int
	// all counts every checkout (cart read or not), per second.
	all, allPrev int
	// inflight counts checkouts under way per SKU (entries at 0 are
	// removed); allInflight counts every checkout under way.
	inflight    map[string]int
	allInflight int
}

func newHeat() *heat {
	return &heat{cur: map[string]int{}, prev: map[string]int{}, inflight: map[string]int{}}
}

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

// arrive counts one checkout starting at second now (until its leave) and
// reports whether this core takes enough checkouts, by rate or in flight,
// for any SKU to be hot.
func (h *heat) arrive(now int64, rate, concurrency int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.roll(now)
	h.all++
	h.allInflight++
	return rate > 0 && max(h.all, h.allPrev) >= rate || concurrency > 0 && h.allInflight >= concurrency
}

// classify counts each of skus once at second now and as in flight (until
// leave), and returns the hottest of them that is hot: rate checkouts a
// second or more, or concurrency or more in flight here ("" if none).
func (h *heat) classify(now int64, skus []string, rate, concurrency int) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.roll(now)
	hot, score := "", 0
	for _, sku := range skus {
		n, ok := h.cur[sku]
		if ok || len(h.cur) < maxTracked {
			n++
			h.cur[sku] = n
		}
		r := max(n, h.prev[sku])
		h.inflight[sku]++
		in := h.inflight[sku]
		if (rate > 0 && r >= rate || concurrency > 0 && in >= concurrency) && r+in > score {
			hot, score = sku, r+in
		}
	}
	return hot
}

// leave ends a checkout that arrive counted and classify counted with
// skus.
func (h *heat) leave(skus []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.allInflight--
	for _, sku := range skus {
		if n := h.inflight[sku] - 1; n > 0 {
			h.inflight[sku] = n
		} else {
			delete(h.inflight, sku)
		}
	}
}

// hot returns how many SKUs were hot at rate in the last whole second.
func (h *heat) hot(now int64, rate int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.roll(now)
	n := 0
	for _, c := range h.prev {
		if rate > 0 && c >= rate {
			n++
		}
	}
	return n
}
