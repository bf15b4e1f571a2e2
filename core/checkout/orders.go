package checkout

import (
	"context"
	"fmt"
	"time"

	"shopedge/core/api"
	"shopedge/store"
)

// Order returns order id if token is its access token. A malformed or
// unknown id and a wrong token are the same not_found, so nothing is
// revealed; the token is compared in constant time.
func (s *Service) Order(ctx context.Context, id, token string) (api.Order, error) {
	var out api.Order
	err := s.st.View(ctx, func(tx store.Txn) error {
		o, err := loadOrderTx(tx, id)
		if err != nil {
			return err
		}
		if !tokenMatches(o, token) {
			return errOrderNotFound
		}
		out = o.public()
		return nil
	})
	return out, err
}

// Cancel cancels order id (token as for Order) and answers at once with
// the cancelled order. A pending order's reservation is released (a charge
// still in doubt is handed to the reconciler, and refunded if it went
// through); a paid order is restocked (sold → available) and the refund of
// its charge recorded in the same transaction, then tried once, bounded by
// cancelRefundWait: the answer's refund_status says pending or succeeded,
// and the refund worker retries a pending one until the gateway confirms.
// Cancelling a cancelled order returns it again. Expired and failed orders
// cannot be cancelled (conflict).
func (s *Service) Cancel(ctx context.Context, id, token string) (api.Order, error) {
	var (
		o      *orderRec
		refund = -1
	)
	err := s.retry(ctx, func() error {
		return s.st.Update(ctx, func(tx store.Txn) error {
			var err error
			o, refund, err = s.cancelTx(tx, id, token)
			return err
		})
	})
	if err != nil {
		return api.Order{}, s.internal(err, "cannot cancel order")
	}
	if n, ok := s.cat.(notifier); ok {
		n.Notify()
	}
	if refund < 0 {
		for i := range o.Attempts {
			if o.Attempts[i].Refund == refundPending {
				refund = i // cancelled before and still pending: try again now
				break
			}
		}
	}
	if refund < 0 {
		return o.public(), nil
	}
	raw, _ := parseOrderID(o.ID)
	res, err := s.refundOne(ctx, raw, refund, true, min(s.cfg.PaymentTimeout, cancelRefundWait))
	if err != nil {
		s.log.Warn().Err(err).Str("order", o.ID).Msg("cannot record a refund's outcome; the refund worker retries it")
	}
	if res == refundDone {
		o.Attempts[refund].Refund = refundSucceeded
	} else {
		s.wakeReconciler()
	}
	return o.public(), nil
}

// cancelRefundWait bounds Cancel's own refund try: the answer does not
// wait for a slow gateway, the refund worker finishes the refund.
const cancelRefundWait = 2 * time.Second

// cancelTx cancels o in tx. It returns the attempt whose refund it
// decided (-1: none).
func (s *Service) cancelTx(tx store.Txn, id, token string) (*orderRec, int, error) {
	o, err := loadOrderTx(tx, id)
	if err != nil {
		return nil, -1, err
	}
	if !tokenMatches(o, token) {
		return nil, -1, errOrderNotFound
	}
	refund := -1
	switch o.Status {
	case api.OrderCancelled:
		return o, -1, nil
	case api.OrderPendingPayment:
		if err := s.endPendingTx(tx, o, api.OrderCancelled); err != nil {
			return nil, -1, err
		}
	case api.OrderPaid:
		for _, l := range o.Lines {
			qty := l.Quantity
			if err := s.cat.AdjustStock(tx, l.SKU, func(st *api.Stock) error { st.Sold -= qty; return nil }); err != nil {
				return nil, -1, err
			}
		}
		o.Status = api.OrderCancelled
		if i := o.PaidBy - 1; i >= 0 && o.Attempts[i].Refund == refundNone {
			if err := s.enqueueRefundTx(tx, o, i); err != nil {
				return nil, -1, err
			}
			refund = i
		}
	default:
		return nil, -1, api.Errorf(api.ECodeConflict, "the order is %s and cannot be cancelled", o.Status)
	}
	return o, refund, saveOrderTx(tx, o)
}

// endPendingTx ends a pending order (cancelled, or expired when no charge
// is in doubt) unpaid: its reservation is released and removed from the
// index, its checkout's in-flight idempotency record gets the final answer,
// and its cart is unfrozen. A charge attempt still in doubt (a cancel
// while the gateway had not answered) goes to the reconciler, which
// refunds the charge if there was one. It does not save o.
func (s *Service) endPendingTx(tx store.Txn, o *orderRec, status string) error {
	answer := errExpired
	if status == api.OrderCancelled {
		answer = errCancelledUnpaid
	}
	if o.unknown() >= 0 {
		if status != api.OrderCancelled {
			return fmt.Errorf("BUG: expiring order %s whose charge is in doubt", o.ID)
		}
		answer = errCancelledInDoubt
		if err := enqueueTx(tx, o); err != nil {
			return err
		}
	}
	return s.releaseOrderTx(tx, o, status, answer)
}
