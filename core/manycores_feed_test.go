package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"shopedge/core/api"
	"shopedge/store"
)

// TestManyCoresFeedWriters runs catalog writers on M = 4 cores at once
// (puts and purges, each core's writes group-committed, see
// catalog.grouper) while a watcher follows the change feed as an edge
// does, from a different core at each poll, and checks:
//
//   - the watcher never saw a sequence other than the one after the last
//     (gap-free and ordered while the writes commit, feedWatcher);
//   - afterwards every core serves the same log 1, 2, 3… (checkFeed);
//   - every acknowledged write is in the log at the sequence its writer
//     was told, with its own content (the writer's record, not the log,
//     is the source), and the log holds nothing else: no event of a write
//     that failed;
//   - writes refused inside a shared transaction (a SKU owned by another
//     product) left nothing behind: no product, no event.
//
// Seen failing: with the sequence read in changelog.AppendEncoded replaced
// by a counter of the core's own (the batch's sequence check skipped, so a
// batch does not follow another core's commit), the watcher reports "core
// 3 sent sequence 16 after 11" and checkFeed a gap. The refused writes
// check what catalog writes promise (they refuse before they write); that
// the grouping drops a refused write's buffer is seen failing in
// catalog's TestGroupedWriteRefusedLeavesNothing, not here.
// What it does not prove: anything about a store that loses a commit it
// acknowledged (the in-process cluster does not), or about checkouts'
// events (TestManyCoresFlashSale follows those).
func TestManyCoresFeedWriters(t *testing.T) {
	const cores, writers = 4, 6
	perWriter := 40
	if raceEnabled {
		perWriter = 15
	}
	c := newMCCluster(t, mcOptions{cores: cores})
	w := c.watchFeed()
	type ack struct {
		id    string
		price int64 // unique per write
		purge bool
	}
	var mu sync.Mutex
	acked := map[uint64]ack{}
	var failed, refused int
	var wg sync.WaitGroup
	ctx := context.Background()
	for _, k := range c.cores {
		for wi := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("fw-%d-%d", k.i, wi)
				for n := range perWriter {
					price := int64(k.i*1_000_000 + wi*1_000 + n + 1)
					var seq uint64
					var err error
					a := ack{id: id, price: price}
					switch {
					case n%7 == 3:
						// A purge of this writer's product, tagged by its price.
						a.purge = true
						seq, err = k.m.Catalog.Purge(ctx, []string{id, "tag-" + strconv.FormatInt(price, 10)}, false)
					case n%5 == 4 && n > 0:
						// Takes this writer's SKU for another product: refused.
						bad := &api.Product{ID: id + "-bad", Slug: id + "-bad", Name: "Bad", Brand: "Shopedge",
							SKUs: []api.SKU{{SKU: id, Price: &api.Money{Amount: price, Currency: "USD"}}}}
						_, err = k.m.Catalog.Put(ctx, bad)
						var ae *api.Error
						if !errors.As(err, &ae) || ae.Code != api.ECodeConflict {
							t.Errorf("%s: want a conflict, got %v", bad.ID, err)
						}
						mu.Lock()
						refused++
						mu.Unlock()
						continue
					default:
						p := &api.Product{ID: id, Slug: id, Name: "Feed " + id, Brand: "Shopedge",
							SKUs: []api.SKU{{SKU: id, Price: &api.Money{Amount: price, Currency: "USD"}}}}
						seq, err = k.m.Catalog.Put(ctx, p)
					}
					mu.Lock()
					switch {
					case errors.Is(err, store.ErrConflict):
						failed++ // gave up after the store's retries: must not be in the log
					case err != nil:
						t.Errorf("%s: %v", id, err)
					default:
						if prev, dup := acked[seq]; dup {
							t.Errorf("sequence %d acknowledged twice: %+v and %+v", seq, prev, a)
						}
						acked[seq] = a
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	seen := w.finish(t)
	c.checkFeed(nil, 0)
	for _, k := range c.live() {
		evs := readFeed(t, k)
		if len(evs) != len(acked) {
			t.Errorf("core %d serves %d events, %d writes were acknowledged", k.i, len(evs), len(acked))
		}
		for _, ev := range evs {
			a, ok := acked[ev.Seq]
			switch {
			case !ok:
				t.Errorf("core %d: event %d (%s %s) belongs to no acknowledged write", k.i, ev.Seq, ev.Type, ev.ID)
			case a.purge:
				if ev.Type != api.EventPurge || len(ev.Keys) != 2 || ev.Keys[0] != a.id || ev.Keys[1] != "tag-"+strconv.FormatInt(a.price, 10) {
					t.Errorf("core %d: event %d is %+v, want the purge of %+v", k.i, ev.Seq, ev, a)
				}
			default:
				if ev.Type != api.EventUpsert || ev.ID != a.id || ev.Product == nil || len(ev.Product.SKUs) != 1 ||
					ev.Product.SKUs[0].Price == nil || ev.Product.SKUs[0].Price.Amount != a.price {
					t.Errorf("core %d: event %d is %+v, want the upsert of %+v", k.i, ev.Seq, ev, a)
				}
			}
		}
	}
	for _, k := range c.cores {
		for wi := range writers {
			id := fmt.Sprintf("fw-%d-%d-bad", k.i, wi)
			var ae *api.Error
			if _, err := k.m.Catalog.Get(ctx, id); !errors.As(err, &ae) || ae.Code != api.ECodeNotFound {
				t.Errorf("refused product %s: want not_found, got %v", id, err)
			}
		}
	}
	t.Logf("%d writes acknowledged, %d failed after retries, %d refused; watcher saw %d events; store %+v",
		len(acked), failed, refused, seen, c.storeStats())
}
