package checkout

import (
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
		for _, l := range o.Lines {
			qty := l.Quantity
			err := s.cat.AdjustStock(tx, l.SKU, func(st *api.Stock) error { st.Reserved -= qty; st.Sold += qty; return nil })
			if err != nil {
				return res, err
			}
		}
		o.Status, o.ChargeID = api.OrderPaid, q.chargeID
		// The cart is consumed. now=0 loads it even if it has expired.
		if cr, err := cart.LoadTx(tx, o.CartID, 0); err == nil {
			if err := cart.DeleteTx(tx, cr); err != nil {
				return res, err
			}
		} else if api.ErrorCode(err) != api.ECodeNotFound {
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
