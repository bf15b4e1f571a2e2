package catalog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tikv/client-go/v2/testutils"
	tikvclient "github.com/tikv/client-go/v2/tikv"

	"shopedge/core/api"
	"shopedge/core/changelog"
	"shopedge/internal/teststore"
	"shopedge/store"
	"shopedge/store/tikv"
)

// groupStores opens n stores on one backend, as n cores have: n clients of
// their own on one in-process TiKV cluster, or one embedded (bbolt) store
// shared by n services (it has one writer).
var groupStores = []struct {
	name string
	open func(tb testing.TB, n int) []store.Store
}{
	{"tikv", func(tb testing.TB, n int) []store.Store {
		client, cluster, pdClient, err := testutils.NewMockTiKV("", nil)
		if err != nil {
			tb.Fatalf("NewMockTiKV: %v", err)
		}
		testutils.BootstrapWithSingleStore(cluster)
		tb.Cleanup(func() { _ = client.Close() })
		out := make([]store.Store, n)
		for i := range out {
			kvs, err := tikvclient.NewTestTiKVStore(client, pdClient, nil, nil, 0)
			if err != nil {
				tb.Fatalf("NewTestTiKVStore: %v", err)
			}
			s := tikv.New(kvs, tikv.Options{MaxRetries: 1000})
			tb.Cleanup(func() { _ = s.Close(); _ = kvs.Close() })
			out[i] = s
		}
		return out
	}},
	{"embedded", func(tb testing.TB, n int) []store.Store {
		st := teststore.OpenEmbedded(tb)
		out := make([]store.Store, n)
		for i := range out {
			out[i] = st
		}
		return out
	}},
}

// TestGroupedWritesFeedAcrossServices runs 4 catalog services ("cores")
// writing at once, 8 writers each, while a follower per service reads the
// change log with Wait as the feed handler does. It checks that every
// follower saw sequences 1, 2, 3… with no gap or reorder while the writes
// committed, that every acknowledged write's event is in the log at the
// sequence it was told with its own price (the writers' record is the
// source), and that the log holds no other event.
//
// Seen failing: with the sequence read in changelog.AppendEncoded replaced
// by a counter of the service's own (the batch's sequence check skipped),
// the tikv case reports "follower 1: sequence 13 after 10" (the embedded
// case still passes: one store, one writer, so the counter happens to be
// the sequence). It does not
// prove anything about the HTTP feed or the edge (TestManyCoresFeedWriters
// in core/ and edge/follow's tests do).
func TestGroupedWritesFeedAcrossServices(t *testing.T) {
	for _, sk := range groupStores {
		t.Run(sk.name, func(t *testing.T) {
			const services, writers, each = 4, 8, 12
			sts := sk.open(t, services)
			ctx := context.Background()
			logs := make([]*changelog.Log, services)
			svcs := make([]*Service, services)
			for i, st := range sts {
				logs[i] = changelog.New(st, changelog.DefaultConfig())
				svcs[i] = New(st, logs[i], DefaultConfig())
				if sk.name == "tikv" && svcs[i].group == nil {
					t.Fatal("no grouping on TiKV")
				}
			}
			total := services * writers * each
			var followers sync.WaitGroup
			ferrs := make(chan string, services)
			for i := range services {
				followers.Add(1)
				go func() {
					defer followers.Done()
					var after uint64
					deadline := time.Now().Add(60 * time.Second)
					for after < uint64(total) && time.Now().Before(deadline) {
						ch, err := logs[(i+int(after))%services].Wait(ctx, after, 50*time.Millisecond)
						if err != nil {
							ferrs <- err.Error()
							return
						}
						for _, ev := range ch.Events {
							if ev.Seq != after+1 {
								ferrs <- fmt.Sprintf("follower %d: sequence %d after %d", i, ev.Seq, after)
								return
							}
							after = ev.Seq
						}
					}
					if after != uint64(total) {
						ferrs <- fmt.Sprintf("follower %d stopped at %d of %d", i, after, total)
					}
				}()
			}
			var mu sync.Mutex
			acked := map[uint64]int64{}
			var wg sync.WaitGroup
			for si, svc := range svcs {
				for wi := range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						id := fmt.Sprintf("g-%d-%d", si, wi)
						for n := range each {
							price := int64(si*1_000_000 + wi*1_000 + n + 1)
							seq, err := svc.Put(ctx, &api.Product{ID: id, Slug: id, Name: id, Brand: "B",
								SKUs: []api.SKU{{SKU: id, Price: &api.Money{Amount: price, Currency: "USD"}}}})
							mu.Lock()
							if err != nil {
								t.Errorf("%s: %v", id, err)
							} else if _, dup := acked[seq]; dup {
								t.Errorf("sequence %d acknowledged twice", seq)
							} else {
								acked[seq] = price
							}
							mu.Unlock()
						}
					}()
				}
			}
			wg.Wait()
			followers.Wait()
			close(ferrs)
			for e := range ferrs {
				t.Error(e)
			}
			ch, err := logs[0].Read(ctx, 0, changelog.DefaultConfig().MaxLimit)
			if err != nil {
				t.Fatal(err)
			}
			if len(ch.Events) != len(acked) || len(acked) != total {
				t.Fatalf("log holds %d events, %d of %d writes acknowledged", len(ch.Events), len(acked), total)
			}
			for _, ev := range ch.Events {
				price, ok := acked[ev.Seq]
				if !ok || ev.Product == nil || ev.Product.SKUs[0].Price.Amount != price {
					t.Errorf("event %d (%s %s) is not the write acknowledged with it (price %d)", ev.Seq, ev.Type, ev.ID, price)
				}
			}
		})
	}
}

// TestGroupedWriteRefusedLeavesNothing runs, in shared transactions, writes
// that fail after writing (an api.Error after a Set and an append) beside
// writes that succeed, and checks the failed ones left no key and no
// event, and the others are all there in sequence.
//
// Seen failing: with the refused write's buffer flushed anyway (grouper.run)
// its key and event are found. Catalog writes check before they write, so
// the core-level tests cannot see this; a future write that does not would.
func TestGroupedWriteRefusedLeavesNothing(t *testing.T) {
	sts := groupStores[0].open(t, 1)
	log := changelog.New(sts[0], changelog.DefaultConfig())
	g := newGrouper(sts[0], 16)
	ctx := context.Background()
	const n = 64
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = g.do(ctx, func(tx store.Txn) error {
				if err := tx.Set(fmt.Appendf(nil, "z/%03d", i), []byte("x")); err != nil {
					return err
				}
				if _, err := log.Append(tx, &api.Event{Type: api.EventDelete, ID: fmt.Sprint(i)}); err != nil {
					return err
				}
				if i%3 == 0 {
					return api.Errorf(api.ECodeConflict, "refused %d", i)
				}
				return nil
			})
		}()
	}
	wg.Wait()
	ch, err := log.Read(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for k, ev := range ch.Events {
		if ev.Seq != uint64(k+1) {
			t.Fatalf("event %d has sequence %d", k, ev.Seq)
		}
		ids[ev.ID] = true
	}
	err = sts[0].View(ctx, func(tx store.Txn) error {
		for i := range n {
			_, gerr := tx.Get(fmt.Appendf(nil, "z/%03d", i))
			refused := i%3 == 0
			var ae *api.Error
			if refused != errors.As(results[i], &ae) {
				t.Errorf("write %d: %v", i, results[i])
			}
			if refused == (gerr == nil) || refused == ids[fmt.Sprint(i)] {
				t.Errorf("write %d (refused %v): key %v, event %v", i, refused, gerr, ids[fmt.Sprint(i)])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
