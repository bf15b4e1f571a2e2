package store

import "errors"

// Sentinel errors shared by every backend. Test them with errors.Is.
var (
	// ErrNotFound is returned by Txn.Get when the key is absent.
	ErrNotFound = errors.New("store: key not found")
	// ErrConflict is returned when a transaction still conflicts after the
	// backend's bounded retries. It is retryable by the caller.
	ErrConflict = errors.New("store: write conflict")
	// ErrUndetermined is returned when a commit's outcome is unknown (for
	// example TiKV's ErrResultUndetermined). The caller must find out whether
	// the write landed (e.g. by a unique id written inside the transaction)
	// before retrying.
	ErrUndetermined = errors.New("store: commit result undetermined")
	// ErrReadOnly is returned by Set and Delete inside View.
	ErrReadOnly = errors.New("store: write in a read-only transaction")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("store: closed")
	// ErrValueTooLarge is returned by Set for values over MaxValueSize.
	ErrValueTooLarge = errors.New("store: value too large")
)

// MaxValueSize is the largest value every backend accepts (TiKV's default
// entry limit is 6 MiB; bbolt's is far larger). Callers keep values well
// below it.
const MaxValueSize = 4 << 20
