// Package tikv is shopedge's scale-out store backend on TiKV, through
// client-go's transactional API (txnkv).
//
// Update runs fn in a client-go transaction and commits it with two-phase
// commit. Write conflicts re-run fn on a fresh snapshot, at most MaxRetries
// times with jittered exponential backoff (internal/retry, shopedge's one
// retry policy), then surface as store.ErrConflict: callers do not retry
// conflicts again.
// A commit whose outcome is unknown (client-go's ErrResultUndetermined) is
// returned as store.ErrUndetermined and never retried. View reads a snapshot
// at a fresh timestamp. Deployment prefixes are applied by store.Prefixed in
// the wiring, not here.
//
// TiKV cannot store empty values, so values that are empty or start with
// 0x00 are stored with one extra leading 0x00 byte, stripped on read; other
// values (JSON, text) are stored as they are.
package tikv

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	tikverr "github.com/tikv/client-go/v2/error"
	"github.com/tikv/client-go/v2/oracle"
	"github.com/tikv/client-go/v2/tikv"
	"github.com/tikv/client-go/v2/txnkv"

	"shopedge/internal/retry"
	"shopedge/store"
)

// Options configures the backend.
type Options struct {
	// MaxRetries bounds how many times a conflicting Update re-runs fn
	// before returning store.ErrConflict.
	MaxRetries int `yaml:"max_retries"`
	// BackoffBase is the first retry's backoff; each retry doubles it up to
	// BackoffMax, and the actual sleep is a random duration up to that (full jitter).
	BackoffBase time.Duration `yaml:"backoff_base"`
	BackoffMax  time.Duration `yaml:"backoff_max"`
	// Pessimistic makes Update transactions pessimistic, for hot keys: Get
	// locks the key (waiting for the current holder) and reads its latest
	// committed value; Set and Delete lock the key before buffering the
	// write. Writers of one hot key then queue on its lock instead of
	// aborting at commit and re-running. Scan still reads the transaction's
	// snapshot and locks nothing. Each lock costs a round trip, so leave it
	// off unless keys are contended.
	Pessimistic bool `yaml:"pessimistic"`
	// LockWaitTimeout bounds how long a pessimistic lock waits (then the
	// attempt counts as a conflict and is retried).
	LockWaitTimeout time.Duration `yaml:"lock_wait_timeout"`
	// LocalLatches is the number of client-go local latch slots Open
	// enables (0 disables): optimistic transactions of this process that
	// write the same keys are ordered in memory before prewrite, so a
	// conflict among them fails fast locally instead of in TiKV. New leaves
	// the KVStore it is given as it is.
	LocalLatches uint `yaml:"local_latches"`
	// AsyncCommit asks TiKV to commit with async commit: the transaction
	// is acknowledged once its prewrite succeeds (one round trip less),
	// for transactions of at most 256 keys (client-go's limit; larger ones
	// use two-phase commit). A cluster that does not support it answers
	// the prewrite without a commit timestamp and client-go falls back to
	// two-phase commit (counted in Stats).
	AsyncCommit bool `yaml:"async_commit"`
	// OnePC asks TiKV to commit transactions whose keys all live in one
	// region in one phase (prewrite and commit in one request); others,
	// and clusters that do not support it, use two-phase commit.
	OnePC bool `yaml:"one_pc"`
}

// DefaultOptions returns the defaults New and Open use for zero fields.
func DefaultOptions() Options {
	return Options{
		MaxRetries:      30,
		BackoffBase:     time.Millisecond,
		BackoffMax:      100 * time.Millisecond,
		LockWaitTimeout: 3 * time.Second,
		LocalLatches:    16384,
	}
}

// Validate reports the first invalid field.
func (o Options) Validate() error {
	switch {
	case o.MaxRetries < 0:
		return fmt.Errorf("tikv: max_retries must be >= 0, got %d", o.MaxRetries)
	case o.BackoffBase < 0:
		return fmt.Errorf("tikv: backoff_base must be >= 0, got %s", o.BackoffBase)
	case o.BackoffMax < o.BackoffBase:
		return fmt.Errorf("tikv: backoff_max (%s) must be >= backoff_base (%s)", o.BackoffMax, o.BackoffBase)
	case o.LockWaitTimeout < 0:
		return fmt.Errorf("tikv: lock_wait_timeout must be >= 0, got %s", o.LockWaitTimeout)
	}
	return nil
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.MaxRetries == 0 {
		o.MaxRetries = d.MaxRetries
	}
	if o.BackoffBase == 0 {
		o.BackoffBase = d.BackoffBase
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = max(d.BackoffMax, o.BackoffBase)
	}
	if o.LockWaitTimeout == 0 {
		o.LockWaitTimeout = d.LockWaitTimeout
	}
	return o
}

// Store is a store.Store on a TiKV cluster. It is safe for concurrent use.
type Store struct {
	kv     *tikv.KVStore
	owned  bool // Close closes kv
	opts   Options
	closed atomic.Bool
	stats  statsCounters
}

var _ store.Store = (*Store)(nil)

// Open connects to the TiKV cluster whose PD endpoints are pdAddrs. Close
// closes the connection. Unlike other zero fields, a zero LocalLatches
// disables latches: start from DefaultOptions. ctx is checked before
// connecting; the PD client applies its own dial timeouts.
func Open(ctx context.Context, pdAddrs []string, opts Options) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(pdAddrs) == 0 {
		return nil, errors.New("tikv: no PD addresses")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	c, err := txnkv.NewClient(pdAddrs)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to TiKV via PD %v: %w", pdAddrs, err)
	}
	if opts.LocalLatches > 0 {
		c.KVStore.EnableTxnLocalLatches(opts.LocalLatches)
	}
	s := New(c.KVStore, opts)
	s.owned = true
	return s, nil
}

// New wraps an existing KVStore (for example client-go's in-process mock
// cluster). Close does not close kv. Zero fields take their DefaultOptions
// value; if opts is invalid New uses DefaultOptions, so call Validate first
// to reject bad configuration. LocalLatches is ignored (see Options).
func New(kv *tikv.KVStore, opts Options) *Store {
	if opts.Validate() != nil {
		opts = DefaultOptions()
	}
	return &Store{kv: kv, opts: opts.withDefaults()}
}

// Close closes the KVStore if Open created it. Later calls return store.ErrClosed.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	if s.owned {
		if err := s.kv.Close(); err != nil {
			return fmt.Errorf("cannot close TiKV client: %w", err)
		}
	}
	return nil
}

// View runs fn on a snapshot at a fresh timestamp.
func (s *Store) View(ctx context.Context, fn func(tx store.Txn) error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ts, err := s.kv.CurrentTimestamp(oracle.GlobalTxnScope)
	if err != nil {
		return fmt.Errorf("cannot get a read timestamp: %w", err)
	}
	return fn(&readTxn{ctx: ctx, snap: s.kv.GetSnapshot(ts)})
}

// Update runs fn in a transaction; see the package doc for retries.
func (s *Store) Update(ctx context.Context, fn func(tx store.Txn) error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.updateOnce(ctx, fn)
		if err == nil {
			s.stats.commits.Add(1)
			return nil
		}
		if !errors.Is(err, errRetry) {
			if errors.Is(err, store.ErrUndetermined) {
				s.stats.undetermined.Add(1)
			}
			return err
		}
		s.stats.conflicts.Add(1)
		if !s.opts.retryPolicy().Allows(attempt) {
			return fmt.Errorf("%w: gave up after %d attempts: %v", store.ErrConflict, attempt+1, err)
		}
		if err := retry.Sleep(ctx, s.opts.retryPolicy().Delay(attempt)); err != nil {
			return err
		}
	}
}

// retryPolicy is the conflict retries' policy: shopedge's one retry
// policy (internal/retry) with MaxRetries, BackoffBase and BackoffMax.
func (o Options) retryPolicy() retry.Policy {
	return retry.Policy{Retries: o.MaxRetries, Base: o.BackoffBase, Max: o.BackoffMax}
}

func (s *Store) updateOnce(ctx context.Context, fn func(tx store.Txn) error) error {
	txn, err := s.kv.Begin()
	if err != nil {
		return fmt.Errorf("cannot begin TiKV transaction: %w", err)
	}
	if s.opts.Pessimistic {
		txn.SetPessimistic(true)
	}
	if s.opts.AsyncCommit || s.opts.OnePC {
		txn.SetEnableAsyncCommit(s.opts.AsyncCommit)
		txn.SetEnable1PC(s.opts.OnePC)
		txn.SetCommitCallback(s.stats.countCommitMode)
	}
	t := &writeTxn{ctx: ctx, s: s, txn: txn}
	s.stats.runs.Add(1)
	if err := fn(t); err != nil {
		_ = txn.Rollback()
		if errors.Is(err, errRetry) {
			return err
		}
		if isConflict(err) {
			return fmt.Errorf("%w: %v", errRetry, err)
		}
		return err
	}
	if err := ctx.Err(); err != nil {
		_ = txn.Rollback()
		return err
	}
	// The commit is not cancelled with ctx: an interrupted commit would only
	// turn a known outcome into an unknown one.
	return mapCommitError(txn.Commit(context.WithoutCancel(ctx)))
}

// errRetry marks an attempt that failed on a conflict and may be re-run.
// It wraps store.ErrConflict, so a caller that sees it inside fn (a lock
// wait timeout or deadlock in pessimistic mode, met by one request of a
// batch transaction that goes on without it) knows the request may be
// retried as it is.
var errRetry = fmt.Errorf("tikv: transaction conflict: %w", store.ErrConflict)

// isConflict reports client-go errors after which re-running fn on a fresh
// snapshot can succeed.
func isConflict(err error) bool {
	if tikverr.IsErrWriteConflict(err) || errors.Is(err, tikverr.ErrLockWaitTimeout) {
		return true
	}
	var latch *tikverr.ErrWriteConflictInLatch
	var deadlock *tikverr.ErrDeadlock
	var retryable *tikverr.ErrRetryable
	return errors.As(err, &latch) || errors.As(err, &deadlock) || errors.As(err, &retryable)
}

// mapCommitError maps a client-go commit error: an unknown outcome becomes
// store.ErrUndetermined (checked first, never retried), a conflict becomes
// errRetry, anything else means nothing was written.
func mapCommitError(err error) error {
	switch {
	case err == nil:
		return nil
	case tikverr.IsErrorUndetermined(err):
		return fmt.Errorf("%w: %v", store.ErrUndetermined, err)
	case isConflict(err):
		return fmt.Errorf("%w: %v", errRetry, err)
	default:
		return fmt.Errorf("cannot commit TiKV transaction: %w", err)
	}
}
