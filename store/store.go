// Package store defines shopedge's transactional key-value contract.
//
// The core keeps all of its state behind Store. Two backends implement it:
// store/embedded (bbolt, one machine, the default) and store/tikv (TiKV via
// client-go, scale-out). Both pass the conformance suite in store/storetest.
// Nothing outside core's main wiring imports a backend directly.
package store

import "context"

// Store is a transactional key-value store with snapshot isolation at least.
type Store interface {
	// Update runs fn in a read-write transaction and commits it.
	//
	// On a write conflict Update re-runs fn from the start on a fresh
	// snapshot (bounded, with backoff), so fn must have no side effects
	// outside tx and must recompute everything from what it reads.
	// An error returned by fn, or by the commit, leaves nothing written.
	// A commit whose outcome cannot be known is reported as ErrUndetermined
	// and is never retried.
	Update(ctx context.Context, fn func(tx Txn) error) error
	// View runs fn on a consistent read-only snapshot.
	View(ctx context.Context, fn func(tx Txn) error) error
	// Close releases the store. It must not be called while transactions run.
	Close() error
}

// Txn is a transaction handle. It is valid only inside the fn passed to
// Update or View and must not be retained or used from other goroutines.
type Txn interface {
	// Get returns the value of key, or ErrNotFound when it is absent.
	// The returned slice is valid until the transaction ends; copy it to keep it.
	Get(key []byte) ([]byte, error)
	// Set stores value under key. Both slices may be reused after Set returns.
	Set(key, value []byte) error
	// Delete removes key; deleting an absent key is not an error.
	Delete(key []byte) error
	// Scan calls fn for each key in [start, end) in ascending byte order,
	// at most limit times (limit <= 0 means no limit). A nil end means no
	// upper bound. In a View transaction the values passed to fn stay
	// valid until the transaction ends, as Get's do; keys, and values in
	// an Update transaction, are valid only during the call. An error
	// returned by fn stops the scan and is returned by Scan.
	Scan(start, end []byte, limit int, fn func(key, value []byte) error) error
}
