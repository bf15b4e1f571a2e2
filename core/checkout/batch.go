package checkout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"shopedge/store"
)

// applyFunc applies one request inside tx and records its own outcome in
// variables it captured; it is re-run from scratch when the store retries
// the transaction. Returning an error discards the request's writes (and,
// with group commit, only its writes).
type applyFunc func(tx store.Txn) error

// pipeline runs requests against the store, either one transaction per
// request or, with group commit, many requests per transaction: a single
// goroutine takes the first queued request, adds what else is queued (up to
// maxBatch, waiting up to window), and applies them in arrival order on one
// transaction, each on its own overlay so each is all or nothing. Reserve
// and mark-paid requests share the pipeline, so one commit carries both.
// When the store re-runs the transaction after a conflict, every request is
// re-applied from the fresh snapshot and only the committed run's outcomes
// are delivered, so no request is ever applied twice.
// A pipeline lives until close.
//
// A store that group-commits concurrent transactions itself, pipelined
// (store/embedded: it runs transactions that arrive while it commits and
// commits them together next), gains nothing from this: batching here only
// adds a goroutine hop and a wait for the batch before. On such a store the
// pipeline hands every request to the store directly, group commit on or
// off (store.CommitPipeliner); measured on 2 shared cores, 64 buyers straight
// to the core: 3,561 checkouts/s through this batching, 6,108 without.
// See checkout_timing_test.go for the in-process numbers.
type pipeline struct {
	st       store.Store
	group    bool
	maxBatch int
	window   time.Duration
	after    func() // called after each committed transaction (may be nil)

	reqs      chan *pending
	stop      chan struct{}
	exited    chan struct{} // closed when the loop has stopped
	wg        sync.WaitGroup
	closeOnce sync.Once
	batchSize *metrics.Histogram
	// ov is the loop's overlay, reset for each request it applies.
	ov overlay
	// batches and items count committed batch transactions and the
	// requests they carried (group commit only).
	batches, items atomic.Uint64
}

type pending struct {
	ctx   context.Context
	apply applyFunc
	err   error
	done  chan struct{}
}

func newPipeline(st store.Store, cfg Config, after func(), batchSize *metrics.Histogram) *pipeline {
	group := cfg.GroupCommit
	if cp, ok := st.(store.CommitPipeliner); ok && cp.PipelinesCommits() {
		group = false
	}
	p := &pipeline{
		st: st, group: group, maxBatch: cfg.MaxBatch, window: cfg.BatchWindow, after: after,
		reqs: make(chan *pending, cfg.MaxBatch), stop: make(chan struct{}), exited: make(chan struct{}), batchSize: batchSize,
	}
	if p.group {
		p.wg.Add(1)
		go p.loop()
	} else {
		close(p.exited)
	}
	return p
}

var errClosed = errors.New("checkout: service closed")

// do applies fn in a transaction (alone or in a batch) and returns fn's
// error or the transaction's. fn's captured outcome is valid when do
// returns nil.
func (p *pipeline) do(ctx context.Context, fn applyFunc) error {
	if !p.group {
		select {
		case <-p.stop:
			return errClosed
		default:
		}
		if p.after == nil {
			return p.st.Update(ctx, fn)
		}
		var appended bool
		err := p.st.Update(ctx, func(tx store.Txn) error {
			spy := logSpy{Txn: tx}
			err := fn(&spy)
			appended = spy.appended
			return err
		})
		if err == nil && appended {
			p.after()
		}
		return err
	}
	r := &pending{ctx: ctx, apply: fn, done: make(chan struct{})}
	select {
	case p.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-p.stop:
		return errClosed
	}
	select {
	case <-r.done:
		return r.err
	case <-p.exited:
		// Queued after the loop's last drain: never applied.
		select {
		case <-r.done:
			return r.err
		default:
			return errClosed
		}
	}
}

// close stops the loop; it is safe to call more than once.
func (p *pipeline) close() {
	p.closeOnce.Do(func() { close(p.stop) })
	p.wg.Wait()
}

func (p *pipeline) loop() {
	defer p.wg.Done()
	defer close(p.exited)
	batch := make([]*pending, 0, p.maxBatch)
	errs := make([]error, 0, p.maxBatch)
	for {
		select {
		case <-p.stop:
			p.drain()
			return
		case r := <-p.reqs:
			batch = append(batch[:0], r)
		}
		batch = p.collect(batch)
		errs = p.run(batch, errs)
		clear(batch)
	}
}

// drain fails every queued request after close.
func (p *pipeline) drain() {
	for {
		select {
		case r := <-p.reqs:
			r.err = errClosed
			close(r.done)
		default:
			return
		}
	}
}

func (p *pipeline) collect(batch []*pending) []*pending {
	for len(batch) < p.maxBatch {
		select {
		case r := <-p.reqs:
			batch = append(batch, r)
			continue
		default:
		}
		break
	}
	if p.window <= 0 || len(batch) >= p.maxBatch {
		return batch
	}
	t := time.NewTimer(p.window)
	defer t.Stop()
	for len(batch) < p.maxBatch {
		select {
		case r := <-p.reqs:
			batch = append(batch, r)
		case <-t.C:
			return batch
		}
	}
	return batch
}

// run applies batch on one transaction and answers every request. A
// request whose apply fails leaves nothing in the batch; when its error is
// store.ErrConflict (on TiKV in pessimistic mode: a lock it could not take
// within the lock wait, or a deadlock) is marked errRequestConflict, which
// the caller retries (Service.retry): the store retries only the conflicts
// that fail its whole transaction.
func (p *pipeline) run(batch []*pending, errs []error) []error {
	if p.batchSize != nil {
		p.batchSize.Update(float64(len(batch)))
	}
	var appended bool
	err := p.st.Update(context.Background(), func(tx store.Txn) error {
		errs = errs[:0]
		spy := logSpy{Txn: tx}
		tx = &spy
		defer func() { appended = spy.appended }()
		ov := &p.ov
		ov.startBatch()
		for _, r := range batch {
			if err := r.ctx.Err(); err != nil {
				errs = append(errs, err)
				continue
			}
			ov.reset(tx)
			err := r.apply(ov)
			if errors.Is(err, store.ErrConflict) {
				// The store never saw it: the batch committed the others.
				err = fmt.Errorf("%w (%w)", err, errRequestConflict)
			}
			if err == nil {
				if err := ov.flush(); err != nil {
					// The shared transaction may be partly written: fail it.
					return err
				}
			}
			errs = append(errs, err)
		}
		return nil
	})
	if err == nil {
		p.batches.Add(1)
		p.items.Add(uint64(len(batch)))
		if p.after != nil && appended {
			p.after()
		}
	}
	for i, r := range batch {
		r.err = err
		if err == nil {
			r.err = errs[i]
		}
		close(r.done)
	}
	return errs
}

// errRequestConflict marks a conflict of one request inside a batch
// transaction that committed without it: the store did not retry it, so
// Service.retry does.
var errRequestConflict = errors.New("conflict of one request in a batch")

// logSpy is a Txn that notes whether a change-feed event was written (a key
// under store.NSLog), so feed waiters are woken only after commits that
// appended one: with a wake-up per checkout, every edge following the feed
// would re-read it after every sale.
type logSpy struct {
	store.Txn
	appended bool
}

func (t *logSpy) Set(key, value []byte) error {
	if !t.appended && bytes.HasPrefix(key, nsLog) {
		t.appended = true
	}
	return t.Txn.Set(key, value)
}

var nsLog = []byte(store.NSLog)
