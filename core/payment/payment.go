// Package payment defines the payment gateway shopedge's checkout charges.
//
// Card numbers never enter shopedge: a buyer's client exchanges card data
// with the payment provider for an opaque token, and the core only ever sees
// that token. The built-in gateway for tests and demos is payment/testpay.
package payment

import (
	"context"
	"errors"

	"shopedge/core/api"
)

// Gateway charges and refunds payment tokens. Implementations must be safe
// for concurrent use and must honour ctx's deadline.
type Gateway interface {
	// Charge charges amount to token and returns the gateway's charge id.
	// Calls with the same idempotencyKey charge at most once: a repeated
	// call returns the first call's charge id (or its decline).
	// A decline is reported as an error wrapping ErrDeclined or
	// ErrInsufficientFunds; any other error means the outcome is unknown.
	Charge(ctx context.Context, token string, amount api.Money, idempotencyKey string) (chargeID string, err error)
	// Refund refunds amount of the charge chargeID. Refunding a charge that
	// was already refunded succeeds without refunding twice.
	Refund(ctx context.Context, chargeID string, amount api.Money) error
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
	// ErrUnknownCharge is returned by Refund for a charge id the gateway
	// does not know.
	ErrUnknownCharge = errors.New("payment: unknown charge")
	// ErrGateway means the gateway failed; whether a charge happened is
	// unknown, so the caller retries with the same idempotency key.
	ErrGateway = errors.New("payment: gateway error")
)

// IsDecline reports whether err is a definitive refusal after which nothing
// was charged (declined, insufficient funds, invalid token).
func IsDecline(err error) bool {
	return errors.Is(err, ErrDeclined) || errors.Is(err, ErrInsufficientFunds) || errors.Is(err, ErrInvalidToken)
}
