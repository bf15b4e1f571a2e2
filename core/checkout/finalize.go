package checkout

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"

	"shopedge/core/api"
	"shopedge/core/cart"
	"shopedge/core/payment"
	"shopedge/store"
)

// verdict is what a charge attempt did, as the gateway's answer or a
// lookup told: outcome 0 means it is not known (err says why).
type verdict struct {
	outcome  payment.Outcome
	chargeID string
	// decline is the gateway's refusal (OutcomeDeclined).
	decline error
	err     error
}

// finalizeReq is a checkout's last transaction, after the gateway told
// what attempt idx did: the outcome is recorded on the order, which is
// then paid (reserved → sold), released (payment_failed), or, if it ended
// meanwhile, left as it is with a refund of any charge recorded.
type finalizeReq struct {
	keyHash        keyHash
	orderID, token string
	idx            int
	v              verdict
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

// precomputePaid prepares q's fast path from a fresh reservation w whose
// first attempt charged q.v.chargeID.
func precomputePaid(q *finalizeReq, o *orderRec, w *written) error {
	paid := *o
	paid.Attempts = slices.Clone(o.Attempts)
	paid.Attempts[0].Outcome, paid.Attempts[0].ChargeID = payment.OutcomeCharged, q.v.chargeID
	paid.Status, paid.PaidBy, paid.LeaseUntil, paid.Indexed, paid.Queued = api.OrderPaid, 1, 0, false, false
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
// reservation (compared byte for byte: whoever ends, cancels, queues or
// takes over a pending order rewrites it); otherwise it reports !ok and
// finalizeTx decides from scratch. The idempotency record is left as it
// is: it points to the order, which now holds the answer. The cart stays
// frozen by the paid order.
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
	if o.Queued {
		raw, _ := parseOrderID(o.ID)
		if err := tx.Delete(payqKey(raw)); err != nil {
			return res, false, err
		}
	}
	if err := tx.Set(f.key, f.paid); err != nil {
		return res, false, err
	}
	return finalizeRes{status: http.StatusCreated, body: f.body, effect: settledPaid}, true, nil
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
	effect settled
}

// settled is what settleTx did to an order.
type settled uint8

const (
	settledNothing  settled = iota // recorded the outcome only
	settledPaid                    // the charge paid the pending order
	settledReleased                // nothing was charged: the order ended unpaid
	settledRefund                  // a charge for an order that had ended (or was paid otherwise): refund recorded
)

// Stored answers of checkouts whose order ended before they were paid. They
// say only what is true when they are stored: whether anything was charged
// is known unless the order was cancelled while a charge was in doubt, and
// then the answer says so.
var (
	errExpired          = &api.Error{Code: api.ECodeConflict, Message: "the order's reservation expired before its payment completed; nothing was charged"}
	errCancelledUnpaid  = &api.Error{Code: api.ECodeConflict, Message: "the order was cancelled before its payment completed; nothing was charged"}
	errCancelledInDoubt = &api.Error{Code: api.ECodeConflict, Message: "the order was cancelled while its payment's outcome was not known; a charge that went through is refunded automatically (the order shows the refund's status)"}
	// errNothingCharged ends a checkout whose every attempt provably
	// charged nothing (the gateways failed before charging).
	errNothingCharged = &api.Error{Code: api.ECodePaymentDeclined, Field: "payment_token", Message: "the payment could not be completed and nothing was charged; try again"}
	// errEnded answers a request whose order ended by another hand when
	// its own answer was not stored.
	errEnded = &api.Error{Code: api.ECodeConflict, Message: "the order ended before its payment completed"}
)

// finalizeTx records what attempt q.idx did (see settleTx) and renders the
// request's answer: the paid order (201), or the answer stored with the
// key. Re-running it after it landed changes nothing and returns the same
// body.
func (s *Service) finalizeTx(tx store.Txn, q finalizeReq) (finalizeRes, error) {
	if q.fast != nil && q.v.outcome == payment.OutcomeCharged {
		if res, ok, err := s.finalizeFastTx(tx, q); ok || err != nil {
			return res, err
		}
	}
	o, err := loadOrderTx(tx, q.orderID)
	if err != nil {
		return finalizeRes{}, err
	}
	var res finalizeRes
	if res.effect, err = s.settleTx(tx, o, q.idx, q.v); err != nil {
		return res, err
	}
	if err := saveOrderTx(tx, o); err != nil {
		return res, err
	}
	if o.PaidBy > 0 {
		// Paid now, or by an earlier run of this request (or a takeover).
		res.status = http.StatusCreated
		res.body, err = paidBody(o, q.token)
		return res, err
	}
	rec, err := loadIdemTx(tx, q.keyHash)
	if err != nil {
		return res, err
	}
	if rec != nil && rec.State == idemDone {
		res.status, res.body = rec.Status, rec.Body
		return res, nil
	}
	if o.Status == api.OrderPendingPayment {
		// Another attempt is current (a takeover moved on): not this
		// request's to answer.
		return res, api.Errorf(api.ECodeInFlight, "a request with this Idempotency-Key is still in progress")
	}
	res.status, res.body = http.StatusConflict, errorBody(errEnded)
	return res, s.closeIdemTx(tx, q.keyHash, rec, res.status, res.body)
}

// settleTx records on o (which the caller saves) that attempt idx did v,
// and acts on it:
//
//   - a charge pays o if o is still pending and unpaid (the reservation
//     holds: the sweeper never releases an order whose charge is in
//     doubt); a charge o cannot take (o ended, or another charge paid it)
//     gets a refund, recorded here, done by the refund worker;
//   - a decline, or nothing charged, ends a pending o whose current
//     attempt it is: its reservation is released, its checkout's key
//     answered, its cart unfrozen.
//
// An outcome already recorded is kept; a contradicting one (a gateway
// that breaks its word) is logged, and a charge always wins, so no charge
// is ever left without an order or a refund. settleTx also drops o from
// the reconciliation queue once no attempt is in doubt.
func (s *Service) settleTx(tx store.Txn, o *orderRec, idx int, v verdict) (settled, error) {
	if idx < 0 || idx >= len(o.Attempts) || v.outcome == 0 {
		return settledNothing, fmt.Errorf("BUG: settle attempt %d of order %s with %d attempts, outcome %v", idx, o.ID, len(o.Attempts), v.outcome)
	}
	a := &o.Attempts[idx]
	switch {
	case !a.known():
		a.Outcome = v.outcome
		if v.outcome == payment.OutcomeCharged {
			a.ChargeID = v.chargeID
		}
	case a.Outcome == v.outcome:
	case v.outcome == payment.OutcomeCharged:
		s.log.Error().Str("order", o.ID).Int("attempt", idx+1).Str("recorded", a.Outcome.String()).Str("charge", v.chargeID).
			Msg("the gateway reports a charge for an attempt it had reported otherwise; the charge is kept and accounted for")
		a.Outcome, a.ChargeID = payment.OutcomeCharged, v.chargeID
	default:
		s.log.Warn().Str("order", o.ID).Int("attempt", idx+1).Str("recorded", a.Outcome.String()).Str("now", v.outcome.String()).
			Msg("the gateway contradicts an attempt's recorded outcome; the recorded one stands")
		v = verdict{outcome: a.Outcome, chargeID: a.ChargeID}
	}
	effect := settledNothing
	switch {
	case a.Outcome == payment.OutcomeCharged:
		switch {
		case o.PaidBy == idx+1:
		case o.PaidBy == 0 && o.Status == api.OrderPendingPayment:
			if err := s.payTx(tx, o, idx); err != nil {
				return effect, err
			}
			effect = settledPaid
		case a.Refund == refundNone:
			if err := s.enqueueRefundTx(tx, o, idx); err != nil {
				return effect, err
			}
			effect = settledRefund
		}
	case o.Status == api.OrderPendingPayment && idx == len(o.Attempts)-1:
		answer := errNothingCharged
		if a.Outcome == payment.OutcomeDeclined {
			answer = declineError(v.decline)
		}
		if err := s.releaseOrderTx(tx, o, api.OrderPaymentFailed, answer); err != nil {
			return effect, err
		}
		effect = settledReleased
	}
	if o.Queued && o.unknown() < 0 {
		if err := dequeueTx(tx, o); err != nil {
			return effect, err
		}
	}
	return effect, nil
}

// payTx marks pending o paid by attempt idx's charge: reserved → sold, out
// of the expiry index. The cart stays frozen by o.
func (s *Service) payTx(tx store.Txn, o *orderRec, idx int) error {
	if err := s.sellTx(tx, o); err != nil {
		return err
	}
	if err := unindexTx(tx, o); err != nil {
		return err
	}
	o.Status, o.PaidBy, o.LeaseUntil = api.OrderPaid, idx+1, 0
	return nil
}

// releaseOrderTx ends pending o unpaid with status: its reservation is
// released and unindexed, its checkout's in-flight idempotency record gets
// answer, and its cart is unfrozen so the buyer can try again. The caller
// saves o.
func (s *Service) releaseOrderTx(tx store.Txn, o *orderRec, status string, answer *api.Error) error {
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
	if rec != nil && rec.State == idemOrder && rec.OrderID == o.ID {
		if err := s.closeIdemTx(tx, o.IdemKey, rec, api.Status(answer.Code), errorBody(answer)); err != nil {
			return err
		}
	}
	return cart.UnfreezeTx(tx, o.CartID, o.ID, s.now())
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

// enqueueTx puts o in the queue of payments to reconcile, if it is not
// there yet (the caller saves o).
func enqueueTx(tx store.Txn, o *orderRec) error {
	if o.Queued {
		return nil
	}
	raw, _ := parseOrderID(o.ID)
	if err := tx.Set(payqKey(raw), nil); err != nil {
		return fmt.Errorf("cannot queue order %s for reconciliation: %w", o.ID, err)
	}
	o.Queued = true
	return nil
}

// dequeueTx takes o out of the queue of payments to reconcile (the caller
// saves o).
func dequeueTx(tx store.Txn, o *orderRec) error {
	if !o.Queued {
		return nil
	}
	raw, _ := parseOrderID(o.ID)
	if err := tx.Delete(payqKey(raw)); err != nil {
		return fmt.Errorf("cannot dequeue order %s: %w", o.ID, err)
	}
	o.Queued = false
	return nil
}
