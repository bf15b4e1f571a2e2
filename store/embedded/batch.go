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

// commitLoop is the committer. It runs the fns of callers as they arrive
// and gathers their writes into the open batch; writeLoop applies a batch's
// writes to a bbolt write transaction and commits it. The open batch is
// handed to writeLoop as soon as writeLoop is idle (after MaxBatchDelay, if
// set, or once it holds MaxBatchSize callers); while writeLoop commits and
// fsyncs one batch, the next keeps taking callers. Their fns read a
// snapshot under the writes of the batch being committed, so a caller that
// arrives during a commit waits for that commit and its own, not for a
// commit to start after it. Callers are answered only once the writes they
// read are committed: a successful fn with its batch, a failed fn too
// (its error may come from what earlier fns of its batch wrote: a record
// "in flight", a key already taken), unless no fn of its batch succeeded.
// If a commit fails, the fns that read its writes run again from a fresh
// snapshot: the open batch, and the failed fns of the batch itself (the
// only cases where an fn runs twice).
func (db *DB) commitLoop() {
	defer close(db.done)
	jobs := make(chan *job, 1)
	results := make(chan jobResult, 1)
	writerDone := make(chan struct{})
	go db.writeLoop(jobs, results, writerDone)
	defer func() {
		close(jobs)
		<-writerDone
	}()
	a := new(arena)
	c := &committer{db: db, sets: [2]*writeSet{newWriteSet(a), newWriteSet(a)}, caller: newWriteSet(a)}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	closed := false
	for {
		if c.cur != nil && c.prev == nil && (closed || c.ready()) {
			timer.Stop()
			if j := c.handOff(); j != nil {
				jobs <- j
			}
		}
		if closed && c.cur == nil && c.prev == nil {
			return
		}
		var reqs <-chan *request
		if !closed && (c.cur == nil || len(c.cur.reqs) < db.opts.MaxBatchSize) {
			reqs = db.reqs
		}
		var res <-chan jobResult
		if c.prev != nil {
			res = results
		}
		select {
		case r, ok := <-reqs:
			if !ok {
				closed = true
				continue
			}
			fresh := c.cur == nil
			c.execute(r)
			if fresh && db.opts.MaxBatchDelay > 0 {
				timer.Reset(db.opts.MaxBatchDelay)
			}
		case jr := <-res:
			c.prev = nil
			if jr.err != nil && (c.cur != nil || len(jr.failed) > 0) {
				// The open batch, and the failed fns of the batch that
				// failed, read writes that never landed.
				db.stats.reruns.Add(1)
				c.rerun(jr.failed)
			}
		case <-timer.C:
			if c.cur != nil {
				c.cur.due = true
			}
		}
	}
}

// committer is commitLoop's state.
type committer struct {
	db   *DB
	sets [2]*writeSet
	// caller buffers the writes of the fn being run.
	caller *writeSet
	// prev is the batch handed to writeLoop whose result is pending (nil:
	// writeLoop is idle).
	prev *writeSet
	// cur is the open batch (nil: none).
	cur *openBatch
}

// openBatch is the batch taking callers: those whose fn succeeded (reqs),
// those whose fn failed (failed, answered at hand-off), and their writes
// (ws, with those of prev inherited when it opened).
type openBatch struct {
	reqs, failed []*request
	ws           *writeSet
	inherited    bool // ws holds prev's writes
	due          bool // MaxBatchDelay has passed
}

// ready reports whether the open batch may be handed off now.
func (c *committer) ready() bool {
	o := c.db.opts
	return o.MaxBatchDelay <= 0 || c.cur.due || len(c.cur.reqs) >= o.MaxBatchSize
}

// open starts a batch on the write set writeLoop is not using.
func (c *committer) open() {
	ws := c.sets[0]
	if ws == c.prev {
		ws = c.sets[1]
	}
	ws.reset()
	b := &openBatch{ws: ws}
	if c.prev != nil {
		ws.inherit(c.prev)
		b.inherited = true
	}
	c.cur = b
}

// execute runs r's fn, and those of the callers queued behind it (up to
// MaxBatchSize in the batch), in the open batch (opening one if needed).
// Each run reads a snapshot that is closed before execute returns, so a
// commit that must remap the file never waits for it (any snapshot taken
// while the batch is open shows the store before or after prev, and prev's
// writes are inherited either way).
func (c *committer) execute(r *request) {
	if c.cur == nil {
		c.open()
	}
	rtx, err := c.db.bolt.Begin(false)
	if err != nil {
		r.err = fmt.Errorf("cannot begin bbolt read transaction: %w", err)
		c.cur.failed = append(c.cur.failed, r)
		return
	}
	defer func() { _ = rtx.Rollback() }()
	b := rtx.Bucket(bucketName)
	w := &writeTxn{b: b, c: b.Cursor(), w: c.caller, batch: c.cur.ws}
	for {
		c.runOne(w, r)
		if len(c.cur.reqs) >= c.db.opts.MaxBatchSize {
			return
		}
		select {
		case next, ok := <-c.db.reqs:
			if !ok {
				// Closed: commitLoop sees it on its next receive.
				return
			}
			r = next
		default:
			return
		}
	}
}

// runOne runs r's fn on w and files r in the open batch.
func (c *committer) runOne(w *writeTxn, r *request) {
	c.caller.reset()
	defer c.caller.reset()
	b := c.cur
	if err := r.ctx.Err(); err != nil {
		r.err = err
		b.failed = append(b.failed, r)
		return
	}
	if !w.run(r) {
		b.failed = append(b.failed, r)
		return
	}
	if err := r.ctx.Err(); err != nil {
		r.err = err
		b.failed = append(b.failed, r)
		return
	}
	b.ws.merge(c.caller)
	b.reqs = append(b.reqs, r)
}

// rerun runs again, on a fresh batch (prev failed, so nothing is
// inherited), the failed callers of prev (first: they arrived first) and
// every caller of the open batch, if there is one.
func (c *committer) rerun(failed []*request) {
	all := failed
	if old := c.cur; old != nil {
		all = append(append(all, old.reqs...), old.failed...)
	}
	c.cur = nil
	c.open()
	// Its callers have waited for a commit already: no MaxBatchDelay.
	c.cur.due = true
	rtx, err := c.db.bolt.Begin(false)
	if err != nil {
		err = fmt.Errorf("cannot begin bbolt read transaction: %w", err)
		for _, r := range all {
			r.err = err
		}
		c.cur.failed = all
		return
	}
	defer func() { _ = rtx.Rollback() }()
	b := rtx.Bucket(bucketName)
	w := &writeTxn{b: b, c: b.Cursor(), w: c.caller, batch: c.cur.ws}
	for _, r := range all {
		r.err, r.panicVal = nil, nil
		c.runOne(w, r)
	}
}

// handOff returns the open batch's job for writeLoop. When no fn
// succeeded there is nothing to commit: the failed callers read only
// committed writes (the batch before is committed), so they are answered
// now and handOff returns nil.
func (c *committer) handOff() *job {
	b := c.cur
	c.cur = nil
	if len(b.reqs) == 0 {
		for _, r := range b.failed {
			c.db.finish(r, r.err, false)
		}
		return nil
	}
	c.prev = b.ws
	return &job{reqs: b.reqs, failed: b.failed, ws: b.ws}
}

// job is one batch's writes for writeLoop; reqs are the callers whose fn
// succeeded, answered when the commit ends, and failed those whose fn
// failed after reading the batch's writes: answered with their own error
// once the commit succeeded, handed back to run again if it failed.
type job struct {
	reqs, failed []*request
	ws           *writeSet
}

// jobResult is a commit's outcome as writeLoop reports it: failed holds
// the job's failed callers, unanswered, when err is set.
type jobResult struct {
	err    error
	failed []*request
}

// writeLoop commits each job's writes on one bbolt write transaction (with
// its fsync), answers the job's callers and reports the outcome on results.
func (db *DB) writeLoop(jobs <-chan *job, results chan<- jobResult, done chan<- struct{}) {
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
		if err != nil {
			results <- jobResult{err: err, failed: j.failed}
			continue
		}
		for _, r := range j.failed {
			db.finish(r, r.err, false)
		}
		results <- jobResult{}
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

// finish answers r; the committer must not touch r afterwards.
func (db *DB) finish(r *request, err error, committed bool) {
	if !committed || err != nil {
		db.stats.discarded.Add(1)
	}
	r.err = err
	close(r.done)
}
