package tikv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	tikverr "github.com/tikv/client-go/v2/error"
	"github.com/tikv/client-go/v2/kv"
	"github.com/tikv/client-go/v2/oracle"
	"github.com/tikv/client-go/v2/txnkv/transaction"
	"github.com/tikv/client-go/v2/txnkv/txnsnapshot"

	"shopedge/store"
)

// Stats counts Update work since New.
type Stats struct {
	Runs         uint64 // fn invocations, retries included
	Commits      uint64 // Updates that committed
	Conflicts    uint64 // attempts that failed on a conflict (each followed by a retry or ErrConflict)
	Undetermined uint64 // Updates that returned ErrUndetermined
	// With AsyncCommit or OnePC: commits that used async commit or one
	// phase, and those that tried and fell back to two-phase commit (the
	// cluster did not honour it, or the transaction was too large).
	AsyncCommits, OnePCs, Fallbacks uint64
}

type statsCounters struct {
	runs, commits, conflicts, undetermined atomic.Uint64
	asyncCommits, onePCs, fallbacks        atomic.Uint64
}

// countCommitMode is client-go's commit callback: info is its TxnInfo as
// JSON, of which the commit mode and the fallback flags are counted.
func (c *statsCounters) countCommitMode(info string, err error) {
	if err != nil {
		return
	}
	switch {
	case strings.Contains(info, `"txn_commit_mode":"1pc"`):
		c.onePCs.Add(1)
	case strings.Contains(info, `"txn_commit_mode":"async_commit"`):
		c.asyncCommits.Add(1)
	}
	if strings.Contains(info, `"async_commit_fallback":true`) || strings.Contains(info, `"one_pc_fallback":true`) {
		c.fallbacks.Add(1)
	}
}

// Stats returns a snapshot of the counters.
func (s *Store) Stats() Stats {
	return Stats{
		Runs:         s.stats.runs.Load(),
		Commits:      s.stats.commits.Load(),
		Conflicts:    s.stats.conflicts.Load(),
		Undetermined: s.stats.undetermined.Load(),
		AsyncCommits: s.stats.asyncCommits.Load(),
		OnePCs:       s.stats.onePCs.Load(),
		Fallbacks:    s.stats.fallbacks.Load(),
	}
}

var errEmptyKey = errors.New("tikv: empty key")

// encodeValue makes v storable: TiKV rejects empty values, so empty values
// and values starting with 0x00 get one leading 0x00.
func encodeValue(v []byte) []byte {
	if len(v) == 0 || v[0] == 0 {
		return append([]byte{0}, v...)
	}
	return v
}

// decodeValue undoes encodeValue without copying.
func decodeValue(v []byte) []byte {
	if len(v) > 0 && v[0] == 0 {
		return v[1:]
	}
	return v
}

func get(ctx context.Context, g interface {
	Get(context.Context, []byte, ...kv.GetOption) (kv.ValueEntry, error)
}, key []byte) ([]byte, error) {
	e, err := g.Get(ctx, key)
	if tikverr.IsErrNotFound(err) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, mapTxnError(fmt.Errorf("cannot get %q: %w", key, err))
	}
	return decodeValue(e.Value), nil
}

func scan(it interface {
	Valid() bool
	Key() []byte
	Value() []byte
	Next() error
	Close()
}, limit int, fn func(k, v []byte) error) error {
	defer it.Close()
	for n := 0; it.Valid() && (limit <= 0 || n < limit); n++ {
		if err := fn(it.Key(), decodeValue(it.Value())); err != nil {
			return err
		}
		if err := it.Next(); err != nil {
			return mapTxnError(fmt.Errorf("cannot advance TiKV iterator: %w", err))
		}
	}
	return nil
}

// readTxn is View's Txn on a snapshot.
type readTxn struct {
	ctx  context.Context
	snap *txnsnapshot.KVSnapshot
}

func (t *readTxn) Get(key []byte) ([]byte, error) { return get(t.ctx, t.snap, key) }
func (t *readTxn) Set(key, value []byte) error    { return store.ErrReadOnly }
func (t *readTxn) Delete(key []byte) error        { return store.ErrReadOnly }
func (t *readTxn) Scan(start, end []byte, limit int, fn func(key, value []byte) error) error {
	if start == nil {
		start = []byte{}
	}
	it, err := t.snap.Iter(start, end)
	if err != nil {
		return mapTxnError(fmt.Errorf("cannot scan: %w", err))
	}
	return scan(it, limit, fn)
}

// mapTxnError marks a conflict met inside fn (a lock that could not be
// taken or waited out, a deadlock, a write conflict) as errRetry, which is
// store.ErrConflict: Update re-runs fn, and a caller that applies several
// requests on one transaction (checkout's group commit) retries the one
// request that met it. Other errors pass unchanged.
func mapTxnError(err error) error {
	if err == nil || errors.Is(err, errRetry) || !isConflict(err) {
		return err
	}
	return fmt.Errorf("%w: %w", errRetry, err)
}

// writeTxn is Update's Txn on a client-go transaction. In pessimistic mode
// it remembers values returned by the locks it took (a locked key cannot
// change under the transaction).
type writeTxn struct {
	ctx    context.Context
	s      *Store
	txn    *transaction.KVTxn
	locked map[string]kv.ReturnedValue // locked by Get, with the value read
	wlocks map[string]struct{}         // locked by Set or Delete
}

func (t *writeTxn) Get(key []byte) ([]byte, error) {
	if !t.s.opts.Pessimistic {
		return get(t.ctx, t.txn, key)
	}
	if e, err := t.txn.GetMemBuffer().Get(t.ctx, key); err == nil {
		if len(e.Value) == 0 { // deleted in this transaction
			return nil, store.ErrNotFound
		}
		return decodeValue(e.Value), nil
	}
	rv, ok := t.locked[string(key)]
	if !ok {
		var err error
		if rv, err = t.lock(key, true); err != nil {
			return nil, err
		}
	}
	if !rv.Exists {
		return nil, store.ErrNotFound
	}
	return decodeValue(rv.Value), nil
}

// lock takes a pessimistic lock on key at a fresh for-update timestamp,
// waiting up to LockWaitTimeout for the current holder; with values it also
// returns the key's latest committed value. A write conflict here means the
// key was committed after the timestamp was taken (typically by the holder
// we waited for), so the lock is retried at a newer timestamp, a few times,
// before the whole transaction is.
func (t *writeTxn) lock(key []byte, values bool) (kv.ReturnedValue, error) {
	const lockAttempts = 8
	key = bytes.Clone(key) // client-go keeps locked keys; callers may reuse theirs
	var err error
	for range lockAttempts {
		var ts uint64
		ts, err = t.s.kv.CurrentTimestamp(oracle.GlobalTxnScope)
		if err != nil {
			return kv.ReturnedValue{}, fmt.Errorf("cannot get a for-update timestamp: %w", err)
		}
		lc := kv.NewLockCtx(ts, t.s.opts.LockWaitTimeout.Milliseconds(), time.Now())
		if values {
			lc.InitReturnValues(1)
		}
		err = t.txn.LockKeys(t.ctx, lc, key)
		if err == nil {
			rv := lc.Values[string(key)]
			if values && !rv.AlreadyLocked {
				if t.locked == nil {
					t.locked = make(map[string]kv.ReturnedValue)
				}
				t.locked[string(key)] = rv
			}
			return rv, nil
		}
		if !tikverr.IsErrWriteConflict(err) {
			break
		}
	}
	if isConflict(err) {
		return kv.ReturnedValue{}, fmt.Errorf("%w: cannot lock %q: %w", errRetry, key, err)
	}
	return kv.ReturnedValue{}, fmt.Errorf("cannot lock %q: %w", key, err)
}

func (t *writeTxn) lockForWrite(key []byte) error {
	if !t.s.opts.Pessimistic {
		return nil
	}
	if _, ok := t.locked[string(key)]; ok {
		return nil
	}
	if _, ok := t.wlocks[string(key)]; ok {
		return nil
	}
	if _, err := t.lock(key, false); err != nil {
		return err
	}
	if t.wlocks == nil {
		t.wlocks = make(map[string]struct{})
	}
	t.wlocks[string(key)] = struct{}{}
	return nil
}

func (t *writeTxn) Set(key, value []byte) error {
	if len(key) == 0 {
		return errEmptyKey
	}
	if len(value) > store.MaxValueSize {
		return store.ErrValueTooLarge
	}
	if err := t.lockForWrite(key); err != nil {
		return err
	}
	if err := t.txn.Set(key, encodeValue(value)); err != nil {
		return fmt.Errorf("cannot set %q: %w", key, err)
	}
	return nil
}

func (t *writeTxn) Delete(key []byte) error {
	if len(key) == 0 {
		return errEmptyKey
	}
	if err := t.lockForWrite(key); err != nil {
		return err
	}
	if err := t.txn.Delete(key); err != nil {
		return fmt.Errorf("cannot delete %q: %w", key, err)
	}
	return nil
}

func (t *writeTxn) Scan(start, end []byte, limit int, fn func(key, value []byte) error) error {
	if start == nil {
		start = []byte{}
	}
	it, err := t.txn.Iter(start, end)
	if err != nil {
		return mapTxnError(fmt.Errorf("cannot scan: %w", err))
	}
	return scan(it, limit, fn)
}
