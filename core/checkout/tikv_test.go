package checkout

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tikv/client-go/v2/kv"
	"github.com/tikv/client-go/v2/oracle"
	"github.com/tikv/client-go/v2/testutils"
	tikvclient "github.com/tikv/client-go/v2/tikv"

	"shopedge/core/payment/testpay"
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

// openTiKVPessimistic is openTiKV in pessimistic mode with a short lock
// wait, and the raw KVStore for tests that hold locks of their own.
func openTiKVPessimistic(tb testing.TB, lockWait time.Duration) (store.Store, *tikvclient.KVStore) {
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
	s := tikv.New(kvs, tikv.Options{MaxRetries: 1000, Pessimistic: true, LockWaitTimeout: lockWait})
	tb.Cleanup(func() { _ = s.Close(); _ = kvs.Close() })
	return s, kvs
}

// TestTiKVLockWaitTimeoutIsRetried holds a pessimistic lock on the hot
// SKU's stock record while checkouts run with group commit: their reserve
// step meets lock wait timeouts inside the batch transaction, which are
// conflicts, so each is retried and pays once the lock is gone (before,
// the timeout was the request's own error and the checkout answered 500).
func TestTiKVLockWaitTimeoutIsRetried(t *testing.T) {
	for _, gm := range groupModes {
		t.Run(gm.name, func(t *testing.T) {
			st, kvs := openTiKVPessimistic(t, 30*time.Millisecond)
			e := newEnv(t, st, func(c *Config) { gm.mod(c); c.Retries = 50 }, nil)
			e.product("lw", usd(100), 5)
			carts := []string{e.cartWith("lw", 1), e.cartWith("lw", 1)}
			txn, err := kvs.Begin()
			if err != nil {
				t.Fatal(err)
			}
			txn.SetPessimistic(true)
			ts, _ := kvs.CurrentTimestamp(oracle.GlobalTxnScope)
			if err := txn.LockKeys(context.Background(), kv.NewLockCtx(ts, kv.LockAlwaysWait, time.Now()), []byte(store.NSStock+"lw")); err != nil {
				t.Fatal(err)
			}
			time.AfterFunc(200*time.Millisecond, func() { _ = txn.Rollback() })
			var wg sync.WaitGroup
			for i, c := range carts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, err := e.checkout(fmt.Sprint("lw-", i), c, testpay.TokenOK)
					if err != nil || r.Status != 201 {
						t.Errorf("checkout under a held lock: %d %s %v", r.Status, r.Body, err)
					}
				}()
			}
			wg.Wait()
			if s := e.stock("lw"); s.Sold != 2 {
				t.Fatalf("stock %+v", s)
			}
		})
	}
}
