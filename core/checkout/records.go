package checkout

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
	"shopedge/core/payment"
	"shopedge/store"
)

// orderRec is an order as stored at ord/{id raw} (see ids.go), encoded by
// encodeOrderRec. The access token is stored only as its SHA-256; the buyer's
// copy is in the checkout response.
type orderRec struct {
	ID        string // the public id; the key, not part of the value
	TokenHash [32]byte
	Status    string
	Email     string
	CartID    string
	Lines     []api.CartLine
	Totals    api.Money
	// PayToken is the payment method token the checkout was sent: every
	// attempt charges it, and a lookup repeats the attempt's request.
	PayToken string
	// Attempts are the order's charge attempts in order (see attempt.go);
	// each is recorded before its gateway is called. Only the last one may
	// be in progress.
	Attempts []attempt
	// PaidBy is 1 + the index of the attempt whose charge paid the order,
	// 0 if it was never paid. It stays set after a cancel.
	PaidBy int
	// Indexed is set when the order has a reservation index entry
	// (resv/...): orders are found for expiry by their time-ordered keys
	// (see sweep.go), and only those the scan cannot be trusted to reach
	// are indexed explicitly.
	Indexed bool
	// Queued is set when the order has an entry in the index of payments
	// to reconcile (payq/..., see reconcile.go).
	Queued    bool
	IdemKey   keyHash // hash of the Idempotency-Key that created it
	CreatedAt int64
	ExpiresAt int64 // reservation expiry
	// LeaseUntil (unix s) is how long whoever drives a pending order's
	// payment (the checkout request, a retry of its key, the reconciler)
	// may still be calling the gateway for it; nobody else calls it until
	// then. The value is also the holder's claim: a holder checks it is
	// unchanged before it records a new attempt.
	LeaseUntil int64
}

// public returns the wire form (without token).
func (o *orderRec) public() api.Order {
	out := api.Order{ID: o.ID, Status: o.Status, Email: o.Email, Lines: o.Lines, Totals: o.Totals, PaymentID: o.chargeID(), CreatedAt: o.CreatedAt}
	if o.Status == api.OrderPendingPayment {
		out.ExpiresAt = o.ExpiresAt
	}
	for i := range o.Attempts {
		if r := o.Attempts[i].Refund; r != refundNone {
			out.RefundStatus = r.String()
			break
		}
	}
	return out
}

// chargeID returns the id of the charge that paid the order ("" if none).
func (o *orderRec) chargeID() string {
	if o.PaidBy < 1 || o.PaidBy > len(o.Attempts) {
		return ""
	}
	return o.Attempts[o.PaidBy-1].ChargeID
}

// paidBody renders the 201 answer of a checkout that paid o. It depends on
// the stored fields only, so the first answer and every replay of the
// Idempotency-Key (rendered again from the stored order, even after a
// later cancel) are the same bytes.
func paidBody(o *orderRec, token string) ([]byte, error) {
	pub := o.public()
	pub.Status, pub.ExpiresAt, pub.Token, pub.RefundStatus = api.OrderPaid, 0, token, ""
	b, err := json.Marshal(&pub)
	if err != nil {
		return nil, fmt.Errorf("cannot encode order %s: %w", o.ID, err)
	}
	return b, nil
}

var statusCodes = [...]string{1: api.OrderPendingPayment, 2: api.OrderPaid, 3: api.OrderPaymentFailed, 4: api.OrderExpired, 5: api.OrderCancelled}

func statusCode(s string) byte {
	for i, v := range statusCodes {
		if i > 0 && v == s {
			return byte(i)
		}
	}
	panic(fmt.Sprintf("BUG: unknown order status %q", s))
}

// Record versions. Version 1 orders (before charge attempts were recorded)
// are still read (see decodeOrderRec); every write is version 2.
const (
	recVersion1 = 1
	recVersion  = 2
)

// Order flags (the third byte of a record).
const (
	flagRefundPendingV1 = 1 // version 1: a cancelled paid order's refund failed
	flagIndexed         = 2
	flagQueued          = 4
)

// encodeOrderRec appends o's stored form to b (nil: a buffer of the right
// size is allocated once):
//
//	version 2 | status | flags | token sha256 (32) | idempotency key sha256 (32)
//	| cart id | email | payment token | created | expires | lease until
//	| totals amount | currency | line count, lines (sku, product id, name,
//	quantity, unit price, currency, line total, currency)
//	| paid by | attempt count, attempts (gateway, outcome byte, charge id,
//	refund byte, refund id)
//
// Strings are uvarint-length-prefixed, numbers varints. The first 67 bytes
// are fixed, so a scan reads status, flags and key hash without decoding.
func encodeOrderRec(b []byte, o *orderRec) []byte {
	if b == nil {
		n := 3 + 64 + len(o.CartID) + len(o.Email) + len(o.PayToken) + len(o.Totals.Currency) + 10*binary.MaxVarintLen64
		for i := range o.Lines {
			l := &o.Lines[i]
			n += len(l.SKU) + len(l.ProductID) + len(l.Name) + len(l.UnitPrice.Currency) + len(l.LineTotal.Currency) + 8*binary.MaxVarintLen64
		}
		for i := range o.Attempts {
			a := &o.Attempts[i]
			n += 2 + len(a.Gateway) + len(a.ChargeID) + len(a.RefundID) + 3*binary.MaxVarintLen64
		}
		b = make([]byte, 0, n)
	}
	var flags byte
	if o.Indexed {
		flags |= flagIndexed
	}
	if o.Queued {
		flags |= flagQueued
	}
	b = append(b, recVersion, statusCode(o.Status), flags)
	b = append(b, o.TokenHash[:]...)
	b = append(b, o.IdemKey[:]...)
	b = appendStr(b, o.CartID)
	b = appendStr(b, o.Email)
	b = appendStr(b, o.PayToken)
	b = appendVarint(b, o.CreatedAt)
	b = appendVarint(b, o.ExpiresAt)
	b = appendVarint(b, o.LeaseUntil)
	b = appendVarint(b, o.Totals.Amount)
	b = appendStr(b, o.Totals.Currency)
	b = appendUvarint(b, uint64(len(o.Lines)))
	for i := range o.Lines {
		l := &o.Lines[i]
		b = appendStr(b, l.SKU)
		b = appendStr(b, l.ProductID)
		b = appendStr(b, l.Name)
		b = appendVarint(b, l.Quantity)
		b = appendVarint(b, l.UnitPrice.Amount)
		b = appendStr(b, l.UnitPrice.Currency)
		b = appendVarint(b, l.LineTotal.Amount)
		b = appendStr(b, l.LineTotal.Currency)
	}
	b = appendUvarint(b, uint64(o.PaidBy))
	b = appendUvarint(b, uint64(len(o.Attempts)))
	for i := range o.Attempts {
		a := &o.Attempts[i]
		b = appendStr(b, a.Gateway)
		b = append(b, byte(a.Outcome))
		b = appendStr(b, a.ChargeID)
		b = append(b, byte(a.Refund))
		b = appendStr(b, a.RefundID)
	}
	return b
}

// decodeOrderRec decodes the stored order id from v (v is not retained).
func decodeOrderRec(id string, v []byte) (*orderRec, error) {
	d := dec{b: v}
	o := &orderRec{ID: id}
	version := d.u8()
	if version != recVersion && version != recVersion1 {
		return nil, fmt.Errorf("cannot decode order %s: unknown format", id)
	}
	st := d.u8()
	if int(st) >= len(statusCodes) || st == 0 {
		return nil, fmt.Errorf("cannot decode order %s: status %d", id, st)
	}
	o.Status = statusCodes[st]
	flags := d.u8()
	o.Indexed, o.Queued = flags&flagIndexed != 0, flags&flagQueued != 0
	copy(o.TokenHash[:], d.fixed(32))
	copy(o.IdemKey[:], d.fixed(32))
	o.CartID, o.Email = d.str(), d.str()
	var chargeV1 string
	if version == recVersion1 {
		chargeV1 = d.str()
	} else {
		o.PayToken = d.str()
	}
	o.CreatedAt, o.ExpiresAt, o.LeaseUntil = d.varint(), d.varint(), d.varint()
	o.Totals.Amount, o.Totals.Currency = d.varint(), d.str()
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		return nil, fmt.Errorf("cannot decode order %s: %w", id, errCorrupt)
	}
	o.Lines = make([]api.CartLine, n)
	for i := range o.Lines {
		l := &o.Lines[i]
		l.SKU, l.ProductID, l.Name = d.str(), d.str(), d.str()
		l.Quantity = d.varint()
		l.UnitPrice.Amount, l.UnitPrice.Currency = d.varint(), d.str()
		l.LineTotal.Amount, l.LineTotal.Currency = d.varint(), d.str()
	}
	if version == recVersion1 {
		o.Queued = false
		o.Attempts, o.PaidBy = v1Attempts(o.Status, chargeV1, flags&flagRefundPendingV1 != 0)
	} else {
		o.PaidBy = int(d.uvarint())
		n := d.uvarint()
		if n > uint64(len(d.b)) {
			return nil, fmt.Errorf("cannot decode order %s: %w", id, errCorrupt)
		}
		if n > 0 {
			o.Attempts = make([]attempt, n)
		}
		for i := range o.Attempts {
			a := &o.Attempts[i]
			a.Gateway = d.str()
			a.Outcome = payment.Outcome(d.u8())
			a.ChargeID = d.str()
			a.Refund = refundState(d.u8())
			a.RefundID = d.str()
			if a.Outcome > payment.OutcomeNotCharged || a.Refund > refundRefused {
				d.bad = true
			}
		}
		if o.PaidBy > len(o.Attempts) {
			d.bad = true
		}
	}
	if err := d.err(); err != nil {
		return nil, fmt.Errorf("cannot decode order %s: %w", id, err)
	}
	return o, nil
}

// v1Gateway is the gateway every version 1 order was charged through: the
// core then wired one gateway, the in-process testpay, under this name.
const v1Gateway = "testpay"

// v1Attempts reconstructs the attempts of a version 1 order, which charged
// once under its order id and recorded only a successful charge's id: a
// pending order has an attempt of unknown outcome (the reconciler looks it
// up), a paid one a charged attempt (with its refund if one failed when
// it was cancelled), a failed one a declined attempt. An order that ended
// unpaid recorded nothing about its charge, so it gets no attempt.
func v1Attempts(status, chargeID string, refundFailed bool) ([]attempt, int) {
	switch {
	case chargeID != "":
		a := attempt{Gateway: v1Gateway, Outcome: payment.OutcomeCharged, ChargeID: chargeID}
		if refundFailed {
			a.Refund = refundPending
		} else if status == api.OrderCancelled {
			a.Refund = refundSucceeded
		}
		return []attempt{a}, 1
	case status == api.OrderPendingPayment:
		return []attempt{{Gateway: v1Gateway}}, 0
	case status == api.OrderPaymentFailed:
		return []attempt{{Gateway: v1Gateway, Outcome: payment.OutcomeDeclined}}, 0
	}
	return nil, 0
}

var errOrderNotFound = api.Errorf(api.ECodeNotFound, "order not found")

func loadOrderTx(tx store.Txn, id string) (*orderRec, error) {
	raw, ok := parseOrderID(id)
	if !ok {
		return nil, errOrderNotFound
	}
	v, err := tx.Get(orderKeyRaw(raw))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errOrderNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read order %s: %w", id, err)
	}
	return decodeOrderRec(id, v)
}

func saveOrderTx(tx store.Txn, o *orderRec) error {
	if err := tx.Set(orderKey(o.ID), encodeOrderRec(nil, o)); err != nil {
		return fmt.Errorf("cannot write order %s: %w", o.ID, err)
	}
	return nil
}

func hashKey(s string) keyHash { return sha256.Sum256([]byte(s)) }

// tokenMatches compares token with the stored hash in constant time.
func tokenMatches(o *orderRec, token string) bool {
	got := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(got[:], o.TokenHash[:]) == 1
}

// Idempotency record states.
const (
	// idemOrder: the key created an order, which holds the outcome: while
	// it is pending the request is in flight (or abandoned, see
	// orderRec.LeaseUntil); once paid, the 201 answer is rendered from it.
	// A paid checkout so never rewrites its idempotency record.
	idemOrder = 1
	// idemDone: the final answer is stored in the record (out of stock,
	// declined, reservation ended).
	idemDone = 2
)

// idemRec is the record of one Idempotency-Key at idem/{sha256(key)},
// encoded by encodeIdem.
//
// Scope: the key alone names the record, and the fingerprint (SHA-256 of the
// request's method, path and body) must match for a replay. A client that
// reuses another client's key with a different body gets 422, and one that
// sends the identical body already holds everything the response reveals
// except the order token — which is why the cart id, itself a 128-bit
// capability, is part of the body and thus of the fingerprint.
type idemRec struct {
	Fingerprint string
	State       byte
	ExpiresAt   int64
	// OrderID and Token (the order's access token, for the replayed
	// answer) are set in state idemOrder.
	OrderID string
	Token   string
	// Status and Body (a JSON document) are the answer in state idemDone.
	Status int
	Body   []byte
}

// appendHex appends s compactly: lowercase hex of even length as its raw
// bytes, anything else as is, behind a one-byte tag.
func appendHex(b []byte, s string) []byte {
	if !lowerHex(s) {
		return appendStr(append(b, 0), s)
	}
	b = appendUvarint(append(b, 1), uint64(len(s)/2))
	b, _ = hex.AppendDecode(b, []byte(s))
	return b
}

// lowerHex reports whether s is non-empty lowercase hex of even length.
func lowerHex(s string) bool {
	if len(s) == 0 || len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (d *dec) hexStr() string {
	if d.u8() == 1 {
		return hex.EncodeToString(d.bytes())
	}
	return d.str()
}

// idemVersion is the format version of idempotency records.
const idemVersion = 1

func encodeIdem(b []byte, r *idemRec) []byte {
	if b == nil {
		b = make([]byte, 0, 8+len(r.Fingerprint)+orderIDRaw+len(r.Token)+len(r.Body)+4*binary.MaxVarintLen64)
	}
	b = append(b, idemVersion, r.State)
	b = appendHex(b, r.Fingerprint)
	b = appendVarint(b, r.ExpiresAt)
	if r.State == idemOrder {
		raw, _ := parseOrderID(r.OrderID)
		b = append(b, raw[:]...)
		return appendHex(b, r.Token)
	}
	b = appendUvarint(b, uint64(r.Status))
	return appendStr(b, string(r.Body))
}

func decodeIdem(v []byte) (*idemRec, error) {
	d := dec{b: v}
	r := new(idemRec)
	if d.u8() != idemVersion {
		return nil, errors.New("cannot decode idempotency record: unknown format")
	}
	r.State = d.u8()
	r.Fingerprint = d.hexStr()
	r.ExpiresAt = d.varint()
	switch r.State {
	case idemOrder:
		var raw orderID
		copy(raw[:], d.fixed(orderIDRaw))
		r.OrderID, r.Token = raw.String(), d.hexStr()
	case idemDone:
		r.Status = int(d.uvarint())
		r.Body = append([]byte(nil), d.bytes()...)
	default:
		d.bad = true
	}
	if err := d.err(); err != nil {
		return nil, fmt.Errorf("cannot decode idempotency record: %w", err)
	}
	return r, nil
}

func loadIdemTx(tx store.Txn, h keyHash) (*idemRec, error) {
	v, err := tx.Get(idemKey(h))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read idempotency record: %w", err)
	}
	return decodeIdem(v)
}

// saveIdemTx writes r; a new record is also indexed for expiry, with
// createdNs keeping the index in creation order.
func saveIdemTx(tx store.Txn, h keyHash, r *idemRec, isNew bool, createdNs int64) error {
	if err := tx.Set(idemKey(h), encodeIdem(nil, r)); err != nil {
		return fmt.Errorf("cannot write idempotency record: %w", err)
	}
	if isNew {
		if err := tx.Set(idemExpKey(r.ExpiresAt, createdNs, h), nil); err != nil {
			return fmt.Errorf("cannot index idempotency record: %w", err)
		}
	}
	return nil
}

// Fingerprint returns the SHA-256 of the canonical request (method, path and
// body, each length-prefixed) that an Idempotency-Key is bound to.
func Fingerprint(method, path string, body []byte) string {
	h := sha256.New()
	var n [8]byte
	for _, part := range [][]byte{[]byte(method), []byte(path), body} {
		store.AppendUint64(n[:0], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// errorBody renders e exactly as api.WriteError does.
func errorBody(e *api.Error) []byte {
	b, err := json.Marshal(api.ErrorBody{Error: e})
	if err != nil {
		panic(fmt.Sprintf("BUG: cannot encode error body: %v", err))
	}
	return b
}
