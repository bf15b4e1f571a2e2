package checkout

import (
	"slices"
	"strconv"

	"shopedge/core/payment"
)

// attempt is one charge attempt of an order: the gateway it went to and,
// once known, its outcome. It is recorded on the order before the gateway
// is called (the first one in the reservation transaction), so whatever
// happens to the call, the attempt can be looked up at its gateway by its
// key (attemptKey).
type attempt struct {
	// Gateway is the name the router knows the gateway by.
	Gateway string
	// Outcome is 0 while the outcome is not known: the call is in
	// progress, or its answer was lost. Then payment.OutcomeCharged,
	// payment.OutcomeDeclined or payment.OutcomeNotCharged.
	Outcome payment.Outcome
	// ChargeID is the gateway's id of the charge the attempt made.
	ChargeID string
	// Refund is the state of the refund of that charge, if one was decided:
	// the order was cancelled after it paid, or the charge completed after
	// the order had ended (see refund.go).
	Refund refundState
	// RefundID is the gateway's id of the refund, once it accepted it.
	RefundID string
}

// known reports whether the attempt's outcome is known.
func (a *attempt) known() bool { return a.Outcome != 0 }

// attemptKey returns the idempotency key of attempt i of order id: the
// order id for the first attempt (as orders before attempts were recorded
// charged), the order id and the attempt's number after it. The gateway
// charges at most once per key, and Lookup finds the attempt by it.
func attemptKey(orderID string, i int) string {
	if i == 0 {
		return orderID
	}
	return orderID + "-" + strconv.Itoa(i+1)
}

// refundKey returns the idempotency key of the refund of attempt i's charge.
func refundKey(orderID string, i int) string { return "refund-" + attemptKey(orderID, i) }

// chargeRequest returns attempt i's request, the same for the charge and
// every lookup.
func (o *orderRec) chargeRequest(i int) payment.ChargeRequest {
	return payment.ChargeRequest{Key: attemptKey(o.ID, i), Token: o.PayToken, Amount: o.Totals, OrderID: o.ID}
}

// unknown returns the index of the first attempt whose outcome is not
// known, or -1.
func (o *orderRec) unknown() int {
	for i := range o.Attempts {
		if !o.Attempts[i].known() {
			return i
		}
	}
	return -1
}

// maxAttempts bounds the attempts of one order (one per gateway the router
// names, at most this many).
const maxAttempts = 8

// nextGateway returns the gateway for a new attempt of o: the first that
// route names and no attempt of o has used, or "" when none is left.
func (o *orderRec) nextGateway(route []string) string {
	if len(o.Attempts) >= maxAttempts {
		return ""
	}
	for _, name := range route {
		if !slices.ContainsFunc(o.Attempts, func(a attempt) bool { return a.Gateway == name }) {
			return name
		}
	}
	return ""
}

// refundState is the state of an attempt's refund.
type refundState uint8

const (
	refundNone refundState = iota
	// refundPending: decided and recorded (with a work item in the refund
	// queue), not yet confirmed by the gateway.
	refundPending
	// refundSucceeded: the gateway confirmed it.
	refundSucceeded
	// refundRefused: the gateway will never accept it as asked; an
	// operator resolves it (the admin listing shows it).
	refundRefused
)

func (r refundState) String() string {
	switch r {
	case refundPending:
		return "pending"
	case refundSucceeded:
		return "succeeded"
	case refundRefused:
		return "refused"
	}
	return ""
}
