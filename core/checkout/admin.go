package checkout

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"shopedge/core/api"
	"shopedge/store"
)

// Admin listings of what needs an operator's eye: payments whose outcome
// is not known, and refunds not confirmed by their gateway. Both read the
// queues the reconciler and the refund worker work from, in key order, a
// page at a time; the cursor is opaque (hex of the last key's suffix).

// MaxListLimit bounds one page of an admin listing.
const MaxListLimit = 1000

// AttemptInfo is one charge attempt in an admin listing.
type AttemptInfo struct {
	Gateway string `json:"gateway"`
	// Key is the attempt's idempotency key at its gateway.
	Key string `json:"key"`
	// Outcome is charged, declined, not_charged or unknown.
	Outcome  string `json:"outcome"`
	ChargeID string `json:"charge_id,omitempty"`
	Refund   string `json:"refund,omitempty"`
}

// UnresolvedPayment is an order in the reconciliation queue.
type UnresolvedPayment struct {
	OrderID   string    `json:"order_id"`
	Status    string    `json:"status"`
	Amount    api.Money `json:"amount"`
	CreatedAt int64     `json:"created_at"`
	ExpiresAt int64     `json:"expires_at"`
	// LeaseUntil: until then a request or reconciler is asking the
	// gateway (0: nobody).
	LeaseUntil int64         `json:"lease_until,omitempty"`
	Attempts   []AttemptInfo `json:"attempts"`
}

// RefundInfo is one refund in the refund queue.
type RefundInfo struct {
	OrderID  string    `json:"order_id"`
	Gateway  string    `json:"gateway"`
	ChargeID string    `json:"charge_id"`
	Key      string    `json:"key"`
	Amount   api.Money `json:"amount"`
	// State is pending (retried until the gateway confirms) or refused
	// (the gateway will not accept it as asked: an operator resolves it).
	State         string `json:"state"`
	Tries         int    `json:"tries"`
	NextAttemptAt int64  `json:"next_attempt_at,omitempty"`
	CreatedAt     int64  `json:"created_at"`
	LastError     string `json:"last_error,omitempty"`
}

func attemptInfos(o *orderRec) []AttemptInfo {
	out := make([]AttemptInfo, len(o.Attempts))
	for i, a := range o.Attempts {
		out[i] = AttemptInfo{Gateway: a.Gateway, Key: attemptKey(o.ID, i), Outcome: a.Outcome.String(), ChargeID: a.ChargeID, Refund: a.Refund.String()}
	}
	return out
}

// listRange returns the scan range of a listing of ns after cursor.
func listRange(ns, cursor string) (start []byte, err error) {
	start = []byte(ns)
	if cursor != "" {
		after, err := hex.DecodeString(cursor)
		if err != nil || len(after) == 0 || len(after) > 64 {
			return nil, api.Invalid("after", "is not a cursor from an earlier page")
		}
		start = append(append(start, after...), 0)
	}
	return start, nil
}

func checkLimit(limit int) error {
	if limit < 1 || limit > MaxListLimit {
		return api.Invalid("limit", "must be within [1, %d], got %d", MaxListLimit, limit)
	}
	return nil
}

// ListUnresolved returns up to limit orders of the reconciliation queue
// after cursor, and the cursor of the next page ("" at the end).
func (s *Service) ListUnresolved(ctx context.Context, cursor string, limit int) ([]UnresolvedPayment, string, error) {
	if err := checkLimit(limit); err != nil {
		return nil, "", err
	}
	start, err := listRange(store.NSPayQ, cursor)
	if err != nil {
		return nil, "", err
	}
	var out []UnresolvedPayment
	next := ""
	now := s.now()
	err = s.st.View(ctx, func(tx store.Txn) error {
		out, next = out[:0], ""
		var last orderID
		err := tx.Scan(start, []byte(store.NSPayQ+"~"), limit+1, func(k, _ []byte) error {
			raw, ok := payqKeyID(k)
			if !ok {
				return nil
			}
			if len(out) == limit {
				next = hex.EncodeToString(last[:])
				return errStopScan
			}
			last = raw
			o, err := loadOrderTx(tx, raw.String())
			if api.ErrorCode(err) == api.ECodeNotFound {
				return nil
			}
			if err != nil {
				return err
			}
			up := UnresolvedPayment{
				OrderID: o.ID, Status: o.Status, Amount: o.Totals, CreatedAt: o.CreatedAt, ExpiresAt: o.ExpiresAt,
				Attempts: attemptInfos(o),
			}
			if o.LeaseUntil > now {
				up.LeaseUntil = o.LeaseUntil
			}
			out = append(out, up)
			return nil
		})
		if errors.Is(err, errStopScan) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("cannot list unresolved payments: %w", err)
	}
	return out, next, nil
}

// errStopScan ends a scan early; it never leaves the function.
var errStopScan = errors.New("stop scan")

// Refund states a listing can ask for.
const (
	RefundsPending = "pending"
	RefundsRefused = "refused"
	RefundsAll     = "all"
)

// ListRefunds returns up to limit refunds of the refund queue in state
// (RefundsPending, RefundsRefused or RefundsAll) after cursor, and the
// cursor of the next page ("" at the end).
func (s *Service) ListRefunds(ctx context.Context, state, cursor string, limit int) ([]RefundInfo, string, error) {
	if err := checkLimit(limit); err != nil {
		return nil, "", err
	}
	var want refundState
	switch state {
	case RefundsPending:
		want = refundPending
	case RefundsRefused:
		want = refundRefused
	case RefundsAll:
	default:
		return nil, "", api.Invalid("state", "must be pending, refused or all, got %q", state)
	}
	start, err := listRange(store.NSRefundQ, cursor)
	if err != nil {
		return nil, "", err
	}
	var out []RefundInfo
	next := ""
	err = s.st.View(ctx, func(tx store.Txn) error {
		out, next = out[:0], ""
		var last []byte
		err := tx.Scan(start, store.PrefixEnd([]byte(store.NSRefundQ)), 0, func(k, v []byte) error {
			raw, idx, ok := rfqKeyID(k)
			if !ok {
				return nil
			}
			it, err := decodeRefundItem(v)
			if err != nil || (want != refundNone && it.State != want) {
				return nil
			}
			if len(out) == limit {
				next = hex.EncodeToString(last)
				return errStopScan
			}
			last = append(last[:0], k[len(store.NSRefundQ):]...)
			o, err := loadOrderTx(tx, raw.String())
			if api.ErrorCode(err) == api.ECodeNotFound || (err == nil && idx >= len(o.Attempts)) {
				return nil
			}
			if err != nil {
				return err
			}
			a := o.Attempts[idx]
			ri := RefundInfo{
				OrderID: o.ID, Gateway: a.Gateway, ChargeID: a.ChargeID, Key: refundKey(o.ID, idx), Amount: o.Totals,
				State: it.State.String(), Tries: it.Tries, CreatedAt: it.CreatedAt, LastError: it.LastError,
			}
			if it.State == refundPending {
				ri.NextAttemptAt = it.NextAt
			}
			out = append(out, ri)
			return nil
		})
		if errors.Is(err, errStopScan) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("cannot list refunds: %w", err)
	}
	return out, next, nil
}
