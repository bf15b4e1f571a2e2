package forward

import (
	"sync"
	"time"
	"unsafe"

	"shopedge/core/api"
	"shopedge/internal/rendezvous"
)

// Checkout routing (Config.RouteCheckouts). Every core batches the
// checkouts it runs into one store transaction (the core's group commit);
// several cores selling one SKU put several batches on its stock record at
// once, which conflict. The cores route a hot SKU's checkouts to one owner
// among themselves (core/cluster), but a checkout landing on another core
// then costs a second HTTP hop there (~200 CPU-µs). The edge knows the
// cart's SKUs from its verified digest and the cores' addresses, so it
// sends the checkout to the owner directly, by the same rendezvous hash of
// (core address, SKU) (internal/rendezvous); the cores' own routing stays
// as the safety net for an edge whose view differs.

// maxTrackedSKUs bounds the SKUs one second's counts hold: beyond it new
// SKUs are not counted that second (a sale of many cold SKUs, none hot).
const maxTrackedSKUs = 4096

// skuHeat counts the checkouts through this edge per SKU in whole
// seconds (the second under way and the one before). It is safe for
// concurrent use.
type skuHeat struct {
	mu        sync.Mutex
	sec       int64
	cur, prev map[string]int
}

func newSKUHeat() *skuHeat {
	return &skuHeat{cur: map[string]int{}, prev: map[string]int{}}
}

// roll moves to second now, keeping the second before it.
func (h *skuHeat) roll(now int64) {
	if now == h.sec {
		return
	}
	if now == h.sec+1 {
		h.prev, h.cur = h.cur, h.prev
	} else {
		clear(h.prev)
	}
	clear(h.cur)
	h.sec = now
}

// hottest counts each line of d once at second now and returns the SKU
// of d with the most checkouts over this second or the one before (the
// first such line on a tie), aliasing d.
func (h *skuHeat) hottest(now int64, d api.CartDigest) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.roll(now)
	var best []byte
	bestScore := -1
	for off, ok := 0, true; ; {
		var sku []byte
		if sku, _, off, ok = d.Line(off); !ok {
			break
		}
		n, seen := h.cur[string(sku)]
		if seen || len(h.cur) < maxTrackedSKUs {
			n++
			h.cur[string(sku)] = n
		}
		if s := max(n, h.prev[string(sku)]); s > bestScore {
			best, bestScore = sku, s
		}
	}
	return best
}

// routeSKU returns the SKU of d the checkout is routed by (aliasing d),
// or nil for a cart without lines.
func (f *Forwarder) routeSKU(d api.CartDigest) []byte {
	if f.cfg.RouteBy == RouteByFirstLine {
		sku, _, _, _ := d.Line(0)
		return sku
	}
	return f.heat.hottest(time.Now().Unix(), d)
}

// checkoutOrder appends to dst the backends' indexes in the order a
// checkout of the cart d states is tried: the owner of its routing SKU
// first, then the rest of that SKU's rendezvous order; and appends that
// SKU to skuDst. It returns dst and skuDst unchanged when the cart has no
// line.
func (f *Forwarder) checkoutOrder(dst []int, skuDst []byte, d api.CartDigest) ([]int, []byte) {
	sku := f.routeSKU(d)
	if len(sku) == 0 {
		return dst, skuDst
	}
	return rendezvous.Order(dst, f.addrs, unsafe.String(unsafe.SliceData(sku), len(sku))), append(skuDst, sku...)
}
