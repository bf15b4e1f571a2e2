package checkout

import (
	"fmt"
	"net/http"
	"time"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
	"shopedge/core/cart"
	"shopedge/store"
)

// reserveReq is one checkout's first transaction. orderID and token are
// drawn before the transaction, so a retry after an undetermined commit
// recognises its own order instead of creating a second one.
type reserveReq struct {
	keyHash, fp    string
	cartID, email  string
	orderID, token string
}

// reserveRes is what the first transaction decided: either an order that
// now holds its stock (order set: charge it), or a final response (stored
// with the key, or replayed from it).
type reserveRes struct {
	order    *orderRec
	token    string
	status   int
	body     []byte
	replayed bool
	// fresh is set when this transaction created the order: what it wrote,
	// so the mark-paid transaction can take its fast path.
	fresh *written
}

// written is what a fresh reservation stored, byte for byte.
type written struct {
	order   []byte   // pending order JSON at ord/{id}
	idem    *idemRec // in-flight idempotency record
	idemRaw []byte   // its JSON at idem/{hash}
	cartRaw []byte   // the cart record as read
	cartExp int64    // the cart's expiry (its index key)
}

// reserveTx runs the first transaction of a checkout: the idempotency
// check, the cart re-priced from the catalog, all-or-nothing reservation of
// every line, and the pending order with its reservation and idempotency
// records. Errors it returns are not stored with the key.
func (s *Service) reserveTx(tx store.Txn, q reserveReq) (reserveRes, error) {
	now := s.now()
	rec, err := loadIdemTx(tx, q.keyHash)
	if err != nil {
		return reserveRes{}, err
	}
	if rec != nil {
		return s.existingTx(tx, q, rec, now)
	}
	cr, cartRaw, err := cart.LoadTxRaw(tx, q.cartID, now)
	if err != nil {
		if api.ErrorCode(err) == api.ECodeNotFound {
			return reserveRes{}, &api.Error{Code: api.ECodeNotFound, Field: "cart_id", Message: "cart not found"}
		}
		return reserveRes{}, err
	}
	priced, err := cart.PriceTx(tx, s.cat, cr, true)
	if err != nil {
		return reserveRes{}, err
	}
	if len(priced.Lines) == 0 {
		return reserveRes{}, api.Invalid("cart_id", "the cart is empty")
	}
	var short []api.ShortLine
	for _, l := range priced.Lines {
		st, err := s.cat.StockTx(tx, l.SKU)
		if err != nil {
			return reserveRes{}, err
		}
		if st.Available < l.Quantity {
			short = append(short, api.ShortLine{SKU: l.SKU, Requested: l.Quantity, Available: max(st.Available, 0)})
		}
	}
	idem := &idemRec{Fingerprint: q.fp, ExpiresAt: now + secs(s.cfg.IdempotencyTTL)}
	if short != nil {
		// The response is final: store it with the key.
		e := &api.Error{Code: api.ECodeOutOfStock, Message: "not enough stock for every line", Details: short}
		idem.State, idem.Status, idem.Body = idemDone, http.StatusConflict, errorBody(e)
		if err := saveIdemTx(tx, q.keyHash, idem, true); err != nil {
			return reserveRes{}, err
		}
		return reserveRes{status: idem.Status, body: idem.Body}, nil
	}
	for _, l := range priced.Lines {
		qty := l.Quantity
		if err := s.cat.AdjustStock(tx, l.SKU, func(st *api.Stock) error { st.Reserved += qty; return nil }); err != nil {
			return reserveRes{}, err
		}
	}
	o := &orderRec{
		ID: q.orderID, TokenHash: hashHex(q.token), Status: api.OrderPendingPayment, Email: q.email,
		CartID: q.cartID, Lines: priced.Lines, Totals: priced.Totals, IdemKey: q.keyHash,
		CreatedAt: now, ExpiresAt: now + secs(s.cfg.ReservationTTL),
	}
	ob, err := json.Marshal(o)
	if err != nil {
		return reserveRes{}, fmt.Errorf("cannot encode order %s: %w", o.ID, err)
	}
	if err := tx.Set(orderKey(o.ID), ob); err != nil {
		return reserveRes{}, fmt.Errorf("cannot write order %s: %w", o.ID, err)
	}
	if err := tx.Set(timeKey(store.NSResv, o.ExpiresAt, o.ID), nil); err != nil {
		return reserveRes{}, err
	}
	idem.State, idem.OrderID, idem.Token, idem.LeaseUntil = idemInFlight, o.ID, q.token, now+s.leaseSecs()
	ib, err := json.Marshal(idem)
	if err != nil {
		return reserveRes{}, fmt.Errorf("cannot encode idempotency record: %w", err)
	}
	if err := tx.Set(idemKey(q.keyHash), ib); err != nil {
		return reserveRes{}, fmt.Errorf("cannot write idempotency record: %w", err)
	}
	if err := tx.Set(timeKey(store.NSIdemExp, idem.ExpiresAt, q.keyHash), nil); err != nil {
		return reserveRes{}, fmt.Errorf("cannot index idempotency record: %w", err)
	}
	return reserveRes{order: o, token: q.token, fresh: &written{order: ob, idem: idem, idemRaw: ib, cartRaw: cartRaw, cartExp: cr.ExpiresAt}}, nil
}

// existingTx handles a key that has a record: replay, reuse, in flight, our
// own landed attempt, or an abandoned attempt to resume.
func (s *Service) existingTx(tx store.Txn, q reserveReq, rec *idemRec, now int64) (reserveRes, error) {
	if rec.Fingerprint != q.fp {
		return reserveRes{}, api.Errorf(api.ECodeKeyReused, "this Idempotency-Key was used with a different request")
	}
	if rec.State == idemDone {
		return reserveRes{status: rec.Status, body: rec.Body, replayed: true}, nil
	}
	own := rec.OrderID == q.orderID
	if !own && rec.LeaseUntil > now {
		return reserveRes{}, api.Errorf(api.ECodeInFlight, "a request with this Idempotency-Key is still in progress")
	}
	o, err := loadOrderTx(tx, rec.OrderID)
	if err != nil {
		return reserveRes{}, err
	}
	if o.Status != api.OrderPendingPayment {
		// Whoever ended the order finalises the record in the same
		// transaction, so this is not reachable; refuse rather than guess.
		return reserveRes{}, api.Errorf(api.ECodeInFlight, "a request with this Idempotency-Key is still in progress")
	}
	if !own {
		// The first attempt was abandoned (its lease ran out): take it over.
		// The gateway is keyed by the order id, so it charges at most once.
		rec.LeaseUntil = now + s.leaseSecs()
		if err := saveIdemTx(tx, q.keyHash, rec, false); err != nil {
			return reserveRes{}, err
		}
	}
	return reserveRes{order: o, token: rec.Token}, nil
}

func (s *Service) leaseSecs() int64 { return secs(s.cfg.PaymentTimeout) + 2 }

// secs returns d in whole seconds, rounded up.
func secs(d time.Duration) int64 { return int64((d + time.Second - 1) / time.Second) }
