package embedded

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"shopedge/store"
)

// request is one Update call waiting for its batch. The committer owns it
// until done is closed; then the caller reads err and panicVal.
type request struct {
	ctx      context.Context
	fn       func(tx store.Txn) error
	err      error
	panicVal any
	done     chan struct{}
}

// Stats counts the committer's work since Open.
type Stats struct {
	// Batches is the number of bbolt write transactions committed; each is
	// one durable sync point (fsync) unless NoSync is set.
	Batches uint64
	// Updates is the number of Update calls whose writes were committed.
	Updates uint64
	// Discarded is the number of Update calls that wrote nothing because
	// fn returned an error, panicked, or ctx was cancelled.
	Discarded uint64
	// MaxBatch is the largest number of Update calls in one committed batch.
	MaxBatch uint64
}

type statsCounters struct {
	batches, updates, discarded, maxBatch atomic.Uint64
}

// Stats returns a snapshot of the committer's counters.
func (db *DB) Stats() Stats {
	return Stats{
		Batches:   db.stats.batches.Load(),
		Updates:   db.stats.updates.Load(),
		Discarded: db.stats.discarded.Load(),
		MaxBatch:  db.stats.maxBatch.Load(),
	}
}

// commitLoop is the committer goroutine: it takes the callers queued so far
// (at most MaxBatchSize), runs them on one transaction and commits it. Callers
// arriving during the commit's fsync queue in reqs and form the next batch.
func (db *DB) commitLoop() {
	defer close(db.done)
	batch := make([]*request, 0, db.opts.MaxBatchSize)
	for {
		req, ok := <-db.reqs
		if !ok {
			return
		}
		batch = append(batch[:0], req)
		batch = db.collect(batch)
		db.runBatch(batch)
		clear(batch)
	}
}

// collect appends queued requests to batch without blocking, then, if
// MaxBatchDelay is set and the batch is not full, waits up to that long for more.
func (db *DB) collect(batch []*request) []*request {
	max := db.opts.MaxBatchSize
	for len(batch) < max {
		select {
		case r, ok := <-db.reqs:
			if !ok {
				return batch
			}
			batch = append(batch, r)
			continue
		default:
		}
		break
	}
	if db.opts.MaxBatchDelay <= 0 || len(batch) >= max {
		return batch
	}
	timer := time.NewTimer(db.opts.MaxBatchDelay)
	defer timer.Stop()
	for len(batch) < max {
		select {
		case r, ok := <-db.reqs:
			if !ok {
				return batch
			}
			batch = append(batch, r)
		case <-timer.C:
			return batch
		}
	}
	return batch
}

// runBatch runs every request's fn in order on one bbolt write transaction.
// A request whose fn fails is answered at once and its overlay dropped; the
// others' overlays are merged and committed together.
func (db *DB) runBatch(batch []*request) {
	btx, err := db.bolt.Begin(true)
	if err != nil {
		err = fmt.Errorf("cannot begin bbolt write transaction: %w", err)
		for _, r := range batch {
			db.finish(r, err, false)
		}
		return
	}
	b := btx.Bucket(bucketName)
	w := &writeTxn{b: b, c: b.Cursor(), w: db.ws}
	defer w.w.reset()
	merged := 0
	for _, r := range batch {
		w.w.reset()
		if err := r.ctx.Err(); err != nil {
			db.finish(r, err, false)
			continue
		}
		if !w.run(r) {
			db.finish(r, r.err, false)
			continue
		}
		if err := r.ctx.Err(); err != nil {
			db.finish(r, err, false)
			continue
		}
		if err := w.apply(); err != nil {
			// The shared transaction is now partly modified: drop it all.
			_ = btx.Rollback()
			err = fmt.Errorf("cannot apply writes to bbolt transaction: %w", err)
			for _, r := range batch {
				if !isDone(r) {
					db.finish(r, err, false)
				}
			}
			return
		}
		batch[merged] = r
		merged++
	}
	if merged == 0 {
		_ = btx.Rollback()
		return
	}
	err = btx.Commit()
	if err != nil {
		// bbolt may have written the meta page before the failing sync:
		// whether the batch landed is unknown.
		err = fmt.Errorf("%w: cannot commit bbolt transaction: %v", store.ErrUndetermined, err)
	} else {
		db.stats.batches.Add(1)
		db.stats.updates.Add(uint64(merged))
		for {
			m := db.stats.maxBatch.Load()
			if uint64(merged) <= m || db.stats.maxBatch.CompareAndSwap(m, uint64(merged)) {
				break
			}
		}
	}
	for _, r := range batch[:merged] {
		db.finish(r, err, true)
	}
}

func isDone(r *request) bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// finish answers r; the committer must not touch r afterwards.
func (db *DB) finish(r *request, err error, committed bool) {
	if !committed || err != nil {
		db.stats.discarded.Add(1)
	}
	r.err = err
	close(r.done)
}
