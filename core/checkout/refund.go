package checkout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"shopedge/core/api"
	"shopedge/core/payment"
	"shopedge/store"
)

// Refunds are durable work. The transaction that decides a refund (a
// cancel of a paid order; a charge that completed after its order ended)
// marks the charged attempt's refund pending and writes a work item at
// rfq/{order id}{attempt} in the same commit. The refund worker (a part of
// every reconciler pass, and a first try inline in Cancel) calls the
// gateway with the refund's stable key (refundKey), so repeated calls
// refund once; it claims an item before the call (its next try moves a
// lease ahead, in a transaction), so several cores rarely call twice, and
// retries failures with exponential backoff until the gateway confirms.
// A refund the gateway refuses (ErrRefundRefused) stays listed, refused,
// for an operator.

// refundItem is the value of an rfq/ key.
type refundItem struct {
	State     refundState // pending or refused
	Tries     int         // gateway calls that failed
	NextAt    int64       // unix s: not tried again before
	CreatedAt int64
	LastError string
}

const refundItemVersion = 1

func encodeRefundItem(it *refundItem) []byte {
	b := make([]byte, 0, 2+3*10+len(it.LastError)+2)
	b = append(b, refundItemVersion, byte(it.State))
	b = appendUvarint(b, uint64(it.Tries))
	b = appendVarint(b, it.NextAt)
	b = appendVarint(b, it.CreatedAt)
	return appendStr(b, it.LastError)
}

func decodeRefundItem(v []byte) (*refundItem, error) {
	d := dec{b: v}
	if d.u8() != refundItemVersion {
		return nil, errors.New("cannot decode refund item: unknown format")
	}
	it := &refundItem{State: refundState(d.u8())}
	it.Tries = int(d.uvarint())
	it.NextAt, it.CreatedAt = d.varint(), d.varint()
	it.LastError = d.str()
	if err := d.err(); err != nil {
		return nil, fmt.Errorf("cannot decode refund item: %w", err)
	}
	return it, nil
}

func loadRefundItemTx(tx store.Txn, key []byte) (*refundItem, error) {
	v, err := tx.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read refund item: %w", err)
	}
	return decodeRefundItem(v)
}

// enqueueRefundTx decides the refund of attempt idx's charge: pending on
// the order (which the caller saves) and a work item due at once.
func (s *Service) enqueueRefundTx(tx store.Txn, o *orderRec, idx int) error {
	a := &o.Attempts[idx]
	if a.Outcome != payment.OutcomeCharged || a.Refund != refundNone {
		return fmt.Errorf("BUG: refund of attempt %d of order %s (%s, refund %s)", idx, o.ID, a.Outcome, a.Refund)
	}
	a.Refund = refundPending
	raw, _ := parseOrderID(o.ID)
	now := s.now()
	if err := tx.Set(rfqKey(raw, idx), encodeRefundItem(&refundItem{State: refundPending, NextAt: now, CreatedAt: now})); err != nil {
		return fmt.Errorf("cannot queue the refund of order %s: %w", o.ID, err)
	}
	return nil
}

// refundBackoff returns the wait after the tries-th failed refund call.
func (s *Service) refundBackoff(tries int) time.Duration {
	d := s.cfg.RefundRetryMin
	for i := 1; i < tries && d < s.cfg.RefundRetryMax; i++ {
		d *= 2
	}
	return min(d, s.cfg.RefundRetryMax)
}

// refundResult is what one refund try did.
type refundResult uint8

const (
	refundSkipped    refundResult = iota // not due, claimed elsewhere, or done
	refundDone                           // the gateway confirmed it
	refundAccepted                       // accepted, not completed yet
	refundFailed                         // to be retried
	refundWasRefused                     // refused for good
)

// refundOne tries the refund of attempt idx of order raw once, if it is due
// (or force, for Cancel's first try) and nobody else holds it: claim the
// item, call the gateway (bounded by timeout), record the answer.
func (s *Service) refundOne(ctx context.Context, raw orderID, idx int, force bool, timeout time.Duration) (refundResult, error) {
	key := rfqKey(raw, idx)
	id := raw.String()
	var o *orderRec
	err := s.retry(ctx, func() error {
		return s.st.Update(ctx, func(tx store.Txn) error {
			o = nil
			it, err := loadRefundItemTx(tx, key)
			if err != nil || it == nil || it.State != refundPending {
				return err
			}
			now := s.now()
			if it.NextAt > now && !force {
				return nil
			}
			cur, err := loadOrderTx(tx, id)
			if err != nil {
				if api.ErrorCode(err) == api.ECodeNotFound {
					return tx.Delete(key)
				}
				return err
			}
			if idx >= len(cur.Attempts) || cur.Attempts[idx].Refund != refundPending {
				return tx.Delete(key) // done or refused already: a stale item
			}
			it.NextAt = now + s.leaseSecs()
			o = cur
			return tx.Set(key, encodeRefundItem(it))
		})
	})
	if err != nil || o == nil {
		return refundSkipped, err
	}
	a := o.Attempts[idx]
	var r payment.Refund
	gw := s.pay.Gateway(a.Gateway)
	if gw == nil {
		err = fmt.Errorf("payment gateway %q is not configured", a.Gateway)
	} else {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		r, err = gw.Refund(cctx, payment.RefundRequest{Key: refundKey(id, idx), ChargeID: a.ChargeID, Amount: o.Totals, OrderID: id})
		cancel()
	}
	res := refundFailed
	switch {
	case err == nil && r.Status == payment.RefundSucceeded:
		res = refundDone
	case err == nil:
		res = refundAccepted
	case errors.Is(err, payment.ErrRefundRefused):
		res = refundWasRefused
	}
	rerr := s.retry(ctx, func() error {
		return s.st.Update(context.WithoutCancel(ctx), func(tx store.Txn) error {
			return s.recordRefundTx(tx, key, id, idx, res, r.ID, err)
		})
	})
	switch res {
	case refundDone:
		s.rec.refundsDone.Inc()
	case refundAccepted:
		s.rec.refundsAccepted.Inc()
	case refundWasRefused:
		s.rec.refundsRefused.Inc()
		s.log.Error().Err(err).Str("order", id).Str("charge", a.ChargeID).Msg("the gateway refuses the refund; an operator must resolve it (GET /admin/v1/refunds?state=refused)")
	default:
		s.rec.refundsFailed.Inc()
		s.log.Warn().Err(err).Str("order", id).Str("charge", a.ChargeID).Msg("refund failed; it is retried")
	}
	return res, rerr
}

// recordRefundTx records one refund call's answer on the order and its
// work item.
func (s *Service) recordRefundTx(tx store.Txn, key []byte, id string, idx int, res refundResult, refundID string, callErr error) error {
	it, err := loadRefundItemTx(tx, key)
	if err != nil || it == nil {
		return err
	}
	o, err := loadOrderTx(tx, id)
	if err != nil {
		return err
	}
	a := &o.Attempts[idx]
	if a.Refund != refundPending {
		return tx.Delete(key)
	}
	if refundID != "" {
		a.RefundID = refundID
	}
	now := s.now()
	switch res {
	case refundDone:
		a.Refund = refundSucceeded
		if err := tx.Delete(key); err != nil {
			return err
		}
		return saveOrderTx(tx, o)
	case refundWasRefused:
		a.Refund = refundRefused
		it.State, it.LastError = refundRefused, callErr.Error()
		if err := saveOrderTx(tx, o); err != nil {
			return err
		}
	case refundAccepted:
		// Ask again (same key) until the gateway says it completed.
		it.NextAt, it.LastError = now+secs(s.refundBackoff(1)), "accepted by the gateway, not completed yet"
		if err := saveOrderTx(tx, o); err != nil {
			return err
		}
	default:
		it.Tries++
		it.NextAt, it.LastError = now+secs(s.refundBackoff(it.Tries)), callErr.Error()
	}
	return tx.Set(key, encodeRefundItem(it))
}

// refundPass tries every refund that is due, in key order, SweepBatch
// items per read. It returns how many the gateway confirmed.
func (s *Service) refundPass(ctx context.Context) (int, error) {
	done := 0
	start := []byte(store.NSRefundQ)
	end := store.PrefixEnd(start)
	for ctx.Err() == nil {
		type due struct {
			raw orderID
			idx int
		}
		var items []due
		var last []byte
		now := s.now()
		err := s.st.View(ctx, func(tx store.Txn) error {
			items, last = items[:0], nil
			return tx.Scan(start, end, s.cfg.SweepBatch, func(k, v []byte) error {
				last = append(last[:0], k...)
				raw, idx, ok := rfqKeyID(k)
				if !ok {
					return nil
				}
				it, err := decodeRefundItem(v)
				if err != nil {
					s.log.Error().Err(err).Str("order", raw.String()).Msg("skipping an unreadable refund item")
					return nil
				}
				if it.State == refundPending && it.NextAt <= now {
					items = append(items, due{raw, idx})
				}
				return nil
			})
		})
		if err != nil {
			return done, fmt.Errorf("cannot scan the refund queue: %w", err)
		}
		for _, d := range items {
			res, err := s.refundOne(ctx, d.raw, d.idx, false, s.cfg.PaymentTimeout)
			if err != nil {
				return done, err
			}
			if res == refundDone {
				done++
			}
		}
		if last == nil {
			break
		}
		start = append(last, 0)
	}
	return done, nil
}
