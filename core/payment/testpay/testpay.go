// Package testpay is shopedge's test payment gateway, in two forms:
//
//   - Server, a stateful Stripe-compatible simulator: the testpay process
//     (cmd/testpay) serves it, the core reaches it through the Stripe
//     adapter (core/payment/stripegw), and its ledger file survives
//     restarts and kill -9;
//   - Gateway, an in-process payment.Gateway for unit tests and for the
//     benchmark that measures what the process boundary costs. It keeps its
//     charges in memory for the life of the Gateway.
//
// Both take the same tokens (see ParseToken): tok_ok, tok_decline,
// tok_insufficient_funds, tok_slow, tok_error, and the faults that lose
// money in real systems, tok_lost_reply, tok_timeout_after_charge and
// tok_error_after_charge, each optionally followed by a card brand and
// country (tok_ok_visa_de). Any other token is invalid.
package testpay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"shopedge/core/api"
	"shopedge/core/payment"
	"shopedge/internal/config"
)

// Config configures the test gateway.
type Config struct {
	// SlowDelay is how long a tok_slow charge takes.
	SlowDelay time.Duration `yaml:"slow_delay"`
}

// DefaultConfig returns the defaults: tok_slow takes 2s.
func DefaultConfig() Config { return Config{SlowDelay: 2 * time.Second} }

// Validate reports the first invalid field.
func (c Config) Validate() error {
	if c.SlowDelay < 0 || c.SlowDelay > time.Hour {
		return config.Invalid("slow_delay", "must be within [0, 1h], got %s", c.SlowDelay)
	}
	return nil
}

// Charge is one recorded charge.
type Charge struct {
	ID       string
	Token    string
	Amount   api.Money
	Refunded bool
}

// Gateway is the in-memory test gateway. It implements payment.Gateway and
// is safe for concurrent use.
type Gateway struct {
	cfg Config

	mu      sync.Mutex
	byKey   map[string]result // idempotency key → first outcome
	charges map[string]*Charge
	refunds int
}

type result struct {
	id  string
	err error
}

var _ payment.Gateway = (*Gateway)(nil)

// New returns a test gateway.
func New(cfg Config) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Gateway{cfg: cfg, byKey: map[string]result{}, charges: map[string]*Charge{}}, nil
}

// errFenced is the answer under a key Lookup found unused and fenced.
var errFenced = fmt.Errorf("cannot charge: the idempotency key was fenced by a lookup: %w", payment.ErrGateway)

// Charge implements payment.Gateway.
func (g *Gateway) Charge(ctx context.Context, req payment.ChargeRequest) (payment.Charge, error) {
	id, err := g.charge(ctx, req.Token, req.Amount, req.Key)
	return payment.Charge{ID: id}, err
}

// Lookup implements payment.Gateway: a key never used is fenced, so a
// charge under it fails from then on.
func (g *Gateway) Lookup(ctx context.Context, req payment.ChargeRequest) (payment.LookupResult, error) {
	if err := ctx.Err(); err != nil {
		return payment.LookupResult{}, fmt.Errorf("cannot look up: %w: %w", payment.ErrGateway, err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	r, ok := g.byKey[req.Key]
	switch {
	case !ok:
		g.byKey[req.Key] = result{err: errFenced}
		return payment.LookupResult{Outcome: payment.OutcomeNotCharged}, nil
	case r.err == errFenced:
		return payment.LookupResult{Outcome: payment.OutcomeNotCharged}, nil
	case r.err != nil:
		return payment.LookupResult{Outcome: payment.OutcomeDeclined, Decline: r.err}, nil
	}
	return payment.LookupResult{Outcome: payment.OutcomeCharged, ChargeID: r.id}, nil
}

func (g *Gateway) charge(ctx context.Context, token string, amount api.Money, idempotencyKey string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("cannot charge: %w: %w", payment.ErrGateway, err)
	}
	behave, _, _ := ParseToken(token)
	if behave == BehaveSlow {
		t := time.NewTimer(g.cfg.SlowDelay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("cannot charge: %w: %w", payment.ErrGateway, ctx.Err())
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if r, ok := g.byKey[idempotencyKey]; ok {
		return r.id, r.err
	}
	var r result
	switch behave {
	case BehaveOK, BehaveSlow, BehaveLostReply, BehaveTimeoutAfterCharge, BehaveErrorAfterCharge:
		r.id = newChargeID()
		g.charges[r.id] = &Charge{ID: r.id, Token: token, Amount: amount}
	case BehaveDecline:
		r.err = payment.ErrDeclined
	case BehaveInsufficientFunds:
		r.err = payment.ErrInsufficientFunds
	case BehaveError:
		// A failure before charging; not remembered, so a retry may succeed.
		return "", fmt.Errorf("cannot charge: %w", payment.ErrGateway)
	default:
		r.err = payment.ErrInvalidToken
	}
	g.byKey[idempotencyKey] = r
	if behave == BehaveLostReply || behave == BehaveTimeoutAfterCharge || behave == BehaveErrorAfterCharge {
		// Charged, but the caller never learns it: a retry under the key
		// or Lookup does.
		return "", fmt.Errorf("cannot charge: the reply was lost: %w", payment.ErrGateway)
	}
	return r.id, r.err
}

// Refund implements payment.Gateway. It refunds a charge in full, once,
// whatever the key.
func (g *Gateway) Refund(ctx context.Context, req payment.RefundRequest) (payment.Refund, error) {
	if err := ctx.Err(); err != nil {
		return payment.Refund{}, fmt.Errorf("cannot refund: %w: %w", payment.ErrGateway, err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.charges[req.ChargeID]
	if !ok {
		return payment.Refund{}, fmt.Errorf("cannot refund unknown charge %s: %w", req.ChargeID, payment.ErrRefundRefused)
	}
	if req.Amount != c.Amount {
		return payment.Refund{}, fmt.Errorf("cannot refund %d %s of charge %s of %d %s: %w", req.Amount.Amount, req.Amount.Currency, req.ChargeID, c.Amount.Amount, c.Amount.Currency, payment.ErrRefundRefused)
	}
	if !c.Refunded {
		c.Refunded = true
		g.refunds++
	}
	return payment.Refund{ID: "re_" + req.ChargeID[len("ch_"):], Status: payment.RefundSucceeded}, nil
}

// Stats returns how many charges succeeded and how many were refunded.
func (g *Gateway) Stats() (charged, refunded int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.charges), g.refunds
}

// Charges returns a copy of every successful charge.
func (g *Gateway) Charges() []Charge {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Charge, 0, len(g.charges))
	for _, c := range g.charges {
		out = append(out, *c)
	}
	return out
}

func newChargeID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "ch_" + hex.EncodeToString(b[:])
}
