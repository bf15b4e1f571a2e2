package checkout

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"shopedge/core/api"
	"shopedge/core/payment"
	"shopedge/store"
)

// The reconciler resolves every order whose payment nobody is driving any
// more: a pending order whose lease ran out (the request that charged it
// got no answer, failed to record it, or died with its core), and an
// ended order with an attempt still in doubt (cancelled while its charge
// was unknown). For each it claims the order (a new lease, in a
// transaction), looks the attempt up at its gateway, and settles it in a
// transaction that re-reads the order (settleTx): paid if the order still
// holds its reservation, released if nothing was charged, a refund
// recorded for a charge the order cannot take. A lookup that cannot tell
// leaves the order for the next pass. Several cores may reconcile at once:
// the claim serialises gateway calls per order, and settling re-checks
// everything it changes.
//
// It finds orders two ways, neither on the checkout's hot path:
//
//   - the queue payq/{order id}, written off the hot path: by a checkout
//     that gave up on an unknown outcome, by a cancel with a charge in
//     doubt, by the sweeper, by the scan below, and by the rare
//     reservation committed long after its id was drawn (needsQueue);
//   - a scan of the orders by their time-ordered keys, as the sweeper
//     scans (scan.go), remembering the last order it passed at
//     payq/~scanned. It passes orders created more than two payment
//     leases ago: a pending one is reconciled now if its lease is over,
//     queued otherwise; everything else is skipped by its status byte.
//     An order stored after the scan passed its id time was committed
//     more than a lease after its id was drawn, so needsQueue queued it.

// payMarkKey holds the raw id of the last order the reconciler's scan
// passed. It sorts after every queue entry (see resvMarkKey).
var payMarkKey = []byte(store.NSPayQ + "~scanned")

// reconcileMetrics are the reconciler's and the refund worker's metrics.
type reconcileMetrics struct {
	paid, released, lateCharge, unknown, settledElsewhere *metrics.Counter
	refundsDone, refundsAccepted, refundsFailed           *metrics.Counter
	refundsRefused                                        *metrics.Counter
	// unresolved and refundsPending are counted in the store by each pass
	// (store-wide values: every core exports the same).
	unresolved, refundsPending atomic.Int64
}

func newReconcileMetrics(ms *metrics.Set) *reconcileMetrics {
	m := &reconcileMetrics{
		paid:             ms.GetOrCreateCounter(`shopedge_reconciler_outcomes_total{outcome="paid"}`),
		released:         ms.GetOrCreateCounter(`shopedge_reconciler_outcomes_total{outcome="released"}`),
		lateCharge:       ms.GetOrCreateCounter(`shopedge_reconciler_outcomes_total{outcome="refund"}`),
		unknown:          ms.GetOrCreateCounter(`shopedge_reconciler_outcomes_total{outcome="unknown"}`),
		settledElsewhere: ms.GetOrCreateCounter(`shopedge_reconciler_outcomes_total{outcome="settled_elsewhere"}`),
		refundsDone:      ms.GetOrCreateCounter(`shopedge_refunds_total{result="succeeded"}`),
		refundsAccepted:  ms.GetOrCreateCounter(`shopedge_refunds_total{result="accepted"}`),
		refundsFailed:    ms.GetOrCreateCounter(`shopedge_refunds_total{result="failed"}`),
		refundsRefused:   ms.GetOrCreateCounter(`shopedge_refunds_total{result="refused"}`),
	}
	return m
}

// registerGauges exports the two store-wide gauges of s in ms.
func (s *Service) registerGauges(ms *metrics.Set) {
	ms.GetOrCreateGauge(`shopedge_payments_unresolved`, func() float64 { return float64(s.rec.unresolved.Load()) })
	ms.GetOrCreateGauge(`shopedge_refunds_pending`, func() float64 { return float64(s.rec.refundsPending.Load()) })
}

// ReconcileStats is what one ReconcileOnce pass did.
type ReconcileStats struct {
	// Settled counts orders whose payment the pass resolved (paid,
	// released, or a late charge's refund recorded).
	Settled int
	// Refunded counts refunds the gateway confirmed.
	Refunded int
	// Unresolved and RefundsPending are the store's counts after the
	// pass.
	Unresolved, RefundsPending int
}

// ReconcileOnce runs one pass: the scan, the queue, the refunds due, then
// counts what is left for the gauges.
func (s *Service) ReconcileOnce(ctx context.Context) (ReconcileStats, error) {
	var st ReconcileStats
	n, err := s.reconcileScan(ctx)
	st.Settled += n
	if err != nil {
		return st, err
	}
	n, err = s.reconcileQueue(ctx)
	st.Settled += n
	if err != nil {
		return st, err
	}
	if st.Settled > 0 {
		if c, ok := s.cat.(notifier); ok {
			c.Notify()
		}
	}
	if st.Refunded, err = s.refundPass(ctx); err != nil {
		return st, err
	}
	st.Unresolved, st.RefundsPending, err = s.countOpen(ctx)
	return st, err
}

// RunReconciler calls ReconcileOnce every Config.ReconcileInterval, and
// sooner when a refund was recorded, until ctx ends.
func (s *Service) RunReconciler(ctx context.Context) {
	t := time.NewTicker(s.cfg.ReconcileInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
		st, err := s.ReconcileOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn().Err(err).Msg("reconcile pass failed")
		case st.Settled > 0 || st.Refunded > 0:
			s.log.Info().Int("settled", st.Settled).Int("refunded", st.Refunded).Int("unresolved", st.Unresolved).Int("refunds_pending", st.RefundsPending).Msg("reconciled")
		}
	}
}

// wakeReconciler asks RunReconciler for a pass now.
func (s *Service) wakeReconciler() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// reconcileScan passes the orders created before two payment leases ago
// that the scan has not passed yet (see the comment at the top).
func (s *Service) reconcileScan(ctx context.Context) (int, error) {
	endNs := (s.now() - 2*s.leaseSecs()) * int64(time.Second)
	settled := 0
	pending := statusCode(api.OrderPendingPayment)
	for ctx.Err() == nil {
		chunk, err := s.scanOrders(ctx, payMarkKey, endNs)
		if err != nil || len(chunk) == 0 {
			return settled, err
		}
		for _, so := range chunk {
			switch {
			case so.status == pending:
				ok, err := s.reconcileOrder(ctx, so.id)
				if err != nil {
					return settled, err
				}
				if ok {
					settled++
				}
			case so.refundV1:
				if err := s.requeueRefundV1(ctx, so.id); err != nil {
					return settled, err
				}
			}
		}
		err = s.st.Update(ctx, func(tx store.Txn) error { return advanceMarkTx(tx, payMarkKey, chunk[len(chunk)-1].id) })
		if err != nil {
			return settled, fmt.Errorf("cannot advance the reconciler's scan: %w", err)
		}
		if len(chunk) < s.cfg.SweepBatch {
			break
		}
	}
	return settled, nil
}

// reconcileQueue reconciles every queued order, SweepBatch per read.
func (s *Service) reconcileQueue(ctx context.Context) (int, error) {
	settled := 0
	start := []byte(store.NSPayQ)
	end := []byte(store.NSPayQ + "~")
	for ctx.Err() == nil {
		var ids []orderID
		var last []byte
		err := s.st.View(ctx, func(tx store.Txn) error {
			ids, last = ids[:0], nil
			return tx.Scan(start, end, s.cfg.SweepBatch, func(k, _ []byte) error {
				last = append(last[:0], k...)
				if id, ok := payqKeyID(k); ok {
					ids = append(ids, id)
				}
				return nil
			})
		})
		if err != nil {
			return settled, fmt.Errorf("cannot scan the reconciliation queue: %w", err)
		}
		for _, id := range ids {
			ok, err := s.reconcileOrder(ctx, id)
			if err != nil {
				return settled, err
			}
			if ok {
				settled++
			}
		}
		if last == nil || len(ids) < s.cfg.SweepBatch {
			break
		}
		start = append(last, 0)
	}
	return settled, nil
}

// reconcileOrder resolves order raw if nobody drives its payment: it
// reports whether it settled something. An order still held by a lease
// is queued (to be seen again) and left alone.
func (s *Service) reconcileOrder(ctx context.Context, raw orderID) (bool, error) {
	id := raw.String()
	var (
		o   *orderRec
		idx = -1
	)
	settledNow := false
	err := s.retry(ctx, func() error {
		return s.st.Update(ctx, func(tx store.Txn) error {
			o, idx, settledNow = nil, -1, false
			cur, err := loadOrderTx(tx, id)
			if api.ErrorCode(err) == api.ECodeNotFound {
				return tx.Delete(payqKey(raw))
			}
			if err != nil {
				return err
			}
			now := s.now()
			i := cur.unknown()
			switch {
			case i < 0 && cur.Status == api.OrderPendingPayment && cur.LeaseUntil <= now:
				// Every attempt is resolved but the order was left
				// pending (its request died between two steps).
				v := verdict{outcome: payment.OutcomeNotCharged}
				if n := len(cur.Attempts); n > 0 {
					v = verdict{outcome: cur.Attempts[n-1].Outcome, chargeID: cur.Attempts[n-1].ChargeID}
				}
				if len(cur.Attempts) == 0 {
					if err := s.releaseOrderTx(tx, cur, api.OrderPaymentFailed, errNothingCharged); err != nil {
						return err
					}
				} else if _, err := s.settleTx(tx, cur, len(cur.Attempts)-1, v); err != nil {
					return err
				}
				settledNow = true
				if err := dequeueTx(tx, cur); err != nil {
					return err
				}
				return saveOrderTx(tx, cur)
			case i < 0:
				if !cur.Queued {
					return nil
				}
				if err := dequeueTx(tx, cur); err != nil {
					return err
				}
				return saveOrderTx(tx, cur)
			case cur.LeaseUntil > now:
				if cur.Queued {
					return nil
				}
				if err := enqueueTx(tx, cur); err != nil {
					return err
				}
				return saveOrderTx(tx, cur)
			}
			// Claim it: nobody else calls its gateway until the lease ends.
			cur.LeaseUntil = now + s.leaseSecs()
			if err := enqueueTx(tx, cur); err != nil {
				return err
			}
			o, idx = cur, i
			return saveOrderTx(tx, cur)
		})
	})
	if err != nil {
		return false, fmt.Errorf("cannot claim order %s for reconciliation: %w", id, err)
	}
	if settledNow {
		s.rec.released.Inc()
		return true, nil
	}
	if o == nil {
		return false, nil
	}
	v := s.lookupAttempt(ctx, o, idx)
	if v.outcome == 0 {
		s.rec.unknown.Inc()
		s.log.Warn().Err(v.err).Str("order", id).Int("attempt", idx+1).Str("gateway", o.Attempts[idx].Gateway).Msg("cannot tell what a charge attempt did yet; trying again later")
		// Give the claim back, so the next pass (here or elsewhere) or a
		// retry of the checkout's key asks again.
		claim := o.LeaseUntil
		err := s.retry(ctx, func() error {
			return s.st.Update(context.WithoutCancel(ctx), func(tx store.Txn) error {
				cur, err := loadOrderTx(tx, id)
				if err != nil || cur.LeaseUntil != claim {
					return err
				}
				cur.LeaseUntil = s.now()
				return saveOrderTx(tx, cur)
			})
		})
		return false, err
	}
	var eff settled
	applied := false
	err = s.retry(ctx, func() error {
		return s.st.Update(context.WithoutCancel(ctx), func(tx store.Txn) error {
			applied = false
			cur, err := loadOrderTx(tx, id)
			if err != nil {
				return err
			}
			if idx >= len(cur.Attempts) || cur.Attempts[idx].known() {
				return nil // settled by another hand meanwhile
			}
			if eff, err = s.settleTx(tx, cur, idx, v); err != nil {
				return err
			}
			applied = true
			return saveOrderTx(tx, cur)
		})
	})
	if err != nil {
		return false, fmt.Errorf("cannot settle order %s: %w", id, err)
	}
	if !applied {
		s.rec.settledElsewhere.Inc()
		return false, nil
	}
	switch eff {
	case settledPaid:
		s.rec.paid.Inc()
	case settledReleased:
		s.rec.released.Inc()
	case settledRefund:
		s.rec.lateCharge.Inc()
	}
	s.log.Info().Str("order", id).Int("attempt", idx+1).Str("outcome", v.outcome.String()).Msg("reconciled a payment")
	return true, nil
}

// requeueRefundV1 gives a version 1 order whose refund had failed (and was
// then retried only by another cancel) a work item in the refund queue.
func (s *Service) requeueRefundV1(ctx context.Context, raw orderID) error {
	return s.retry(ctx, func() error {
		return s.st.Update(ctx, func(tx store.Txn) error {
			o, err := loadOrderTx(tx, raw.String())
			if err != nil {
				return err
			}
			for i := range o.Attempts {
				if o.Attempts[i].Refund != refundPending {
					continue
				}
				key := rfqKey(raw, i)
				if it, err := loadRefundItemTx(tx, key); err != nil || it != nil {
					return err
				}
				now := s.now()
				if err := tx.Set(key, encodeRefundItem(&refundItem{State: refundPending, NextAt: now, CreatedAt: now})); err != nil {
					return err
				}
			}
			return saveOrderTx(tx, o) // rewritten as version 2
		})
	})
}

// countOpen counts the queue of payments to reconcile and the pending
// refunds, for the gauges.
func (s *Service) countOpen(ctx context.Context) (unresolved, refunds int, err error) {
	err = s.st.View(ctx, func(tx store.Txn) error {
		unresolved, refunds = 0, 0
		err := tx.Scan([]byte(store.NSPayQ), []byte(store.NSPayQ+"~"), 0, func(k, _ []byte) error {
			if _, ok := payqKeyID(k); ok {
				unresolved++
			}
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Scan([]byte(store.NSRefundQ), store.PrefixEnd([]byte(store.NSRefundQ)), 0, func(_, v []byte) error {
			if len(v) > 1 && refundState(v[1]) == refundPending {
				refunds++
			}
			return nil
		})
	})
	if err != nil {
		return 0, 0, fmt.Errorf("cannot count open payments: %w", err)
	}
	s.rec.unresolved.Store(int64(unresolved))
	s.rec.refundsPending.Store(int64(refunds))
	return unresolved, refunds, nil
}
