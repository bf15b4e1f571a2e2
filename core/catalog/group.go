package catalog

import (
	"context"
	"errors"
	"sync"

	"shopedge/core/api"
	"shopedge/store"
)

// Group commit of catalog writes.
//
// Every catalog write appends its change-log event in its own transaction,
// and every append reads and writes the log's sequence record, so on a
// store where transactions run side by side and conflict at commit (TiKV,
// optimistic) concurrent writers, above all writers on different cores,
// collide on that one key: measured with 4 cores on one in-process cluster,
// ~58 appends/s, 7.5 conflicts per append and 9 % of writes failing after
// the store's retries, against ~1,500/s on one core.
//
// A grouper turns the concurrent writes of one process into few
// transactions: the first writer to find nobody committing becomes the
// leader, takes every queued write (up to max) and applies them, in
// arrival order, in one store transaction, each on its own store.Overlay
// so a write that fails leaves nothing behind; writers arriving meanwhile
// queue for the next transaction, and the leader hands leadership to the
// first of them. The sequence record is still read and written inside the
// transaction that carries the events, so the sequence stays one gap-free
// order of commits whatever core wrote: a batch whose snapshot was
// overtaken by another core's commit conflicts on it and is re-applied
// from scratch on a fresh snapshot (only the committed run's outcomes are
// delivered). What grouping changes is how many transactions meet on the
// record: one per batch instead of one per write. It holds no goroutine.
//
// A store that group-commits concurrent transactions itself
// (store/embedded) gains nothing: there every write goes to the store.
type grouper struct {
	st  store.Store
	max int

	mu    sync.Mutex
	busy  bool // a leader is applying a batch
	queue []*groupReq
}

type groupReq struct {
	ctx  context.Context
	fn   func(tx store.Txn) error
	err  error
	lead bool          // set before wake is closed: the request leads the next batch
	wake chan struct{} // closed when err is set or lead is given
}

// newGrouper returns the grouper of st taking up to max writes per
// transaction, or nil when writes should go to st one by one (max <= 1, or
// a store that groups them itself).
func newGrouper(st store.Store, max int) *grouper {
	if cp, ok := st.(store.CommitPipeliner); (ok && cp.PipelinesCommits()) || max <= 1 {
		return nil
	}
	return &grouper{st: st, max: max}
}

// do applies fn in a transaction shared with other writes of this process
// and returns fn's error or the transaction's. fn follows store.Update's
// rules (no side effects outside tx; it may run more than once). A write whose ctx ends while queued is not
// applied and gets ctx's error.
func (g *grouper) do(ctx context.Context, fn func(tx store.Txn) error) error {
	r := &groupReq{ctx: ctx, fn: fn, wake: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, r)
	if g.busy {
		g.mu.Unlock()
		<-r.wake
		if !r.lead {
			return r.err
		}
	} else {
		g.busy = true
		g.mu.Unlock()
	}
	// Leader: apply one batch (which holds r, the oldest queued write),
	// then pass the lead to the oldest write still queued.
	g.mu.Lock()
	n := min(len(g.queue), g.max)
	batch := make([]*groupReq, n)
	copy(batch, g.queue)
	g.queue = append(g.queue[:0], g.queue[n:]...)
	g.mu.Unlock()

	g.run(batch)

	g.mu.Lock()
	if len(g.queue) > 0 {
		next := g.queue[0]
		next.lead = true
		close(next.wake)
	} else {
		g.busy = false
	}
	g.mu.Unlock()
	return r.err
}

// run applies batch in one transaction and answers every write but the
// leader's own (batch[0], which reads its err when run returns).
func (g *grouper) run(batch []*groupReq) {
	errs := make([]error, len(batch))
	var buf store.Overlay
	// The batch outlives any one writer's ctx: a writer that gives up
	// (ctx ended) before the batch starts is skipped, not the batch.
	err := g.st.Update(context.WithoutCancel(batch[0].ctx), func(tx store.Txn) error {
		clear(errs)
		for i, r := range batch {
			if err := r.ctx.Err(); err != nil {
				errs[i] = err
				continue
			}
			buf.Reset(tx)
			err := r.fn(&buf)
			var ae *api.Error
			switch {
			case err == nil:
				if err := buf.Flush(); err != nil {
					return err // the shared transaction may be partly written
				}
			case errors.As(err, &ae), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
				// The write's own refusal: its buffer is dropped, the batch goes on.
				errs[i] = err
			default:
				// A store error (a conflict the store retries, a lost
				// region): the transaction's, so the whole batch's.
				return err
			}
		}
		return nil
	})
	for i, r := range batch {
		r.err = err
		if err == nil {
			r.err = errs[i]
		}
		if i > 0 {
			close(r.wake)
		}
	}
}
