package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"shopedge/core/api"
)

// mcCache is a fake HTTP cache: it records every PURGE (sender address,
// xkey header) and can hold the next one until released.
type mcCache struct {
	url string
	mu  sync.Mutex
	got []mcPurge
	// hold, when set, makes the next PURGE wait: arrived is closed when
	// it is waiting, and it is answered 200 once release is closed.
	hold *held
}

type mcPurge struct {
	from string
	keys []string
	all  bool
}

func newMCCache(tb testing.TB) *mcCache {
	tb.Helper()
	c := &mcCache{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	c.url = "http://" + ln.Addr().String() + "/"
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Method()) != "PURGE" {
			ctx.SetStatusCode(405)
			return
		}
		host, _, _ := net.SplitHostPort(ctx.RemoteAddr().String())
		p := mcPurge{from: host, keys: strings.Fields(string(ctx.Request.Header.Peek("xkey"))), all: len(ctx.Request.Header.Peek("X-Shopedge-Purge-All")) > 0}
		c.mu.Lock()
		c.got = append(c.got, p)
		h := c.hold
		c.hold = nil
		c.mu.Unlock()
		if h != nil {
			close(h.arrived)
			<-h.release
		}
		ctx.SetStatusCode(200)
	}}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Shutdown() })
	return c
}

// purges returns, per surrogate key, the senders of the purges naming it
// (in order), and whether any purge-all came after the first from purges.
func (c *mcCache) purges(from ...int) (map[string][]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	by := map[string][]string{}
	all := false
	for i, p := range c.got {
		if len(from) > 0 && i < from[0] {
			p.all = false
		}
		all = all || p.all
		for _, k := range p.keys {
			by[k] = append(by[k], p.from)
		}
	}
	return by, all
}

// waitPurged waits until every key in keys was purged.
func (c *mcCache) waitPurged(tb testing.TB, keys []string, within time.Duration) map[string][]string {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		by, _ := c.purges()
		missing := ""
		for _, k := range keys {
			if len(by[k]) == 0 {
				missing = k
				break
			}
		}
		if missing == "" {
			return by
		}
		if time.Now().After(deadline) {
			tb.Fatalf("key %s never purged within %s (purged: %d keys)", missing, within, len(by))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestManyCoresCDNPurgeKilled runs three cores, each with a CDN purger for
// one cache, on one store, writing catalog changes through every core. It
// checks that one core purges (every product's key purged exactly once,
// all from one sender address: the lease holder), that when the holder is
// killed in the middle of a PURGE the change it carried is purged again by
// another core (nothing dropped: the dead core never saved its cursor, so
// the item is repeated, the only duplicate, and a purge is idempotent),
// and that the new holder alone purges the changes after (each once).
// What it does not prove: purges are exactly-once across a kill (they are
// at-least-once by design), or that edges applied a change before its
// purge (edge_wait is 0 here; httpapi's tests cover it).
func TestManyCoresCDNPurgeKilled(t *testing.T) {
	cache := newMCCache(t)
	c := newMCCluster(t, mcOptions{cores: 3, coreArgs: func(i int) []string {
		return []string{
			"-api.cdn.purge-urls=" + cache.url, "-api.cdn.settle=0s", "-api.cdn.edge-wait=0s",
			"-api.cdn.lease=1s", fmt.Sprintf("-api.cdn.source-addr=127.0.0.%d", 10+i),
		}
	}})
	ctx := context.Background()
	n := 0
	put := func(via *mcCore) string {
		n++
		id := fmt.Sprintf("cdn-%d", n)
		p := &api.Product{ID: id, Slug: id, Name: "CDN " + id, Brand: "Shopedge",
			SKUs: []api.SKU{{SKU: id + "-1", Price: &api.Money{Amount: 500, Currency: "USD"}}}}
		if _, err := via.m.Catalog.Put(ctx, p); err != nil {
			t.Fatal(err)
		}
		return "product-" + id
	}
	putAll := func(count int) []string {
		var keys []string
		for i := range count {
			live := c.live()
			keys = append(keys, put(live[i%len(live)]))
		}
		return keys
	}
	once := func(by map[string][]string, keys []string, from string) {
		t.Helper()
		for _, k := range keys {
			if got := by[k]; len(got) != 1 || got[0] != from {
				t.Fatalf("%s purged by %v; want once, by %s", k, got, from)
			}
		}
	}

	before := putAll(12)
	by := cache.waitPurged(t, before, 10*time.Second)
	leader := by[before[0]][0]
	once(by, before, leader)
	holder := -1
	for i := range c.cores {
		if leader == fmt.Sprintf("127.0.0.%d", 10+i) {
			holder = i
		}
	}
	if holder < 0 {
		t.Fatalf("purges came from %s, no core's address", leader)
	}

	// The holder dies while its PURGE of one change is at the cache.
	h := &held{arrived: make(chan struct{}), release: make(chan struct{})}
	cache.mu.Lock()
	cache.hold = h
	cache.mu.Unlock()
	var via *mcCore
	for _, k := range c.live() {
		if k.i != holder {
			via = k
		}
	}
	inFlight := put(via)
	waitHeld(t, h, "the holder's PURGE")
	cache.mu.Lock()
	killedAt := len(cache.got)
	cache.mu.Unlock()
	c.sever(holder)
	close(h.release)
	c.closeCore(holder)

	after := putAll(12)
	by = cache.waitPurged(t, append(after, inFlight), 15*time.Second)
	next := by[after[0]][0]
	if next == leader {
		t.Fatalf("changes after the kill purged by the dead core's address %s", next)
	}
	once(by, after, next)
	if got := by[inFlight]; len(got) != 2 || got[0] != leader || got[1] != next {
		t.Fatalf("the change in flight at the kill was purged by %v; want by %s (the dead holder) then %s", got, leader, next)
	}
	once(by, before, leader)
	// (A new cache's first purge is a purge-all: it may hold pages from
	// before it was configured.)
	if _, all := cache.purges(killedAt); all {
		t.Fatal("a purge-all came after the kill: the new holder lost its place in the log")
	}
	t.Logf("core %d (%s) purged until killed mid-purge; %s took over", holder, leader, next)
}
