package checkout

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
	"shopedge/core/cart"
	"shopedge/store"
)

// orderRec is an order as stored at ord/{id}. The access token is stored
// only as its SHA-256; the buyer's copy is in the checkout response.
type orderRec struct {
	ID        string         `json:"id"`
	TokenHash string         `json:"token_sha256"`
	Status    string         `json:"status"`
	Email     string         `json:"email"`
	CartID    string         `json:"cart_id"`
	Lines     []api.CartLine `json:"lines"`
	Totals    api.Money      `json:"totals"`
	ChargeID  string         `json:"charge_id,omitempty"`
	// RefundPending is set when a paid order was cancelled and its refund
	// has not been confirmed by the gateway yet.
	RefundPending bool   `json:"refund_pending,omitempty"`
	IdemKey       string `json:"idem_key"` // hash of the Idempotency-Key that created it
	CreatedAt     int64  `json:"created_at"`
	ExpiresAt     int64  `json:"expires_at"` // reservation expiry
}

// public returns the wire form (without token).
func (o *orderRec) public() api.Order {
	out := api.Order{ID: o.ID, Status: o.Status, Email: o.Email, Lines: o.Lines, Totals: o.Totals, PaymentID: o.ChargeID, CreatedAt: o.CreatedAt}
	if o.Status == api.OrderPendingPayment {
		out.ExpiresAt = o.ExpiresAt
	}
	return out
}

func orderKey(id string) []byte { return store.Key(store.NSOrder, id) }

// timeKey returns ns{unix u64 BE}/{id}, the layout of the expiry indexes.
func timeKey(ns string, unix int64, id string) []byte {
	b := make([]byte, 0, len(ns)+9+len(id))
	b = append(b, ns...)
	b = store.AppendUint64(b, uint64(unix))
	b = append(b, '/')
	return append(b, id...)
}

// timeKeyID returns the id part of a timeKey of namespace ns.
func timeKeyID(ns string, k []byte) string {
	if len(k) < len(ns)+9 {
		return ""
	}
	return string(k[len(ns)+9:])
}

var errOrderNotFound = api.Errorf(api.ECodeNotFound, "order not found")

func loadOrderTx(tx store.Txn, id string) (*orderRec, error) {
	if !cart.ValidID(id) {
		return nil, errOrderNotFound
	}
	v, err := tx.Get(orderKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errOrderNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read order %s: %w", id, err)
	}
	o := new(orderRec)
	if err := json.Unmarshal(v, o); err != nil {
		return nil, fmt.Errorf("cannot decode order %s: %w", id, err)
	}
	return o, nil
}

func saveOrderTx(tx store.Txn, o *orderRec) error {
	v, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("cannot encode order %s: %w", o.ID, err)
	}
	if err := tx.Set(orderKey(o.ID), v); err != nil {
		return fmt.Errorf("cannot write order %s: %w", o.ID, err)
	}
	return nil
}

func hashHex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// tokenMatches compares token with the stored hash in constant time.
func tokenMatches(o *orderRec, token string) bool {
	want, err := hex.DecodeString(o.TokenHash)
	if err != nil || len(want) != sha256.Size {
		return false
	}
	got := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(got[:], want) == 1
}

// Idempotency record states.
const (
	idemInFlight = "in_flight"
	idemDone     = "done"
)

// idemRec is the record of one Idempotency-Key at idem/{sha256(key) hex}.
//
// Scope: the key alone names the record, and the fingerprint (SHA-256 of the
// request's method, path and body) must match for a replay. A client that
// reuses another client's key with a different body gets 422, and one that
// sends the identical body already holds everything the response reveals
// except the order token — which is why the cart id, itself a 128-bit
// capability, is part of the body and thus of the fingerprint.
type idemRec struct {
	Fingerprint string `json:"fp"`
	State       string `json:"state"`
	OrderID     string `json:"order_id,omitempty"`
	// Token is the new order's access token, kept only while in flight so
	// a resumed request can answer with it; the final body holds it after.
	Token      string          `json:"token,omitempty"`
	LeaseUntil int64           `json:"lease_until,omitempty"` // unix s; an in-flight owner holds it until then
	Status     int             `json:"status,omitempty"`
	Body       json.RawMessage `json:"body,omitempty"` // a JSON document, stored as is
	ExpiresAt  int64           `json:"expires_at"`
}

func idemKey(hash string) []byte { return store.Key(store.NSIdem, hash) }

func loadIdemTx(tx store.Txn, hash string) (*idemRec, error) {
	v, err := tx.Get(idemKey(hash))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read idempotency record: %w", err)
	}
	r := new(idemRec)
	if err := json.Unmarshal(v, r); err != nil {
		return nil, fmt.Errorf("cannot decode idempotency record: %w", err)
	}
	return r, nil
}

func saveIdemTx(tx store.Txn, hash string, r *idemRec, isNew bool) error {
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("cannot encode idempotency record: %w", err)
	}
	if err := tx.Set(idemKey(hash), v); err != nil {
		return fmt.Errorf("cannot write idempotency record: %w", err)
	}
	if isNew {
		if err := tx.Set(timeKey(store.NSIdemExp, r.ExpiresAt, hash), nil); err != nil {
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
