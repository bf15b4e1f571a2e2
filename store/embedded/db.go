// Package embedded is shopedge's single-machine store backend on bbolt.
//
// All keys live in one bbolt bucket. View runs on a bbolt read transaction
// (a snapshot that runs beside writers). Update is group-committed: a
// committer goroutine runs the fns of concurrent callers one after another
// and a writer goroutine commits their writes on one bbolt write
// transaction with one fsync. Each fn writes into its own buffer, which
// joins the batch's writes only when fn returns nil, so an error in one
// caller's fn discards only that caller's writes. Writers are serialised,
// so a transaction never conflicts.
//
// Commits are pipelined: while one batch is being written and fsynced, the
// fns of the next run on a read snapshot under the writes of the batch
// being committed (see commitLoop), and their callers are answered after
// their own commit. Only if a commit fails does the batch that read its
// writes run again (the store contract allows re-running fn).
package embedded

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"shopedge/store"
)

// bucketName is the one bucket holding every key.
var bucketName = []byte("kv")

// Options configures Open.
type Options struct {
	// NoSync skips fsync on commit (tests and throwaway data only): a crash
	// may then lose acknowledged writes. Default false.
	NoSync bool `yaml:"no_sync"`
	// MaxBatchSize caps how many Update calls share one bbolt transaction.
	MaxBatchSize int `yaml:"max_batch_size"`
	// MaxBatchDelay is how long a batch that is not full waits for more
	// callers before committing. 0 commits at once: batches still form from
	// callers that arrived while the previous commit's fsync ran.
	MaxBatchDelay time.Duration `yaml:"max_batch_delay"`
	// Timeout bounds the wait for the file lock held by another process.
	Timeout time.Duration `yaml:"timeout"`
	// InitialMmapSize is bbolt's initial mmap size. While the database fits
	// in it, long View calls never block a commit that grows the file.
	InitialMmapSize int `yaml:"initial_mmap_size"`
}

// DefaultOptions returns the options Open uses for zero fields.
func DefaultOptions() Options {
	return Options{
		MaxBatchSize:    1000,
		Timeout:         5 * time.Second,
		InitialMmapSize: 256 << 20,
	}
}

// Validate reports the first invalid field.
func (o Options) Validate() error {
	switch {
	case o.MaxBatchSize < 0:
		return fmt.Errorf("embedded: max_batch_size must be >= 0, got %d", o.MaxBatchSize)
	case o.MaxBatchDelay < 0:
		return fmt.Errorf("embedded: max_batch_delay must be >= 0, got %s", o.MaxBatchDelay)
	case o.Timeout < 0:
		return fmt.Errorf("embedded: timeout must be >= 0, got %s", o.Timeout)
	case o.InitialMmapSize < 0:
		return fmt.Errorf("embedded: initial_mmap_size must be >= 0, got %d", o.InitialMmapSize)
	}
	return nil
}

// DB is a store.Store on one bbolt file. It is safe for concurrent use and
// owns the file until Close.
type DB struct {
	bolt   *bolt.DB
	opts   Options
	reqs   chan *request
	done   chan struct{} // closed when the committer has exited
	mu     sync.RWMutex  // guards closed against sends on reqs
	closed bool
	stats  statsCounters
	// commitHook, when set (tests only), runs before each bbolt commit;
	// an error fails that commit.
	commitHook func() error
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) the bbolt file at path and starts its
// committer. Zero option fields take their DefaultOptions value.
func Open(path string, opts Options) (*DB, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	def := DefaultOptions()
	if opts.MaxBatchSize == 0 {
		opts.MaxBatchSize = def.MaxBatchSize
	}
	if opts.InitialMmapSize == 0 {
		opts.InitialMmapSize = def.InitialMmapSize
	}
	if opts.Timeout == 0 {
		opts.Timeout = def.Timeout
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:         opts.Timeout,
		NoSync:          opts.NoSync,
		InitialMmapSize: opts.InitialMmapSize,
		FreelistType:    bolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot open bbolt file %s: %w", path, err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketName)
		return err
	})
	if err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("cannot create bucket in %s: %w", path, err)
	}
	db := &DB{
		bolt: bdb,
		opts: opts,
		reqs: make(chan *request, opts.MaxBatchSize),
		done: make(chan struct{}),
	}
	go db.commitLoop()
	return db, nil
}

// Update runs fn in a read-write transaction that is group-committed with
// concurrent callers (see the package doc). A ctx cancelled before fn's
// writes join a batch returns ctx.Err() and writes nothing; once joined, the
// commit's result is returned. A panic in fn is re-raised in the caller.
//
// fn runs on the committer goroutine while every other writer waits, so it
// must be short and must not block (no network calls) and must not call
// Update on the same DB (that would deadlock). A failed bbolt commit is
// reported as store.ErrUndetermined for every caller in the batch.
func (db *DB) Update(ctx context.Context, fn func(tx store.Txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &request{ctx: ctx, fn: fn, done: make(chan struct{})}
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return store.ErrClosed
	}
	select {
	case db.reqs <- req:
	case <-ctx.Done():
		db.mu.RUnlock()
		return ctx.Err()
	}
	db.mu.RUnlock()
	<-req.done
	if req.panicVal != nil {
		panic(req.panicVal)
	}
	return req.err
}

// View runs fn on a bbolt read transaction: a snapshot unaffected by
// commits that happen while fn runs.
func (db *DB) View(ctx context.Context, fn func(tx store.Txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := db.bolt.View(func(btx *bolt.Tx) error {
		b := btx.Bucket(bucketName)
		return fn(&readTxn{b: b, c: b.Cursor()})
	})
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return store.ErrClosed
	}
	return err
}

// Close stops accepting transactions, lets queued ones finish, and closes
// the file. It must not be called while View calls run.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	close(db.reqs)
	db.mu.Unlock()
	<-db.done
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("cannot close bbolt file: %w", err)
	}
	return nil
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.bolt.Path() }

// PipelinesCommits reports that the DB runs a batch's fns while the batch
// before is still being committed (see commitLoop): a caller that combines
// its own batches gains by keeping two in flight.
func (db *DB) PipelinesCommits() bool { return true }
