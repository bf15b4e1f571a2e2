package httpapi

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"shopedge/core/changelog"
	"shopedge/store"
)

// cacheWorker purges one cache. Its state describes the change log as seen
// from that cache:
//
//	settled < seq <= acked   first purge acknowledged, second (settle) one due
//	acked   < seq <= last    not purged yet
//
// settled is what is stored as the cursor: after a restart everything
// above it is purged again.
type cacheWorker struct {
	p   *Purger
	url string
	id  string

	acked, settled uint64
	repurges       []repurge    // settle purges, by increasing upto
	seen           []checkpoint // when events were first seen, by increasing upto
	failures       int          // consecutive failed attempts
	resetAll       bool         // the log went back: purge everything first
	edgesWaited    uint64       // the first purge up to here waited for the edges

	queued, sent, errs, dropped, edgesLate *metrics.Counter
	pending, oldest, leader                *metrics.Gauge
	lag                                    *metrics.Histogram
}

// repurge is the settle purge of the events up to upto, due at due.
type repurge struct {
	upto uint64
	due  time.Time
	p    *purge
}

// checkpoint records that the events up to upto were first seen at at.
type checkpoint struct {
	upto uint64
	at   time.Time
}

func newCacheWorker(p *Purger, url string, ms *metrics.Set) *cacheWorker {
	l := `{cache="` + url + `"}`
	return &cacheWorker{
		p: p, url: url, id: cacheID(url),
		queued:  ms.GetOrCreateCounter(`shopedge_cdn_purge_events_queued_total` + l),
		sent:    ms.GetOrCreateCounter(`shopedge_cdn_purges_sent_total` + l),
		errs:    ms.GetOrCreateCounter(`shopedge_cdn_purge_errors_total` + l),
		dropped: ms.GetOrCreateCounter(`shopedge_cdn_purge_events_dropped_total` + l),
		// Edges still behind when a purge stopped waiting for them
		// (cdn.edge_wait): the settle purge is then what refreshes.
		edgesLate: ms.GetOrCreateCounter(`shopedge_cdn_purge_edges_late_total` + l),
		pending:   ms.GetOrCreateGauge(`shopedge_cdn_purge_pending_events`+l, nil),
		oldest:    ms.GetOrCreateGauge(`shopedge_cdn_purge_oldest_pending_seconds`+l, nil),
		leader:    ms.GetOrCreateGauge(`shopedge_cdn_purge_leader`+l, nil),
		lag:       ms.GetOrCreateHistogram(`shopedge_cdn_purge_lag_seconds` + l),
	}
}

// run claims the cache and purges it until ctx ends; while another core
// holds the claim it checks back every lease/3.
func (w *cacheWorker) run(ctx context.Context) {
	for ctx.Err() == nil {
		cursor, reset, err := w.claim(ctx, time.Now())
		if err == nil {
			w.leader.Set(1)
			w.reset(cursor, reset)
			err = w.serve(ctx)
			w.leader.Set(0)
		}
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errLogReset):
			w.p.logger.Warn().Str("cache", w.url).Msg("the change log went back (store restored or reset): purging everything")
			continue // claim moves the cursor back
		case errors.Is(err, errLeaseLost):
			w.pending.Set(0)
			w.oldest.Set(0)
		case err != nil:
			w.p.logger.Warn().Err(err).Str("cache", w.url).Msg("CDN purger: store error")
		}
		sleep(ctx, w.p.cfg.Lease/3)
	}
}

func (w *cacheWorker) reset(cursor uint64, all bool) {
	w.acked, w.settled, w.resetAll, w.edgesWaited = cursor, cursor, all, cursor
	w.repurges, w.failures = nil, 0
	w.seen = []checkpoint{{upto: cursor, at: time.Now()}}
}

// serve purges while this core holds the lease; it returns errLeaseLost,
// a store error or ctx's error.
func (w *cacheWorker) serve(ctx context.Context) error {
	renewEvery := w.p.cfg.Lease / 3
	renewAt := time.Now().Add(renewEvery)
	saved := w.settled
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := time.Now()
		if now.After(renewAt) || w.settled != saved {
			if err := w.save(ctx, now, w.settled); err != nil {
				return err
			}
			saved, renewAt = w.settled, now.Add(renewEvery)
		}
		last, err := w.lastSeq(ctx)
		if err != nil {
			return err
		}
		if last < w.acked {
			return errLogReset
		}
		w.observe(last, now)
		w.giveUp(now)
		w.gauges(last, now)

		job, first, upto, err := w.next(ctx, now, last)
		if err != nil {
			return err
		}
		if job == nil {
			w.wait(ctx, renewAt)
			continue
		}
		if first && w.p.edges != nil && w.p.cfg.EdgeWait > 0 && upto > w.edgesWaited {
			// Once per change, not on retries: the edges following this
			// core apply it first, or the cache may fetch the old page.
			if n := w.p.edges.WaitApplied(ctx, upto, w.p.cfg.EdgeWait); n > 0 {
				w.edgesLate.Add(n)
			}
			w.edgesWaited = upto
		}
		n, err := w.p.send.do(ctx, w.url, job)
		w.sent.Add(n)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			w.fail(ctx, err, renewAt)
			continue
		}
		if w.failures > 0 {
			w.p.logger.Info().Str("cache", w.url).Int("failures", w.failures).Msg("CDN purges acknowledged again")
		}
		w.failures = 0
		w.done(job, first, upto, time.Now())
	}
}

// next returns the next purge to send: the settle purges now due, merged,
// else one for the events after acked (first is then true), else nil.
// upto is the last sequence the purge covers.
func (w *cacheWorker) next(ctx context.Context, now time.Time, last uint64) (job *purge, first bool, upto uint64, err error) {
	if w.resetAll {
		job = &purge{}
		job.setAll()
		return job, true, last, nil
	}
	if len(w.repurges) > 0 && !w.repurges[0].due.After(now) {
		job = &purge{}
		for _, r := range w.repurges {
			if r.due.After(now) {
				break
			}
			job.merge(r.p)
			upto = r.upto
		}
		return job, false, upto, nil
	}
	if w.acked >= last {
		return nil, false, 0, nil
	}
	job = &purge{}
	// A cache that keeps failing while more than a batch waits gets one
	// purge-all instead of the backlog.
	if w.failures > 0 && last-w.acked > uint64(w.p.cfg.Batch) {
		job.setAll()
		return job, true, last, nil
	}
	ch, err := w.p.log.Read(ctx, w.acked, w.p.cfg.Batch)
	if errors.Is(err, changelog.ErrGone) {
		// The log no longer holds what was missed: purge everything.
		w.p.logger.Warn().Str("cache", w.url).Uint64("cursor", w.acked).Msg("CDN purger fell behind the change log's retention: purging everything")
		job.setAll()
		return job, true, last, nil
	}
	if err != nil {
		return nil, false, 0, err
	}
	for i := range ch.Events {
		job.addEvent(&ch.Events[i])
	}
	upto = ch.Last
	if n := len(ch.Events); n > 0 {
		upto = ch.Events[n-1].Seq
	}
	if upto <= w.acked {
		return nil, false, 0, nil
	}
	if job.empty() {
		// Nothing to invalidate in these events: they are done.
		w.done(job, true, upto, now)
		return nil, false, 0, nil
	}
	return job, true, upto, nil
}

// done records that job, covering the events up to upto, was acknowledged
// at now.
func (w *cacheWorker) done(job *purge, first bool, upto uint64, now time.Time) {
	if !first {
		w.settled = max(w.settled, upto)
		i := 0
		for i < len(w.repurges) && w.repurges[i].upto <= upto {
			i++
		}
		w.repurges = w.repurges[i:]
		w.trimSeen()
		return
	}
	if at, ok := w.firstSeen(w.acked); ok && !job.empty() {
		w.lag.Update(now.Sub(at).Seconds())
	}
	w.acked = max(w.acked, upto)
	if job.all {
		w.resetAll = false
	}
	switch {
	case job.empty():
		// Nothing was sent for these events: they settle with the purge
		// before them, if one is still due.
		if n := len(w.repurges); n > 0 {
			w.repurges[n-1].upto = w.acked
		} else {
			w.settled = w.acked
		}
	case w.p.cfg.Settle == 0:
		w.settled = w.acked
	case job.all:
		// A purge-all supersedes the settle purges pending before it.
		w.repurges = append(w.repurges[:0], repurge{upto: w.acked, due: now.Add(w.p.cfg.Settle), p: job})
	default:
		w.repurges = append(w.repurges, repurge{upto: w.acked, due: now.Add(w.p.cfg.Settle), p: job})
	}
	w.trimSeen()
}

// fail counts a failed attempt and waits the backoff (at most until the
// lease must be renewed).
func (w *cacheWorker) fail(ctx context.Context, err error, renewAt time.Time) {
	w.failures++
	w.errs.Inc()
	if w.failures&(w.failures-1) == 0 { // 1, 2, 4, 8, …: no log flood
		w.p.logger.Warn().Err(err).Str("cache", w.url).Int("failures", w.failures).
			Uint64("cursor", w.settled).Msg("CDN purge failed; retrying")
	}
	d := w.p.cfg.BackoffMin << min(w.failures-1, 20)
	if d > w.p.cfg.BackoffMax || d <= 0 {
		d = w.p.cfg.BackoffMax
	}
	d = d/2 + rand.N(d/2+1) // jitter: several cores, several caches
	if until := time.Until(renewAt); until < d {
		d = max(until, time.Millisecond)
	}
	sleep(ctx, d)
}

// wait blocks until an event follows acked, the next settle purge is due,
// the lease must be renewed, or ctx ends.
func (w *cacheWorker) wait(ctx context.Context, renewAt time.Time) {
	until := renewAt
	if len(w.repurges) > 0 && w.repurges[0].due.Before(until) {
		until = w.repurges[0].due
	}
	d := time.Until(until)
	if d <= 0 {
		return
	}
	_, _ = w.p.log.WaitN(ctx, w.acked, 1, d)
}

// lastSeq reads the change log's last sequence.
func (w *cacheWorker) lastSeq(ctx context.Context) (uint64, error) {
	var last uint64
	err := w.p.st.View(ctx, func(tx store.Txn) error {
		var err error
		last, err = changelog.LastSeq(tx)
		return err
	})
	return last, err
}

// observe notes when events up to last were first seen.
func (w *cacheWorker) observe(last uint64, now time.Time) {
	top := w.settled
	if n := len(w.seen); n > 0 {
		top = w.seen[n-1].upto
	}
	if last > top {
		w.queued.Add(int(last - top))
		w.seen = append(w.seen, checkpoint{upto: last, at: now})
	}
}

// firstSeen returns when the event after seq was first seen.
func (w *cacheWorker) firstSeen(seq uint64) (time.Time, bool) {
	for _, c := range w.seen {
		if c.upto > seq {
			return c.at, true
		}
	}
	return time.Time{}, false
}

// trimSeen forgets checkpoints of settled events (keeping the one at
// settled, the lower bound of the next).
func (w *cacheWorker) trimSeen() {
	i := 0
	for i+1 < len(w.seen) && w.seen[i+1].upto <= w.settled {
		i++
	}
	w.seen = w.seen[i:]
}

// giveUp drops the purges of events first seen more than max_age ago.
func (w *cacheWorker) giveUp(now time.Time) {
	limit := now.Add(-w.p.cfg.MaxAge)
	cut := w.settled
	for _, c := range w.seen {
		if c.upto > w.settled && !c.at.After(limit) {
			cut = c.upto
		}
	}
	if cut == w.settled {
		return
	}
	w.p.logger.Warn().Str("cache", w.url).Uint64("from", w.settled+1).Uint64("to", cut).
		Dur("max_age", w.p.cfg.MaxAge).Msg("CDN purges given up after max_age")
	w.dropped.Add(int(cut - w.settled))
	w.settled = cut
	w.acked = max(w.acked, cut)
	i := 0
	for i < len(w.repurges) && w.repurges[i].upto <= cut {
		i++
	}
	w.repurges = w.repurges[i:]
	w.trimSeen()
}

func (w *cacheWorker) gauges(last uint64, now time.Time) {
	if last < w.settled {
		last = w.settled // a store reset: nothing is pending
	}
	w.pending.Set(float64(last - w.settled))
	if at, ok := w.firstSeen(w.settled); ok {
		w.oldest.Set(now.Sub(at).Seconds())
	} else {
		w.oldest.Set(0)
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
