package checkout

import (
	"context"
	"net/http"

	"shopedge/core/api"
	"shopedge/core/payment"
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

// Cancel cancels order id (token as for Order). A pending order's
// reservation is released; a paid order is restocked (sold → available) and
// its charge refunded through the gateway. Cancelling a cancelled order
// returns it again (and retries a refund that had failed). Expired and
// failed orders cannot be cancelled (conflict).
func (s *Service) Cancel(ctx context.Context, id, token string) (api.Order, error) {
	var o *orderRec
	err := s.retry(ctx, func() error {
		return s.st.Update(ctx, func(tx store.Txn) error {
			var err error
			o, err = s.cancelTx(tx, id, token)
			return err
		})
	})
	if err != nil {
		return api.Order{}, s.internal(err, "cannot cancel order")
	}
	if n, ok := s.cat.(notifier); ok {
		n.Notify()
	}
	if !o.RefundPending {
		return o.public(), nil
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.PaymentTimeout)
	// TODO(payments): the order records which gateway charged it.
	gw := s.pay.Gateway(s.pay.Route("", o.Totals)[0])
	_, err = gw.Refund(cctx, payment.RefundRequest{Key: "refund-" + o.ID, ChargeID: o.ChargeID, Amount: o.Totals, OrderID: o.ID})
	cancel()
	if err != nil {
		s.log.Error().Err(err).Str("order", o.ID).Msg("cannot refund cancelled order; cancel again to retry")
		return api.Order{}, api.Errorf(api.ECodeRefundPending, "the order is cancelled but its refund is pending; retry the cancel")
	}
	s.refunds.Inc()
	err = s.retry(ctx, func() error {
		return s.st.Update(context.WithoutCancel(ctx), func(tx store.Txn) error {
			cur, err := loadOrderTx(tx, id)
			if err != nil {
				return err
			}
			cur.RefundPending = false
			o = cur
			return saveOrderTx(tx, cur)
		})
	})
	if err != nil {
		// The refund happened; a later cancel refunds again idempotently.
		return api.Order{}, s.internal(err, "cannot record refund")
	}
	return o.public(), nil
}

func (s *Service) cancelTx(tx store.Txn, id, token string) (*orderRec, error) {
	o, err := loadOrderTx(tx, id)
	if err != nil {
		return nil, err
	}
	if !tokenMatches(o, token) {
		return nil, errOrderNotFound
	}
	switch o.Status {
	case api.OrderCancelled:
		return o, nil
	case api.OrderPendingPayment:
		if err := s.endPendingTx(tx, o, api.OrderCancelled); err != nil {
			return nil, err
		}
	case api.OrderPaid:
		for _, l := range o.Lines {
			qty := l.Quantity
			if err := s.cat.AdjustStock(tx, l.SKU, func(st *api.Stock) error { st.Sold -= qty; return nil }); err != nil {
				return nil, err
			}
		}
		o.Status, o.RefundPending = api.OrderCancelled, o.ChargeID != ""
	default:
		return nil, api.Errorf(api.ECodeConflict, "the order is %s and cannot be cancelled", o.Status)
	}
	return o, saveOrderTx(tx, o)
}

// endPendingTx ends a pending order (cancelled or expired): its reservation
// is released and removed from the index, and its checkout's in-flight
// idempotency record gets the final "ended" answer. It does not save o.
func (s *Service) endPendingTx(tx store.Txn, o *orderRec, status string) error {
	if err := s.releaseTx(tx, o); err != nil {
		return err
	}
	if err := unindexTx(tx, o); err != nil {
		return err
	}
	o.Status, o.LeaseUntil = status, 0
	rec, err := loadIdemTx(tx, o.IdemKey)
	if err != nil {
		return err
	}
	if rec != nil && rec.OrderID == o.ID {
		return s.closeIdemTx(tx, o.IdemKey, rec, http.StatusConflict, errorBody(errEnded))
	}
	return nil
}
