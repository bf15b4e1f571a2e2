package main

import (
	"testing"
	"time"
)

// TestManyCoresFlashSale runs the hot-SKU sale (more buyers than units)
// and the mixed-cart sale through an edge in front of several cores on one
// TiKV cluster, while a watcher follows the change feed from a different
// core at each poll, and checks the books (see audit) and the feed (see
// checkFeed, feedWatcher) from independent sources.
func TestManyCoresFlashSale(t *testing.T) {
	cores, buyers := 4, 240
	if raceEnabled {
		cores, buyers = 2, 40
	}
	c := newMCCluster(t, mcOptions{cores: cores})
	w := c.watchFeed()
	units := int64(buyers * 2 / 3)
	hot := c.prepare(hotSale(buyers, units))
	answers, took := c.run(hot, 32)
	c.settle(hot, answers, 10*time.Second, nil)
	b := c.audit(hot, answers)
	if int64(b.paid) != units || b.soldOut != buyers-int(units) {
		t.Fatalf("hot SKU: %d paid, %d sold out; want %d and %d", b.paid, b.soldOut, units, buyers-int(units))
	}
	t.Logf("hot SKU: %d checkouts in %s on %d cores", buyers, took, cores)

	mixed := c.prepare(mixedSale(buyers, 20, int64(buyers/10), 1))
	answers, took = c.run(mixed, 32)
	c.settle(mixed, answers, 10*time.Second, nil)
	b = c.audit(mixed, answers)
	t.Logf("mixed carts: %d checkouts in %s: %d paid, %d sold out", buyers, took, b.paid, b.soldOut)
	if b.paid == 0 || b.soldOut == 0 {
		t.Fatalf("mixed carts: %d paid, %d sold out: the sale did not run out as planned", b.paid, b.soldOut)
	}
	seen := w.finish(t)
	stock := map[string]int64{}
	for _, s := range []*mcSale{hot, mixed} {
		for sku, n := range s.spec.stock {
			stock[sku] = n
		}
	}
	c.checkFeed(stock, c.cores[0].m.Config.Catalog.LowStockThreshold)
	t.Logf("feed watcher saw %d events; store %+v; edge failovers %d", seen, c.storeStats(), c.edge.failovers.Load())
}
