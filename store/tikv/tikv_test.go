package tikv

import (
	"testing"

	"github.com/tikv/client-go/v2/testutils"
	"github.com/tikv/client-go/v2/tikv"

	"shopedge/store"
	"shopedge/store/storetest"
)

// newMockKV starts client-go's in-process TiKV + PD cluster. hijack, when
// set, wraps the RPC client (for fault injection).
// latches > 0 enables client-go's local latches, as Open does.
func newMockKV(tb testing.TB, hijack func(tikv.Client) tikv.Client, latches uint) *tikv.KVStore {
	tb.Helper()
	client, cluster, pdClient, err := testutils.NewMockTiKV("", nil)
	if err != nil {
		tb.Fatalf("NewMockTiKV: %v", err)
	}
	testutils.BootstrapWithSingleStore(cluster)
	kvs, err := tikv.NewTestTiKVStore(client, pdClient, hijack, nil, latches)
	if err != nil {
		tb.Fatalf("NewTestTiKVStore: %v", err)
	}
	tb.Cleanup(func() { _ = kvs.Close() })
	return kvs
}

// mustNew returns a Store on a fresh mock cluster, closed at cleanup.
func mustNew(tb testing.TB, opts Options) *Store {
	tb.Helper()
	var latches uint
	if !opts.Pessimistic {
		latches = 1024
	}
	s := New(newMockKV(tb, nil, latches), opts)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// TestConformance runs the shared suite on optimistic transactions with
// local latches (the configuration Open uses by default). Pessimistic mode
// has its own tests below: client-go's mock cluster has no lock-wait queue
// (waiters poll with backoff), so the suite's 32-writer hot-key test would
// measure the mock, not the backend. Under the race detector the mock is
// so slow that the hot-key test shrinks to 8 × 10; without it, it runs at
// the full 32 × 100.
func TestConformance(t *testing.T) {
	cfg := storetest.DefaultConfig()
	if raceEnabled {
		cfg = storetest.Config{HotWriters: 8, HotIncrements: 10}
	}
	storetest.RunConfig(t, func(t *testing.T) store.Store { return mustNew(t, Options{MaxRetries: 1000}) }, cfg)
}
