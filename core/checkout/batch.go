package checkout

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"shopedge/store"
)

// result is the outcome of applying one request in a transaction. err is
// the request's own failure (its writes are discarded); commitErr is set
// when the transaction holding it failed to commit.
type result[R any] struct {
	val R
	err error
}

// applyFn applies one request inside tx. Returning an error discards the
// request's writes; the other requests of the batch are unaffected.
type applyFn[Q, R any] func(tx store.Txn, q Q) (R, error)

// pipeline runs requests of one kind against the store, either one
// transaction per request or, with group commit, many requests per
// transaction: a single goroutine takes the first queued request, adds what
// else is queued (up to maxBatch, waiting up to window), and applies them in
// arrival order on one transaction, each on its own overlay so each is all
// or nothing. When the store re-runs the transaction after a conflict, every
// request is re-applied from the fresh snapshot and only the committed run's
// results are delivered, so no request is ever applied twice.
// A pipeline lives until close.
type pipeline[Q, R any] struct {
	st       store.Store
	apply    applyFn[Q, R]
	group    bool
	maxBatch int
	window   time.Duration
	after    func() // called after each committed transaction (may be nil)

	reqs      chan *pending[Q, R]
	stop      chan struct{}
	wg        sync.WaitGroup
	batchSize *metrics.Histogram
}

type pending[Q, R any] struct {
	ctx  context.Context
	q    Q
	res  result[R]
	done chan struct{}
}

func newPipeline[Q, R any](st store.Store, apply applyFn[Q, R], cfg Config, after func(), batchSize *metrics.Histogram) *pipeline[Q, R] {
	p := &pipeline[Q, R]{
		st: st, apply: apply, group: cfg.GroupCommit, maxBatch: cfg.MaxBatch, window: cfg.BatchWindow, after: after,
		reqs: make(chan *pending[Q, R], cfg.MaxBatch), stop: make(chan struct{}), batchSize: batchSize,
	}
	if p.group {
		p.wg.Add(1)
		go p.loop()
	}
	return p
}

var errClosed = errors.New("checkout: service closed")

// do applies q and returns its result, or the transaction's error.
func (p *pipeline[Q, R]) do(ctx context.Context, q Q) (R, error) {
	if !p.group {
		var val R
		err := p.st.Update(ctx, func(tx store.Txn) error {
			var err error
			val, err = p.apply(tx, q)
			return err
		})
		if err == nil && p.after != nil {
			p.after()
		}
		return val, err
	}
	r := &pending[Q, R]{ctx: ctx, q: q, done: make(chan struct{})}
	select {
	case p.reqs <- r:
	case <-ctx.Done():
		var zero R
		return zero, ctx.Err()
	case <-p.stop:
		var zero R
		return zero, errClosed
	}
	<-r.done
	return r.res.val, r.res.err
}

func (p *pipeline[Q, R]) close() {
	close(p.stop)
	p.wg.Wait()
}

func (p *pipeline[Q, R]) loop() {
	defer p.wg.Done()
	batch := make([]*pending[Q, R], 0, p.maxBatch)
	for {
		select {
		case <-p.stop:
			p.drain()
			return
		case r := <-p.reqs:
			batch = append(batch[:0], r)
		}
		batch = p.collect(batch)
		p.run(batch)
		clear(batch)
	}
}

// drain fails every queued request after close.
func (p *pipeline[Q, R]) drain() {
	for {
		select {
		case r := <-p.reqs:
			r.res.err = errClosed
			close(r.done)
		default:
			return
		}
	}
}

func (p *pipeline[Q, R]) collect(batch []*pending[Q, R]) []*pending[Q, R] {
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

// run applies batch on one transaction and answers every request.
func (p *pipeline[Q, R]) run(batch []*pending[Q, R]) {
	if p.batchSize != nil {
		p.batchSize.Update(float64(len(batch)))
	}
	results := make([]result[R], len(batch))
	err := p.st.Update(context.Background(), func(tx store.Txn) error {
		for i, r := range batch {
			results[i] = result[R]{}
			if err := r.ctx.Err(); err != nil {
				results[i].err = err
				continue
			}
			ov := newOverlay(tx)
			val, err := p.apply(ov, r.q)
			if err == nil {
				err = ov.flush()
				if err != nil {
					// The shared transaction may be partly written: fail it.
					return err
				}
			}
			results[i] = result[R]{val: val, err: err}
		}
		return nil
	})
	if err == nil && p.after != nil {
		p.after()
	}
	for i, r := range batch {
		r.res = results[i]
		if err != nil {
			r.res = result[R]{err: err}
		}
		close(r.done)
	}
}
