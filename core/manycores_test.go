package main

import (
	"strconv"
	"testing"
	"time"
)

// TestManyCoresFlashSale runs the hot-SKU sale (more buyers than units)
// and the mixed-cart sale through an edge in front of several cores on one
// TiKV cluster, while a watcher follows the change feed from a different
// core at each poll, and checks the books (see audit) and the feed (see
// checkFeed, feedWatcher) from independent sources.
//
// It runs with M = 1, 2 and 4 cores in the default mode (a hot SKU's
// checkouts handed to its owner core) behind the round-robin test edge,
// with M = 2 and 4 behind the real edge forwarder routing each checkout to
// its owner core, and with M = 2 in each TiKV mode
// without routing, where every core's batches meet on the hot stock
// record. It proves the books balance and the feed holds together under
// these loads; it does not prove anything about a core that dies (see
// TestManyCoresKilled).
func TestManyCoresFlashSale(t *testing.T) {
	buyers := 240
	if raceEnabled {
		buyers = 40
	}
	for _, cores := range []int{1, 2, 4} {
		t.Run("M="+strconv.Itoa(cores), func(t *testing.T) { flashSale(t, cores, buyers, nil, edgeRoundRobin) })
	}
	// Behind the real edge forwarder sending each checkout to the owner
	// of its cart's hottest SKU (the default with a digest key).
	for _, cores := range []int{2, 4} {
		t.Run("edge-routed/M="+strconv.Itoa(cores), func(t *testing.T) { flashSale(t, cores, buyers, nil, edgeRouted) })
	}
	if raceEnabled {
		return
	}
	for _, mode := range []struct {
		name string
		args []string
	}{
		{"unrouted-optimistic", []string{"-cluster.hot-rate=0", "-cluster.hot-concurrency=0"}},
		{"unrouted-pessimistic", []string{"-cluster.hot-rate=0", "-cluster.hot-concurrency=0", "-store.pessimistic=true"}},
	} {
		t.Run(mode.name+"/M=2", func(t *testing.T) { flashSale(t, 2, buyers, mode.args, edgeRoundRobin) })
	}
}

func flashSale(t *testing.T, cores, buyers int, args []string, edge string) {
	c := newMCCluster(t, mcOptions{cores: cores, args: args, edge: edge})
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
	t.Logf("feed watcher saw %d events; store %+v; edge failovers %d", seen, c.storeStats(), c.edge.Failovers())
}
