package checkout

import (
	"testing"

	"github.com/tikv/client-go/v2/testutils"
	tikvclient "github.com/tikv/client-go/v2/tikv"

	"shopedge/store"
	"shopedge/store/tikv"
)

// openTiKV starts client-go's in-process TiKV + PD cluster and wraps it in
// the tikv backend, with generous retries for the hot SKU.
func openTiKV(tb testing.TB) store.Store {
	tb.Helper()
	client, cluster, pdClient, err := testutils.NewMockTiKV("", nil)
	if err != nil {
		tb.Fatalf("NewMockTiKV: %v", err)
	}
	testutils.BootstrapWithSingleStore(cluster)
	kvs, err := tikvclient.NewTestTiKVStore(client, pdClient, nil, nil, 0)
	if err != nil {
		tb.Fatalf("NewTestTiKVStore: %v", err)
	}
	s := tikv.New(kvs, tikv.Options{MaxRetries: 1000})
	tb.Cleanup(func() { _ = s.Close(); _ = kvs.Close() })
	return s
}

func init() {
	storeKinds = append(storeKinds, storeKind{name: "tikv", small: true, open: openTiKV})
}
