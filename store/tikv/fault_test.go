package tikv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pkgerrors "github.com/pingcap/errors"
	tikverr "github.com/tikv/client-go/v2/error"
	"github.com/tikv/client-go/v2/tikv"
	"github.com/tikv/client-go/v2/tikvrpc"

	"shopedge/store"
)

// faultClient fails commit RPCs on demand, as a network that drops the
// reply would: with deliver set, the commit reaches the cluster first.
type faultClient struct {
	tikv.Client
	failCommits atomic.Int32 // commit RPCs still to fail
	deliver     bool
}

func (c *faultClient) SendRequest(ctx context.Context, addr string, req *tikvrpc.Request, timeout time.Duration) (*tikvrpc.Response, error) {
	if req.Type == tikvrpc.CmdCommit && c.failCommits.Add(-1) >= 0 {
		if c.deliver {
			if _, err := c.Client.SendRequest(ctx, addr, req, timeout); err != nil {
				return nil, err
			}
		}
		return nil, context.Canceled // the reply is lost; not retried by client-go
	}
	return c.Client.SendRequest(ctx, addr, req, timeout)
}

func newFaultStore(t *testing.T, deliver bool) (*Store, *faultClient) {
	t.Helper()
	fc := &faultClient{deliver: deliver}
	kvs := newMockKV(t, func(c tikv.Client) tikv.Client { fc.Client = c; return fc }, 0)
	s := New(kvs, Options{})
	t.Cleanup(func() { _ = s.Close() })
	return s, fc
}

func TestUndeterminedCommitIsReportedNotRetried(t *testing.T) {
	for _, deliver := range []bool{true, false} {
		t.Run(fmt.Sprintf("landed=%v", deliver), func(t *testing.T) {
			s, fc := newFaultStore(t, deliver)
			fc.failCommits.Store(1)
			runs := 0
			err := s.Update(context.Background(), func(tx store.Txn) error {
				runs++
				return tx.Set([]byte("order/1"), []byte("paid"))
			})
			if !errors.Is(err, store.ErrUndetermined) {
				t.Fatalf("Update = %v, want ErrUndetermined", err)
			}
			if runs != 1 {
				t.Fatalf("fn ran %d times; an undetermined commit must not be retried", runs)
			}
			if st := s.Stats(); st.Undetermined != 1 {
				t.Fatalf("stats %+v", st)
			}
			// The caller finds out by reading; both outcomes are possible in
			// general, and here the fault decides which.
			var got string
			err = s.View(context.Background(), func(tx store.Txn) error {
				v, err := tx.Get([]byte("order/1"))
				if errors.Is(err, store.ErrNotFound) {
					got = "<nil>"
					return nil
				}
				got = string(v)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]string{true: "paid", false: "<nil>"}[deliver]; got != want {
				t.Fatalf("after undetermined commit: %q, want %q", got, want)
			}
		})
	}
}

func TestMapCommitError(t *testing.T) {
	f := func(in error, want error, retry bool) {
		t.Helper()
		got := mapCommitError(in)
		if want != nil && !errors.Is(got, want) {
			t.Errorf("mapCommitError(%v) = %v, want %v", in, got, want)
		}
		if errors.Is(got, errRetry) != retry {
			t.Errorf("mapCommitError(%v) = %v, retry %v", in, got, !retry)
		}
		if errors.Is(got, store.ErrUndetermined) && errors.Is(got, errRetry) {
			t.Errorf("mapCommitError(%v) is both undetermined and retryable", in)
		}
	}
	if mapCommitError(nil) != nil {
		t.Fatal("nil mapped to an error")
	}
	f(tikverr.ErrResultUndetermined, store.ErrUndetermined, false)
	f(pkgerrors.WithStack(tikverr.ErrResultUndetermined), store.ErrUndetermined, false)
	f(tikverr.NewErrWriteConflictWithArgs(1, 2, 3, []byte("k"), 0), nil, true)
	f(pkgerrors.Trace(&tikverr.ErrWriteConflictInLatch{StartTS: 1}), nil, true)
	f(&tikverr.ErrDeadlock{}, nil, true)
	f(tikverr.ErrLockWaitTimeout, nil, true)
	other := errors.New("region unavailable")
	f(other, other, false)
}

func TestConflictGivesUpWithErrConflict(t *testing.T) {
	s := mustNew(t, Options{MaxRetries: 2, BackoffBase: time.Microsecond, BackoffMax: time.Microsecond})
	runs := 0
	err := s.Update(context.Background(), func(tx store.Txn) error {
		runs++
		if _, err := tx.Get([]byte("k")); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		// A concurrent writer commits the same key after our snapshot.
		if err := s.Update(context.Background(), func(tx store.Txn) error {
			return tx.Set([]byte("k"), []byte("other"))
		}); err != nil {
			return err
		}
		return tx.Set([]byte("k"), []byte("mine"))
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Update = %v, want ErrConflict", err)
	}
	if runs != 3 {
		t.Fatalf("fn ran %d times, want 1 + MaxRetries = 3", runs)
	}
}

func TestRetriesUnderContention(t *testing.T) {
	s := mustNew(t, Options{MaxRetries: 1000})
	const n = 8
	done := make(chan error, n)
	for range n {
		go func() {
			done <- s.Update(context.Background(), func(tx store.Txn) error {
				v, err := tx.Get([]byte("c"))
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				time.Sleep(5 * time.Millisecond) // widen the race window
				return tx.Set([]byte("c"), store.AppendUint64(nil, store.Uint64(v)+1))
			})
		}()
	}
	for range n {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if st.Commits != n || st.Runs <= st.Commits || st.Conflicts == 0 {
		t.Fatalf("stats %+v: want %d commits and more runs than commits", st, n)
	}
}

func TestOptionsValidate(t *testing.T) {
	f := func(o Options, field string) {
		t.Helper()
		err := o.Validate()
		if field == "" {
			if err != nil {
				t.Errorf("Validate(%+v) = %v", o, err)
			}
			return
		}
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("Validate(%+v) = %v, want an error naming %s", o, err, field)
		}
	}
	f(DefaultOptions(), "")
	f(Options{MaxRetries: -1}, "max_retries")
	f(Options{BackoffBase: -1}, "backoff_base")
	f(Options{BackoffBase: time.Second, BackoffMax: time.Millisecond}, "backoff_max")
	f(Options{LockWaitTimeout: -1}, "lock_wait_timeout")
}

func TestValueEncoding(t *testing.T) {
	f := func(in []byte) {
		t.Helper()
		enc := encodeValue(in)
		if len(enc) == 0 {
			t.Errorf("encodeValue(%x) is empty", in)
		}
		if got := decodeValue(enc); string(got) != string(in) {
			t.Errorf("decode(encode(%x)) = %x", in, got)
		}
	}
	f(nil)
	f([]byte{})
	f([]byte{0})
	f([]byte{0, 0, 1})
	f([]byte(`{"a":1}`))
	f([]byte{0xff})
}
