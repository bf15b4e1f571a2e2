// Package payment defines the payment gateways shopedge's checkout charges
// and the router that picks one.
//
// Card numbers never enter shopedge: a buyer's client exchanges card data
// with the payment provider for an opaque token, and the core only ever sees
// that token.
//
// Every call carries an idempotency key. A charge attempt is identified by
// (gateway name, ChargeRequest.Key): checkout records both on the order
// before it calls Charge, so that whatever happens to the reply, Lookup can
// later tell what the attempt did.
package payment

import (
	"context"
	"errors"

	"shopedge/core/api"
)

// ChargeRequest is one charge attempt.
type ChargeRequest struct {
	// Key is the attempt's idempotency key (1–255 printable ASCII bytes):
	// the gateway charges at most once per key, and Lookup finds the
	// attempt by it.
	Key string
	// Token is the payment method token the buyer's client obtained from
	// the provider.
	Token string
	// Amount is what to charge.
	Amount api.Money
	// OrderID names the order in the gateway's records (metadata).
	OrderID string
}

// Charge is a successful charge.
type Charge struct {
	// ID is the gateway's id of the payment (Stripe: a PaymentIntent id).
	ID string
}

// Outcome is what a charge attempt did, as Lookup found it.
type Outcome uint8

// Outcomes of Lookup.
const (
	// OutcomeCharged: the attempt charged Lookup.ChargeID.
	OutcomeCharged Outcome = iota + 1
	// OutcomeDeclined: the attempt was refused; nothing was charged.
	OutcomeDeclined
	// OutcomeNotCharged: nothing was charged under the key, and nothing
	// ever will be: the gateway adapter fenced the key, so a request
	// still on its way can no longer charge.
	OutcomeNotCharged
)

func (o Outcome) String() string {
	switch o {
	case OutcomeCharged:
		return "charged"
	case OutcomeDeclined:
		return "declined"
	case OutcomeNotCharged:
		return "not_charged"
	}
	return "unknown"
}

// LookupResult is what Lookup found.
type LookupResult struct {
	Outcome Outcome
	// ChargeID is set for OutcomeCharged.
	ChargeID string
	// Decline is set for OutcomeDeclined: an error wrapping ErrDeclined,
	// ErrInsufficientFunds or ErrInvalidToken.
	Decline error
}

// RefundRequest is one refund.
type RefundRequest struct {
	// Key is the refund's own idempotency key: calls with the same key
	// refund at most once.
	Key string
	// ChargeID is the charge to refund (Charge.ID).
	ChargeID string
	// Amount is how much to refund.
	Amount api.Money
	// OrderID names the order in the gateway's records.
	OrderID string
}

// RefundStatus is the gateway's state of an accepted refund.
type RefundStatus uint8

// Refund states.
const (
	// RefundSucceeded: the money is returned.
	RefundSucceeded RefundStatus = iota + 1
	// RefundPending: the gateway accepted the refund and will complete
	// it; asking again with the same key reports its progress.
	RefundPending
)

// Refund is an accepted refund.
type Refund struct {
	ID     string
	Status RefundStatus
}

// Gateway is one payment provider account. Implementations must be safe
// for concurrent use and must honour ctx's deadline.
type Gateway interface {
	// Charge creates and confirms a payment of req.Amount with req.Token
	// under req.Key. A nil error means it charged. A decline wraps
	// ErrDeclined, ErrInsufficientFunds or ErrInvalidToken, and an error
	// wrapping ErrNotSent means the request provably never reached the
	// gateway: in both cases nothing was charged. Any other error means
	// the outcome is unknown: Lookup resolves it.
	Charge(ctx context.Context, req ChargeRequest) (Charge, error)
	// Lookup reports what the attempt req.Key did (req is the request
	// Charge was given). OutcomeNotCharged is final: after it no request
	// under req.Key can charge. An error means the gateway cannot tell
	// yet (unreachable, or the attempt still in progress): ask again later.
	Lookup(ctx context.Context, req ChargeRequest) (LookupResult, error)
	// Refund refunds req.Amount of req.ChargeID under req.Key. A nil error
	// means the gateway accepted the refund (succeeded or pending); calls
	// with the same key refund once. ErrRefundRefused means the gateway
	// will never accept it as asked (unknown charge, amount over what is
	// left); any other error is worth retrying.
	Refund(ctx context.Context, req RefundRequest) (Refund, error)
}

// Router chooses the gateway of a payment and finds a gateway by the name
// an order recorded.
//
// Failover is the checkout's loop, because each attempt is recorded on the
// order (gateway name and key) before its call: try Route's candidates in
// order, each attempt with its own key, and move to the next only when the
// attempt provably charged nothing and was not a decline — Charge returned
// an error wrapping ErrNotSent, or Lookup answered OutcomeNotCharged. A
// decline ends the payment (another gateway would only retry the buyer's
// card); any other error leaves the attempt unknown until Lookup resolves
// it, and no other gateway may be tried meanwhile.
type Router interface {
	// Route returns the names of the gateways to try for a payment of
	// amount with token, best first; at least one.
	Route(token string, amount api.Money) []string
	// Gateway returns the gateway called name, or nil if none is.
	Gateway(name string) Gateway
}

// Single returns a Router with one gateway called name.
func Single(name string, g Gateway) Router { return single{name: name, names: []string{name}, g: g} }

type single struct {
	name  string
	names []string
	g     Gateway
}

func (s single) Route(string, api.Money) []string { return s.names }

func (s single) Gateway(name string) Gateway {
	if name == s.name {
		return s.g
	}
	return nil
}

// Sentinel errors of gateways. Test them with errors.Is.
var (
	// ErrDeclined means the issuer declined the charge; nothing was charged.
	ErrDeclined = errors.New("payment: declined")
	// ErrInsufficientFunds means the charge was declined for lack of funds;
	// nothing was charged.
	ErrInsufficientFunds = errors.New("payment: insufficient funds")
	// ErrInvalidToken means the token is unknown to the gateway; nothing was
	// charged.
	ErrInvalidToken = errors.New("payment: invalid token")
	// ErrNotSent means the request never reached the gateway (it could not
	// connect); nothing was charged.
	ErrNotSent = errors.New("payment: request not sent")
	// ErrRefundRefused means the gateway will not accept the refund as
	// asked (unknown charge, or more than is left to refund).
	ErrRefundRefused = errors.New("payment: refund refused")
	// ErrGateway means the gateway failed; whether a charge happened is
	// unknown.
	ErrGateway = errors.New("payment: gateway error")
)

// IsDecline reports whether err is a definitive refusal after which nothing
// was charged (declined, insufficient funds, invalid token).
func IsDecline(err error) bool {
	return errors.Is(err, ErrDeclined) || errors.Is(err, ErrInsufficientFunds) || errors.Is(err, ErrInvalidToken)
}

// NothingCharged reports whether err from Charge proves that nothing was
// charged: a decline, or a request that never left.
func NothingCharged(err error) bool { return IsDecline(err) || errors.Is(err, ErrNotSent) }
