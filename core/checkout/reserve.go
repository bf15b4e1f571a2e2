package checkout

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"shopedge/core/api"
	"shopedge/core/cart"
	"shopedge/store"
)

// reserveReq is one checkout's first transaction. orderID and token are
// drawn before the transaction, so a retry after an undetermined commit
// recognises its own order instead of creating a second one.
type reserveReq struct {
	keyHash        keyHash
	fp             string
	cartID, email  string
	orderID, token string
	payToken       string
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
	// resume is set when the request took over an order whose earlier
	// request left it (its lease ran out): the current attempt is looked
	// up before anything is charged.
	resume bool
}

// written is what a fresh reservation stored, byte for byte.
type written struct {
	order []byte // pending order at ord/{id}
}

// reserveTx runs the first transaction of a checkout: the idempotency
// check, the cart re-priced from the catalog, all-or-nothing reservation of
// every line, and the pending order with its reservation and idempotency
// records. Errors it returns are not stored with the key.
//
// A fresh reservation writes three keys: the stock record of each line, the
// order (at a time-ordered key) and the idempotency record (the one write
// at a random place). The expiry of both is found through the order's key.
//
// It runs on the store's committer (embedded) or in the pipeline's batch
// transaction, one request after another, so it is kept short: the SKU
// index records are decoded once per change (cachedCatalog) and, in a
// batch, read once per batch; the cart is a compact binary record; and
// nothing is rendered as JSON unless it must be.
// Reading the cart and SKUs on a snapshot beforehand, to check them here
// by comparing bytes, measured more CPU per checkout in all (two reads of
// each record) for a little less work here.
func (s *Service) reserveTx(tx store.Txn, q reserveReq) (reserveRes, error) {
	nowNs := s.cfg.Now().UnixNano()
	now := nowNs / int64(time.Second)
	rec, err := loadIdemTx(tx, q.keyHash)
	if err != nil {
		return reserveRes{}, err
	}
	if rec != nil {
		return s.existingTx(tx, q, rec, now)
	}
	cr, priced, err := s.priceCartTx(tx, q.cartID, now)
	if err != nil {
		if cr.ID == "" || cr.Order != "" {
			return reserveRes{}, err // no cart, or frozen: those answers come first
		}
		// A sold-out line is answered before what pricing found wrong (a
		// SKU no longer for sale, mixed currencies): it is what an edge,
		// which knows bands but not prices, answers in the core's stead.
		sold, serr := s.soldOutTx(tx, cr.Lines)
		if serr != nil || sold == nil {
			return reserveRes{}, err
		}
		return s.shortTx(tx, q, sold, now, nowNs)
	}
	return s.reserveLinesTx(tx, q, cr, priced, now, nowNs)
}

// soldOutTx returns the lines whose SKU has no unit available (nil when
// none has), in the cart's order. A SKU without a stock record is skipped.
func (s *Service) soldOutTx(tx store.Txn, lines []cart.Line) ([]api.ShortLine, error) {
	var sold []api.ShortLine
	for _, l := range lines {
		st, err := s.cat.StockTx(tx, l.SKU)
		if api.ErrorCode(err) == api.ECodeNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		if st.Available <= 0 {
			sold = append(sold, api.ShortLine{SKU: l.SKU, Requested: l.Quantity, Available: 0})
		}
	}
	return sold, nil
}

// priceCartTx loads cart id and prices it strictly from the catalog. A
// cart frozen by an earlier checkout is a conflict naming that order (see
// frozenTx).
func (s *Service) priceCartTx(tx store.Txn, id string, now int64) (cart.Record, api.Cart, error) {
	cr, err := cart.LoadTx(tx, id, now)
	if err != nil {
		if api.ErrorCode(err) == api.ECodeNotFound {
			return cr, api.Cart{}, &api.Error{Code: api.ECodeNotFound, Field: "cart_id", Message: "cart not found"}
		}
		return cr, api.Cart{}, err
	}
	if cr.Order != "" {
		return cr, api.Cart{}, frozenTx(tx, cr)
	}
	priced, err := cart.PriceTx(tx, cachedCatalog{s}, cr, true)
	if err != nil {
		return cr, api.Cart{}, err
	}
	if len(priced.Lines) == 0 {
		return cr, api.Cart{}, api.Invalid("cart_id", "the cart is empty")
	}
	return cr, priced, nil
}

// frozenTx is the answer to a checkout of a cart that an earlier checkout
// (under another Idempotency-Key: the same key replays) froze: a conflict
// naming that order and its status, never a second reservation or charge.
// It is not stored with the key: once that checkout ends unpaid the cart
// is unfrozen and may be checked out again.
func frozenTx(tx store.Txn, cr cart.Record) error {
	e := cart.FrozenError(cr)
	details := map[string]string{"order_id": cr.Order}
	e.Details = details
	o, err := loadOrderTx(tx, cr.Order)
	if err != nil {
		if api.ErrorCode(err) != api.ECodeNotFound {
			return err
		}
		return e
	}
	details["status"] = o.Status
	switch o.Status {
	case api.OrderPendingPayment:
		e.Message = "this cart is already being checked out as order " + o.ID + "; its payment is in progress (retry that checkout's Idempotency-Key to follow it)"
	case api.OrderPaid, api.OrderCancelled:
		e.Message = "this cart was already checked out and paid as order " + o.ID
	}
	return e
}

// reservation is what a fresh reservation writes besides stock: the
// pending order and the key's idempotency record.
type reservation struct {
	raw      orderID
	order    *orderRec
	orderRec []byte
	idemRec  []byte
}

// newReservation encodes q's reservation of the priced cart as of now,
// with its first charge attempt on gateway.
func (s *Service) newReservation(q reserveReq, priced api.Cart, gateway string, now, nowNs int64) *reservation {
	raw, _ := parseOrderID(q.orderID)
	o := &orderRec{
		ID: q.orderID, TokenHash: hashKey(q.token), Status: api.OrderPendingPayment, Email: q.email,
		CartID: q.cartID, Lines: priced.Lines, Totals: priced.Totals, IdemKey: q.keyHash,
		PayToken: q.payToken, Attempts: []attempt{{Gateway: gateway}},
		CreatedAt: now, ExpiresAt: now + secs(s.cfg.ReservationTTL), LeaseUntil: now + s.leaseSecs(),
		Indexed: s.needsIndex(raw, nowNs), Queued: s.needsQueue(raw, nowNs),
	}
	// The record of a key that created an order is found for expiry
	// through the order's key time too (see sweep.go): no index entry.
	idem := &idemRec{Fingerprint: q.fp, ExpiresAt: now + secs(s.cfg.IdempotencyTTL), State: idemOrder, OrderID: o.ID, Token: q.token}
	return &reservation{raw: raw, order: o, orderRec: encodeOrderRec(nil, o), idemRec: encodeIdem(nil, idem)}
}

// needsIndex reports whether an order with id raw, committed at nowNs,
// needs an explicit reservation index entry: the expiry scan trusts an
// order's key time only if the order commits well within its TTL of it
// (see sweep.go); an id drawn long ago (a request that waited) gets one.
func (s *Service) needsIndex(raw orderID, nowNs int64) bool {
	return raw.unixNano() < nowNs-int64(s.cfg.ReservationTTL/2)
}

// needsQueue is needsIndex for the reconciler's scan (see reconcile.go),
// which passes orders created more than two payment leases ago: an order
// committed more than one lease after its id was drawn goes straight into
// the queue of payments to reconcile.
func (s *Service) needsQueue(raw orderID, nowNs int64) bool {
	return raw.unixNano() < nowNs-s.leaseSecs()*int64(time.Second)
}

// firstGateway returns the first gateway the router names for a payment
// of amount with token that the router also knows.
func (s *Service) firstGateway(token string, amount api.Money) (string, error) {
	for _, name := range s.pay.Route(token, amount) {
		if s.pay.Gateway(name) != nil {
			return name, nil
		}
	}
	return "", fmt.Errorf("no payment gateway is configured for a payment of %d %s", amount.Amount, amount.Currency)
}

func outOfStock(short []api.ShortLine) *api.Error { return api.OutOfStockError(short) }

// soldOutFirst returns the lines of short with none available when there
// are any (a sold-out SKU is the answer, as an edge gives it in the core's
// stead), else short.
func soldOutFirst(short []api.ShortLine) []api.ShortLine {
	sold := short[:0:0]
	for _, l := range short {
		if l.Available == 0 {
			sold = append(sold, l)
		}
	}
	if len(sold) == 0 {
		return short
	}
	return sold
}

// shortTx stores the out-of-stock answer naming short with the key (it is
// final) and returns it.
func (s *Service) shortTx(tx store.Txn, q reserveReq, short []api.ShortLine, now, nowNs int64) (reserveRes, error) {
	idem := &idemRec{Fingerprint: q.fp, ExpiresAt: now + secs(s.cfg.IdempotencyTTL), State: idemDone, Status: http.StatusConflict}
	if len(short) == 1 && short[0].Available == 0 {
		idem.Body = s.soldOutBody(short[0].SKU, short[0].Requested)
	} else {
		idem.Body = errorBody(outOfStock(short))
	}
	if err := saveIdemTx(tx, q.keyHash, idem, true, nowNs); err != nil {
		return reserveRes{}, err
	}
	return reserveRes{status: idem.Status, body: idem.Body}, nil
}

// errShort is returned by the stock adjustment of a line that has less
// available than requested; nothing is written for it.
var errShort = errors.New("checkout: not enough stock")

// reserveLinesTx reserves every line of the priced cart (all or nothing),
// writes the pending order with its first charge attempt and freezes the
// cart, or stores the out-of-stock answer.
func (s *Service) reserveLinesTx(tx store.Txn, q reserveReq, cr cart.Record, priced api.Cart, now, nowNs int64) (reserveRes, error) {
	short, err := s.reserveStockTx(tx, priced.Lines)
	if err != nil {
		return reserveRes{}, err
	}
	if short != nil {
		return s.shortTx(tx, q, soldOutFirst(short), now, nowNs)
	}
	gateway, err := s.firstGateway(q.payToken, priced.Totals)
	if err != nil {
		return reserveRes{}, err
	}
	rec := s.newReservation(q, priced, gateway, now, nowNs)
	if err := tx.Set(orderKeyRaw(rec.raw), rec.orderRec); err != nil {
		return reserveRes{}, fmt.Errorf("cannot write order %s: %w", q.orderID, err)
	}
	if rec.order.Indexed {
		if err := tx.Set(resvKeyRaw(rec.order.ExpiresAt, rec.raw), nil); err != nil {
			return reserveRes{}, err
		}
	}
	if rec.order.Queued {
		if err := tx.Set(payqKey(rec.raw), nil); err != nil {
			return reserveRes{}, err
		}
	}
	if err := tx.Set(idemKey(q.keyHash), rec.idemRec); err != nil {
		return reserveRes{}, fmt.Errorf("cannot write idempotency record: %w", err)
	}
	if err := cart.FreezeTx(tx, cr, q.orderID); err != nil {
		return reserveRes{}, err
	}
	return reserveRes{order: rec.order, token: q.token, fresh: &written{order: rec.orderRec}}, nil
}

// reserveStockTx reserves every line, or, if any is short, none: it then
// returns the short lines. A one-line cart reads its stock once.
func (s *Service) reserveStockTx(tx store.Txn, lines []api.CartLine) ([]api.ShortLine, error) {
	if len(lines) == 1 {
		l := lines[0]
		var avail int64
		err := s.cat.AdjustStock(tx, l.SKU, func(st *api.Stock) error {
			if st.Available < l.Quantity {
				avail = st.Available
				return errShort
			}
			st.Reserved += l.Quantity
			return nil
		})
		if errors.Is(err, errShort) {
			return []api.ShortLine{{SKU: l.SKU, Requested: l.Quantity, Available: max(avail, 0)}}, nil
		}
		return nil, err
	}
	var short []api.ShortLine
	for _, l := range lines {
		st, err := s.cat.StockTx(tx, l.SKU)
		if err != nil {
			return nil, err
		}
		if st.Available < l.Quantity {
			short = append(short, api.ShortLine{SKU: l.SKU, Requested: l.Quantity, Available: max(st.Available, 0)})
		}
	}
	if short != nil {
		return short, nil
	}
	for _, l := range lines {
		qty := l.Quantity
		if err := s.cat.AdjustStock(tx, l.SKU, func(st *api.Stock) error { st.Reserved += qty; return nil }); err != nil {
			return nil, err
		}
	}
	return nil, nil
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
	o, err := loadOrderTx(tx, rec.OrderID)
	if err != nil {
		return reserveRes{}, err
	}
	if o.Status != api.OrderPendingPayment {
		if o.PaidBy > 0 {
			// Paid (perhaps cancelled since): the answer was the paid order.
			body, err := paidBody(o, rec.Token)
			if err != nil {
				return reserveRes{}, err
			}
			return reserveRes{status: http.StatusCreated, body: body, replayed: true}, nil
		}
		// Whoever ended the order unpaid finalises the record in the same
		// transaction, so this is not reachable; refuse rather than guess.
		return reserveRes{}, api.Errorf(api.ECodeInFlight, "a request with this Idempotency-Key is still in progress")
	}
	own := rec.OrderID == q.orderID
	if !own && o.LeaseUntil > now {
		return reserveRes{}, api.Errorf(api.ECodeInFlight, "a request with this Idempotency-Key is still in progress")
	}
	if !own {
		// The request that drove the payment left it (its lease ran out):
		// take it over, as the reconciler would. The current attempt is
		// looked up first, never charged again blindly under a new key.
		o.LeaseUntil = now + s.leaseSecs()
		if err := saveOrderTx(tx, o); err != nil {
			return reserveRes{}, err
		}
		return reserveRes{order: o, token: rec.Token, resume: true}, nil
	}
	return reserveRes{order: o, token: rec.Token}, nil
}

// leaseSecs is the payment lease: long enough for a charge and a lookup,
// each bounded by PaymentTimeout, and a little more.
func (s *Service) leaseSecs() int64 { return 2*secs(s.cfg.PaymentTimeout) + 2 }

// secs returns d in whole seconds, rounded up.
func secs(d time.Duration) int64 { return int64((d + time.Second - 1) / time.Second) }
