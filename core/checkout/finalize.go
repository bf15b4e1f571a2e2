package checkout

import (
	"bytes"
	"fmt"
	"net/http"

	"shopedge/core/api"
	"shopedge/core/cart"
	"shopedge/store"
)

// finalizeReq is a checkout's second transaction, after the gateway
// answered: chargeID is set when the charge succeeded, declined when it was
// refused.
type finalizeReq struct {
	keyHash        keyHash
	orderID, token string
	chargeID       string
	declined       *api.Error
	// fast, when set, holds a fresh reservation's stored bytes and the
	// paid records precomputed outside the transaction (see finalizeFastTx).
	fast *paidFast
}

// paidFast is a mark-paid precomputed by the request's goroutine, so the
// shared batch transaction only compares and copies bytes.
type paidFast struct {
	order   *orderRec // as reserved
	pending []byte    // the order bytes the reservation wrote
	paid    []byte    // the paid order to write
	body    []byte    // the 201 body
	key     []byte    // the order's key
}

// precomputePaid prepares q's fast path from a fresh reservation w.
func precomputePaid(q *finalizeReq, o *orderRec, w *written) error {
	paid := *o
	paid.Status, paid.ChargeID, paid.LeaseUntil, paid.Indexed = api.OrderPaid, q.chargeID, 0, false
	body, err := paidBody(&paid, q.token)
	if err != nil {
		return err
	}
	q.fast = &paidFast{
		order: o, pending: w.order, paid: encodeOrderRec(nil, &paid), body: body,
		key: orderKey(o.ID),
	}
	return nil
}

// finalizeFastTx marks the order paid when it has not changed since the
// reservation (compared byte for byte: whoever ends, cancels or takes over
// a pending order rewrites it); otherwise it reports !ok and finalizeTx
// decides from scratch. The idempotency record is left as it is: it points
// to the order, which now holds the answer.
func (s *Service) finalizeFastTx(tx store.Txn, q finalizeReq) (res finalizeRes, ok bool, err error) {
	f := q.fast
	if v, err := tx.Get(f.key); err != nil || !bytes.Equal(v, f.pending) {
		return res, false, nil
	}
	o := f.order
	if err := s.sellTx(tx, o); err != nil {
		return res, false, err
	}
	if o.Indexed {
		if err := tx.Delete(resvKey(o.ExpiresAt, o.ID)); err != nil {
			return res, false, err
		}
	}
	if err := cart.ConsumeTx(tx, o.CartID); err != nil {
		return res, false, err
	}
	if err := tx.Set(f.key, f.paid); err != nil {
		return res, false, err
	}
	return finalizeRes{status: http.StatusCreated, body: f.body, totals: o.Totals}, true, nil
}

// sellTx turns a pending order's reserved stock into sold.
func (s *Service) sellTx(tx store.Txn, o *orderRec) error {
	for _, l := range o.Lines {
		qty := l.Quantity
		err := s.cat.AdjustStock(tx, l.SKU, func(st *api.Stock) error { st.Reserved -= qty; st.Sold += qty; return nil })
		if err != nil {
			return err
		}
	}
	return nil
}

type finalizeRes struct {
	status int
	body   []byte
	// refund is set when the charge succeeded but the order had ended
	// (expired or cancelled) meanwhile: the caller refunds after commit.
	refund bool
	totals api.Money
}

// errEnded is the stored answer of a checkout whose reservation ended before
// its payment completed (both the sweeper and cancel write it).
var errEnded = &api.Error{Code: api.ECodeConflict, Message: "the order's reservation ended (expired or cancelled) before payment completed; any charge is refunded"}

// finalizeTx marks a pending order paid (reserved → sold, cart removed) or
// payment_failed (reservation released, the answer stored with the key).
// An order that ended meanwhile is left alone and its charge refunded.
// Re-running it after it landed changes nothing and returns the same body.
func (s *Service) finalizeTx(tx store.Txn, q finalizeReq) (finalizeRes, error) {
	if q.fast != nil && q.declined == nil {
		if res, ok, err := s.finalizeFastTx(tx, q); ok || err != nil {
			return res, err
		}
	}
	o, err := loadOrderTx(tx, q.orderID)
	if err != nil {
		return finalizeRes{}, err
	}
	res := finalizeRes{totals: o.Totals, refund: q.chargeID != "" && o.ChargeID != q.chargeID}
	rec, err := loadIdemTx(tx, q.keyHash)
	if err != nil {
		return res, err
	}
	if o.Status != api.OrderPendingPayment {
		switch {
		case rec != nil && rec.State == idemDone:
			res.status, res.body = rec.Status, rec.Body
			return res, nil
		case o.ChargeID != "":
			// Paid by an earlier run of this request (or a takeover).
			res.status = http.StatusCreated
			res.body, err = paidBody(o, q.token)
			return res, err
		}
		res.status, res.body = http.StatusConflict, errorBody(errEnded)
		return res, s.closeIdemTx(tx, q.keyHash, rec, res.status, res.body)
	}
	res.refund = false
	if err := unindexTx(tx, o); err != nil {
		return res, err
	}
	o.LeaseUntil = 0
	if q.declined != nil {
		if err := s.releaseTx(tx, o); err != nil {
			return res, err
		}
		o.Status = api.OrderPaymentFailed
		res.status, res.body = api.Status(q.declined.Code), errorBody(q.declined)
		if err := s.closeIdemTx(tx, q.keyHash, rec, res.status, res.body); err != nil {
			return res, err
		}
	} else {
		if err := s.sellTx(tx, o); err != nil {
			return res, err
		}
		o.Status, o.ChargeID = api.OrderPaid, q.chargeID
		// The cart is consumed.
		if err := cart.ConsumeTx(tx, o.CartID); err != nil {
			return res, err
		}
		body, err := paidBody(o, q.token)
		if err != nil {
			return res, err
		}
		res.status, res.body = http.StatusCreated, body
	}
	return res, saveOrderTx(tx, o)
}

// closeIdemTx stores the final response in an idempotency record that still
// points to its order.
func (s *Service) closeIdemTx(tx store.Txn, h keyHash, rec *idemRec, status int, body []byte) error {
	if rec == nil || rec.State == idemDone {
		return nil
	}
	rec.State, rec.Status, rec.Body, rec.OrderID, rec.Token = idemDone, status, body, "", ""
	return saveIdemTx(tx, h, rec, false, 0)
}

// releaseTx returns a pending order's reserved stock.
func (s *Service) releaseTx(tx store.Txn, o *orderRec) error {
	for _, l := range o.Lines {
		qty := l.Quantity
		if err := s.cat.AdjustStock(tx, l.SKU, func(st *api.Stock) error { st.Reserved -= qty; return nil }); err != nil {
			return err
		}
	}
	return nil
}

// unindexTx removes a pending order's reservation index entry, if it has
// one, and clears o.Indexed (the caller saves o).
func unindexTx(tx store.Txn, o *orderRec) error {
	if !o.Indexed {
		return nil
	}
	o.Indexed = false
	if err := tx.Delete(resvKey(o.ExpiresAt, o.ID)); err != nil {
		return fmt.Errorf("cannot unindex order %s: %w", o.ID, err)
	}
	return nil
}
