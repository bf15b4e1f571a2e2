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
	// Reruns is the number of batches whose fns ran again because the
	// commit of the batch before, whose writes they had read, failed.
	Reruns uint64
}

type statsCounters struct {
	batches, updates, discarded, maxBatch, reruns atomic.Uint64
}

// Stats returns a snapshot of the committer's counters.
func (db *DB) Stats() Stats {
	return Stats{
		Batches:   db.stats.batches.Load(),
		Updates:   db.stats.updates.Load(),
		Discarded: db.stats.discarded.Load(),
		MaxBatch:  db.stats.maxBatch.Load(),
		Reruns:    db.stats.reruns.Load(),
	}
}

// commitLoop is the committer: it takes the callers queued so far (at most
// MaxBatchSize) and runs their fns on a read snapshot under the writes of
// the batch being committed, if any (execute), then hands the batch's
// writes to writeLoop, which applies them to a bbolt write transaction and
// commits it, and goes on with the next batch while that commit's fsync
// runs. So the fns of one batch run while the previous one is made
// durable, instead of after it. Callers are answered only once their batch
// (and, for a failed fn, the batch before) is known committed. If a commit
// fails, the batch executed on top of it runs again from a fresh snapshot
// (the only case where an fn runs twice).
func (db *DB) commitLoop() {
	defer close(db.done)
	jobs := make(chan *job)
	results := make(chan error, 1)
	writerDone := make(chan struct{})
	go db.writeLoop(jobs, results, writerDone)
	defer func() {
		close(jobs)
		<-writerDone
	}()
	a := new(arena)
	sets := [2]*writeSet{newWriteSet(a), newWriteSet(a)}
	caller := newWriteSet(a)
	var prev *writeSet // writes handed to writeLoop whose result is pending
	batch := make([]*request, 0, db.opts.MaxBatchSize)
	for {
		req, ok := <-db.reqs
		if !ok {
			if prev != nil {
				<-results
			}
			return
		}
		batch = append(batch[:0], req)
		batch = db.collect(batch)
		bw := sets[0]
		if bw == prev {
			bw = sets[1]
		}
		var merged []*request
		for {
			bw.reset()
			if prev != nil {
				bw.inherit(prev)
			}
			merged = db.execute(batch, bw, caller)
			if prev == nil {
				break
			}
			err := <-results
			prev = nil
			if err == nil {
				break
			}
			// The batch read writes that never landed: run it again.
			db.stats.reruns.Add(1)
			for _, r := range batch {
				r.err, r.panicVal = nil, nil
			}
		}
		for _, r := range batch {
			if r.err != nil {
				db.finish(r, r.err, false)
			}
		}
		if len(merged) > 0 {
			jobs <- &job{reqs: merged, ws: bw}
			prev = bw
		}
		clear(batch)
	}
}

// job is one batch's writes for writeLoop; reqs are the callers whose fn
// succeeded, answered when the commit ends.
type job struct {
	reqs []*request
	ws   *writeSet
}

// execute runs every request's fn in order on a read snapshot under bw
// (the batch's writes so far, and those inherited from the batch being
// committed) and merges the writes of each fn that succeeded into bw. A
// request whose fn fails gets r.err (answered by the caller of execute).
// It returns the requests that succeeded.
func (db *DB) execute(batch []*request, bw, caller *writeSet) []*request {
	rtx, err := db.bolt.Begin(false)
	if err != nil {
		err = fmt.Errorf("cannot begin bbolt read transaction: %w", err)
		for _, r := range batch {
			r.err = err
		}
		return nil
	}
	defer func() { _ = rtx.Rollback() }()
	b := rtx.Bucket(bucketName)
	w := &writeTxn{b: b, c: b.Cursor(), w: caller, batch: bw}
	merged := make([]*request, 0, len(batch))
	for _, r := range batch {
		caller.reset()
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		if !w.run(r) {
			continue
		}
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		bw.merge(caller)
		merged = append(merged, r)
	}
	caller.reset()
	return merged
}

// writeLoop commits each job's writes on one bbolt write transaction (with
// its fsync), answers the job's callers and reports the outcome on results.
func (db *DB) writeLoop(jobs <-chan *job, results chan<- error, done chan<- struct{}) {
	defer close(done)
	var buf []wsEntry
	for j := range jobs {
		var err error
		buf, err = db.commit(j.ws, buf)
		if err == nil {
			n := uint64(len(j.reqs))
			db.stats.batches.Add(1)
			db.stats.updates.Add(n)
			for {
				m := db.stats.maxBatch.Load()
				if n <= m || db.stats.maxBatch.CompareAndSwap(m, n) {
					break
				}
			}
		}
		for _, r := range j.reqs {
			db.finish(r, err, true)
		}
		clear(buf)
		results <- err
	}
}

// commit applies ws's own writes to a bbolt write transaction in key order
// (bbolt then fills each leaf left to right instead of shifting elements in
// nodes that grow in random order: about a third less committer CPU for a
// batch of checkouts, measured with -cpuprofile) and commits it. buf is
// scratch space, returned for reuse.
func (db *DB) commit(ws *writeSet, buf []wsEntry) ([]wsEntry, error) {
	btx, err := db.bolt.Begin(true)
	if err != nil {
		return buf, fmt.Errorf("cannot begin bbolt write transaction: %w", err)
	}
	b := btx.Bucket(bucketName)
	buf = ws.sortedOwn(buf)
	for _, e := range buf {
		if e.del {
			err = b.Delete(e.k)
		} else {
			err = b.Put(e.k, e.v)
		}
		if err != nil {
			_ = btx.Rollback()
			return buf, fmt.Errorf("cannot apply writes to bbolt transaction: cannot write key %q: %w", e.k, err)
		}
	}
	if db.commitHook != nil {
		if err := db.commitHook(); err != nil {
			_ = btx.Rollback()
			return buf, fmt.Errorf("%w: cannot commit bbolt transaction: %v", store.ErrUndetermined, err)
		}
	}
	if err := btx.Commit(); err != nil {
		// bbolt may have written the meta page before the failing sync:
		// whether the batch landed is unknown.
		return buf, fmt.Errorf("%w: cannot commit bbolt transaction: %v", store.ErrUndetermined, err)
	}
	return buf, nil
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

// finish answers r; the committer must not touch r afterwards.
func (db *DB) finish(r *request, err error, committed bool) {
	if !committed || err != nil {
		db.stats.discarded.Add(1)
	}
	r.err = err
	close(r.done)
}
