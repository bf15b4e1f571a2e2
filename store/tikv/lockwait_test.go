package tikv

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	pkgerrors "github.com/pingcap/errors"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	tikverr "github.com/tikv/client-go/v2/error"
	"github.com/tikv/client-go/v2/kv"
	"github.com/tikv/client-go/v2/oracle"

	"shopedge/store"
)

// holdLock takes a pessimistic lock on key in a transaction of its own and
// returns the function that rolls it back.
func holdLock(t *testing.T, s *Store, key []byte) (release func()) {
	t.Helper()
	txn, err := s.kv.Begin()
	if err != nil {
		t.Fatal(err)
	}
	txn.SetPessimistic(true)
	ts, err := s.kv.CurrentTimestamp(oracle.GlobalTxnScope)
	if err != nil {
		t.Fatal(err)
	}
	if err := txn.LockKeys(context.Background(), kv.NewLockCtx(ts, kv.LockAlwaysWait, time.Now()), key); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	return func() { once.Do(func() { _ = txn.Rollback() }) }
}

// TestLockWaitTimeoutIsConflict checks that a pessimistic lock wait that
// times out is store.ErrConflict inside fn: a batch transaction that
// applies several requests (checkout's group commit) drops only the
// request that met the lock, commits the others, and the caller retries
// that request. Before, the error was the request's own failure and nothing
// retried it (reserve answered 500, mark-paid 503).
func TestLockWaitTimeoutIsConflict(t *testing.T) {
	s := mustNew(t, Options{Pessimistic: true, LockWaitTimeout: 50 * time.Millisecond, MaxRetries: 1000})
	release := holdLock(t, s, []byte("hot"))
	defer release()
	var inner error
	err := s.Update(context.Background(), func(tx store.Txn) error {
		// Another request of the batch goes through.
		if err := tx.Set([]byte("other"), []byte("v")); err != nil {
			return err
		}
		_, inner = tx.Get([]byte("hot"))
		return nil // the batch drops the failed request and commits the rest
	})
	if err != nil {
		t.Fatalf("batch transaction: %v", err)
	}
	if !errors.Is(inner, store.ErrConflict) {
		t.Fatalf("lock wait timeout inside fn = %v, want store.ErrConflict", inner)
	}
	if !errors.Is(inner, tikverr.ErrLockWaitTimeout) {
		t.Fatalf("the cause is lost: %v", inner)
	}
	// Set meets the lock the same way.
	err = s.Update(context.Background(), func(tx store.Txn) error {
		inner = tx.Set([]byte("hot"), []byte("x"))
		return nil
	})
	if err != nil || !errors.Is(inner, store.ErrConflict) {
		t.Fatalf("Set on a locked key: %v / %v", err, inner)
	}

	// A single transaction that returns the error is re-run until the lock
	// is gone, then commits.
	go func() { time.Sleep(300 * time.Millisecond); release() }()
	runs := 0
	err = s.Update(context.Background(), func(tx store.Txn) error {
		runs++
		if _, err := tx.Get([]byte("hot")); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.Set([]byte("hot"), []byte("mine"))
	})
	if err != nil || runs < 2 {
		t.Fatalf("single transaction after lock wait timeouts: %v after %d runs", err, runs)
	}
}

// TestConflictErrorsMap checks mapTxnError on the conflicts client-go
// returns from a lock request: wrapped (as client-go wraps them) or not,
// each becomes store.ErrConflict; anything else passes unchanged.
func TestConflictErrorsMap(t *testing.T) {
	conflicts := []error{
		pkgerrors.WithStack(tikverr.ErrLockWaitTimeout),
		&tikverr.ErrDeadlock{Deadlock: &kvrpcpb.Deadlock{}},
		pkgerrors.WithStack(&tikverr.ErrDeadlock{Deadlock: &kvrpcpb.Deadlock{}, IsRetryable: true}),
		&tikverr.ErrWriteConflictInLatch{StartTS: 1},
	}
	for _, c := range conflicts {
		err := mapTxnError(fmt.Errorf("cannot lock %q: %w", "k", c))
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("%T: %v is not a conflict", c, err)
		}
	}
	other := errors.New("region unavailable")
	if err := mapTxnError(other); err != other {
		t.Fatalf("a non-conflict changed: %v", err)
	}
}
