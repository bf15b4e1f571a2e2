package checkout

import (
	"bytes"
	"errors"
	"net/http"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
	"shopedge/core/cart"
	"shopedge/store"
)

// finalizeReq is a checkout's second transaction, after the gateway
// answered: chargeID is set when the charge succeeded, declined when it was
// refused.
type finalizeReq struct {
	keyHash, orderID, token string
	chargeID                string
	declined                *api.Error
	// fast, when set, holds a fresh reservation's stored bytes and the
	// paid records precomputed outside the transaction (see finalizeFastTx).
	fast *paidFast
}

// paidFast is a mark-paid precomputed by the request's goroutine, so the
// shared batch transaction only compares and copies bytes.
type paidFast struct {
	order          *orderRec // as reserved
	pending, idem  []byte    // bytes the reservation wrote
	cartRaw        []byte
	cartExp        int64
	paid, idemDone []byte // records to write
	body           []byte // the 201 body
}

// precomputePaid prepares q's fast path from a fresh reservation w.
func precomputePaid(q *finalizeReq, o *orderRec, w *written) error {
	paid := *o
	paid.Status, paid.ChargeID = api.OrderPaid, q.chargeID
	pub := paid.public()
	pub.Token = q.token
	body, err := json.Marshal(&pub)
	if err != nil {
		return err
	}
	pb, err := json.Marshal(&paid)
	if err != nil {
		return err
	}
	done := *w.idem
	done.State, done.Status, done.Body, done.Token, done.LeaseUntil = idemDone, http.StatusCreated, body, "", 0
	db, err := json.Marshal(&done)
	if err != nil {
		return err
	}
	q.fast = &paidFast{order: o, pending: w.order, idem: w.idemRaw, cartRaw: w.cartRaw, cartExp: w.cartExp, paid: pb, idemDone: db, body: body}
	return nil
}

// finalizeFastTx marks the order paid when neither the order nor its
// idempotency record changed since the reservation (compared byte for
// byte); otherwise it reports !ok and finalizeTx decides from scratch.
func (s *Service) finalizeFastTx(tx store.Txn, q finalizeReq) (res finalizeRes, ok bool, err error) {
	f := q.fast
	if v, err := tx.Get(orderKey(q.orderID)); err != nil || !bytes.Equal(v, f.pending) {
		return res, false, nil
	}
	if v, err := tx.Get(idemKey(q.keyHash)); err != nil || !bytes.Equal(v, f.idem) {
		return res, false, nil
	}
	o := f.order
	if err := s.sellTx(tx, o); err != nil {
		return res, false, err
	}
	if err := tx.Delete(timeKey(store.NSResv, o.ExpiresAt, o.ID)); err != nil {
		return res, false, err
	}
	v, err := tx.Get(cart.Key(o.CartID))
	switch {
	case err == nil && bytes.Equal(v, f.cartRaw):
		err = cart.DeleteTx(tx, cart.Record{ID: o.CartID, ExpiresAt: f.cartExp})
	case err == nil || errors.Is(err, store.ErrNotFound):
		err = deleteCartTx(tx, o.CartID)
	}
	if err != nil {
		return res, false, err
	}
	if err := tx.Set(orderKey(o.ID), f.paid); err != nil {
		return res, false, err
	}
	if err := tx.Set(idemKey(q.keyHash), f.idemDone); err != nil {
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

// deleteCartTx removes a checked-out cart if it is still there (expired or
// not: now=0 loads it regardless).
func deleteCartTx(tx store.Txn, id string) error {
	cr, err := cart.LoadTx(tx, id, 0)
	if api.ErrorCode(err) == api.ECodeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	return cart.DeleteTx(tx, cr)
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
// payment_failed (reservation released), and stores the response with the
// key. An order that ended meanwhile is left alone and its charge refunded.
// Re-running it after it landed changes nothing and returns the stored body.
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
		if rec != nil && rec.State == idemDone {
			res.status, res.body = rec.Status, rec.Body
			return res, nil
		}
		res.status, res.body = http.StatusConflict, errorBody(errEnded)
		return res, s.closeIdemTx(tx, q.keyHash, rec, res.status, res.body)
	}
	res.refund = false
	if err := tx.Delete(timeKey(store.NSResv, o.ExpiresAt, o.ID)); err != nil {
		return res, err
	}
	if q.declined != nil {
		if err := s.releaseTx(tx, o); err != nil {
			return res, err
		}
		o.Status = api.OrderPaymentFailed
		res.status, res.body = api.Status(q.declined.Code), errorBody(q.declined)
	} else {
		if err := s.sellTx(tx, o); err != nil {
			return res, err
		}
		o.Status, o.ChargeID = api.OrderPaid, q.chargeID
		// The cart is consumed.
		if err := deleteCartTx(tx, o.CartID); err != nil {
			return res, err
		}
		pub := o.public()
		pub.Token = q.token
		body, err := json.Marshal(&pub)
		if err != nil {
			return res, err
		}
		res.status, res.body = http.StatusCreated, body
	}
	if err := saveOrderTx(tx, o); err != nil {
		return res, err
	}
	return res, s.closeIdemTx(tx, q.keyHash, rec, res.status, res.body)
}

// closeIdemTx stores the final response in an in-flight idempotency record.
func (s *Service) closeIdemTx(tx store.Txn, hash string, rec *idemRec, status int, body []byte) error {
	if rec == nil || rec.State == idemDone {
		return nil
	}
	rec.State, rec.Status, rec.Body, rec.Token, rec.LeaseUntil = idemDone, status, body, "", 0
	return saveIdemTx(tx, hash, rec, false)
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
