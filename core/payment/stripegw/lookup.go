package stripegw

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/stripe/stripe-go/v82"

	"shopedge/core/payment"
)

// Lookup implements payment.Gateway:
//  1. search the PaymentIntent whose metadata names the attempt, and read
//     its current state;
//  2. when none is found (never sent, or not yet searchable), fence the
//     key with a create that cannot charge: accepted means nothing was and
//     nothing can be charged under the key;
//  3. when the fence is refused because the key holds another request (the
//     original did run), replay the original under the key: Stripe answers
//     the stored result without running it again.
//
// Any other case (a request under the key still in progress, the gateway
// unreachable, a PaymentIntent still processing) is an error: ask later.
func (g *Gateway) Lookup(ctx context.Context, req payment.ChargeRequest) (payment.LookupResult, error) {
	if err := checkLookup(req); err != nil {
		return payment.LookupResult{}, fmt.Errorf("cannot look up: %v: %w", err, payment.ErrGateway)
	}
	pi, err := g.search(ctx, req.Key)
	if err != nil {
		return payment.LookupResult{}, err
	}
	if pi != nil {
		return g.settle(ctx, pi)
	}
	fence, err := g.sc.V1PaymentIntents.Create(ctx, fenceParams(ctx, req))
	if err == nil {
		if fence.Metadata[MetaAttempt] == req.Key && fence.Metadata[MetaFence] != "1" {
			// The key's stored answer is the charge request's after all
			// (a gateway that does not compare parameters).
			return g.settle(ctx, fence)
		}
		g.cancelFence(ctx, fence)
		return payment.LookupResult{Outcome: payment.OutcomeNotCharged}, nil
	}
	var se *stripe.Error
	if !errors.As(err, &se) || se.Type != stripe.ErrorTypeIdempotency || se.HTTPStatusCode != http.StatusBadRequest {
		// 409: a request under the key is in progress; 5xx, network: ask later.
		return payment.LookupResult{}, fmt.Errorf("cannot fence attempt %s: %w", req.Key, lookupError(err))
	}
	// The original request ran: read its stored answer.
	if req.Token == "" {
		return payment.LookupResult{}, fmt.Errorf("attempt %s ran but is not searchable yet, and without its token its stored answer cannot be read: %w", req.Key, payment.ErrGateway)
	}
	pi, err = g.sc.V1PaymentIntents.Create(ctx, chargeParams(ctx, req))
	if err != nil {
		if errors.As(err, &se) && se.Type == stripe.ErrorTypeCard {
			return payment.LookupResult{Outcome: payment.OutcomeDeclined, Decline: declineError(se)}, nil
		}
		if errors.As(err, &se) && se.HTTPStatusCode == http.StatusBadRequest && se.Type == stripe.ErrorTypeInvalidRequest &&
			(se.Param == "payment_method" || se.Code == stripe.ErrorCodeResourceMissing) {
			return payment.LookupResult{Outcome: payment.OutcomeDeclined, Decline: fmt.Errorf("charge refused: %s: %w", se.Msg, payment.ErrInvalidToken)}, nil
		}
		// A stored 5xx, or the original still running: the search will
		// find its PaymentIntent, if any, once it is indexed. (A stored
		// 5xx that created none leaves the attempt unsettled until Stripe
		// forgets the key, after 24 h, when a fence is accepted.)
		return payment.LookupResult{}, fmt.Errorf("cannot read the stored answer of attempt %s: %w", req.Key, lookupError(err))
	}
	return g.settle(ctx, pi)
}

// checkLookup checks what Lookup needs: the key, and the amount the fence
// is created with (the token only to replay the original).
func checkLookup(req payment.ChargeRequest) error {
	if err := checkKey(req.Key); err != nil {
		return err
	}
	if req.Amount.Amount <= 0 || len(req.Amount.Currency) != 3 {
		return fmt.Errorf("amount: want the attempt's positive amount and currency, got %d %q", req.Amount.Amount, req.Amount.Currency)
	}
	return nil
}

// search returns the PaymentIntent whose metadata names the attempt key, or
// nil. Of several (the charge and a fence cannot both exist under one key,
// but a search may show stale copies), a charged one wins.
func (g *Gateway) search(ctx context.Context, key string) (*stripe.PaymentIntent, error) {
	p := &stripe.PaymentIntentSearchParams{SearchParams: stripe.SearchParams{
		Query: "metadata['" + MetaAttempt + "']:'" + quote(key) + "'",
		Limit: stripe.Int64(10),
	}}
	p.Context = ctx
	var found *stripe.PaymentIntent
	n := 0
	for pi, err := range g.sc.V1PaymentIntents.Search(ctx, p) {
		if err != nil {
			return nil, fmt.Errorf("cannot search attempt %s: %w", key, lookupError(err))
		}
		if pi.Metadata[MetaAttempt] != key {
			continue // the query language matched more than asked
		}
		if found == nil || pi.Status == stripe.PaymentIntentStatusSucceeded {
			found = pi
		}
		if n++; n >= 10 {
			break
		}
	}
	return found, nil
}

// quote escapes a value for a single-quoted string of Stripe's search
// query language.
func quote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}

// settle reads the current state of a PaymentIntent found for an attempt
// (search results may be stale) and maps it to an outcome.
func (g *Gateway) settle(ctx context.Context, found *stripe.PaymentIntent) (payment.LookupResult, error) {
	p := &stripe.PaymentIntentRetrieveParams{}
	p.Context = ctx
	pi, err := g.sc.V1PaymentIntents.Retrieve(ctx, found.ID, p)
	if err != nil {
		return payment.LookupResult{}, fmt.Errorf("cannot read payment intent %s: %w", found.ID, lookupError(err))
	}
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		return payment.LookupResult{Outcome: payment.OutcomeCharged, ChargeID: pi.ID}, nil
	case stripe.PaymentIntentStatusCanceled:
		return payment.LookupResult{Outcome: payment.OutcomeNotCharged}, nil
	case stripe.PaymentIntentStatusRequiresPaymentMethod, stripe.PaymentIntentStatusRequiresConfirmation:
		if pi.Metadata[MetaFence] == "1" {
			g.cancelFence(ctx, pi)
			return payment.LookupResult{Outcome: payment.OutcomeNotCharged}, nil
		}
		if pi.LastPaymentError != nil {
			return payment.LookupResult{Outcome: payment.OutcomeDeclined, Decline: declineError(pi.LastPaymentError)}, nil
		}
	}
	// processing, requires_action, requires_capture, or a charge request
	// whose PaymentIntent waits for confirmation: not settled yet.
	return payment.LookupResult{}, fmt.Errorf("payment intent %s of attempt %s is %s, not settled: %w",
		pi.ID, pi.Metadata[MetaAttempt], pi.Status, payment.ErrGateway)
}

// cancelFence cancels a fence's PaymentIntent so that it does not linger
// as incomplete in the account. It is tidiness only: an unconfirmed
// PaymentIntent without a payment method charges nothing, and the key
// stays fenced whatever its state, so a failure is ignored.
func (g *Gateway) cancelFence(ctx context.Context, pi *stripe.PaymentIntent) {
	if pi.Status == stripe.PaymentIntentStatusCanceled {
		return
	}
	p := &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String("abandoned")}
	p.Context = ctx
	p.IdempotencyKey = stripe.String("cancel-" + pi.ID)
	_, _ = g.sc.V1PaymentIntents.Cancel(ctx, pi.ID, p)
}

// lookupError wraps an error of a read in ErrGateway (ask again later).
func lookupError(err error) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		return fmt.Errorf("gateway answered %d %s %s: %w", se.HTTPStatusCode, se.Type, se.Msg, payment.ErrGateway)
	}
	return fmt.Errorf("%v: %w", err, payment.ErrGateway)
}

// Refund implements payment.Gateway: a Refund of req.Amount of the
// PaymentIntent req.ChargeID under req.Key.
func (g *Gateway) Refund(ctx context.Context, req payment.RefundRequest) (payment.Refund, error) {
	if err := checkKey(req.Key); err != nil {
		return payment.Refund{}, fmt.Errorf("cannot refund: %v: %w", err, payment.ErrRefundRefused)
	}
	if req.ChargeID == "" || req.Amount.Amount <= 0 {
		return payment.Refund{}, fmt.Errorf("cannot refund %d of charge %q: %w", req.Amount.Amount, req.ChargeID, payment.ErrRefundRefused)
	}
	p := &stripe.RefundCreateParams{
		PaymentIntent: stripe.String(req.ChargeID),
		Amount:        stripe.Int64(req.Amount.Amount),
		Metadata:      map[string]string{MetaOrder: req.OrderID, MetaRefund: req.Key},
	}
	p.Context = ctx
	p.IdempotencyKey = stripe.String(req.Key)
	r, err := g.sc.V1Refunds.Create(ctx, p)
	if err != nil {
		return payment.Refund{}, refundError(req, err)
	}
	switch r.Status {
	case stripe.RefundStatusSucceeded:
		return payment.Refund{ID: r.ID, Status: payment.RefundSucceeded}, nil
	case stripe.RefundStatusPending, stripe.RefundStatusRequiresAction:
		return payment.Refund{ID: r.ID, Status: payment.RefundPending}, nil
	}
	// failed or canceled: asking again under the key returns the same.
	return payment.Refund{}, fmt.Errorf("refund %s of %s is %s: %w", r.ID, req.ChargeID, r.Status, payment.ErrRefundRefused)
}

func refundError(req payment.RefundRequest, err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return transportError("refund "+req.ChargeID, err)
	}
	switch {
	case se.HTTPStatusCode == http.StatusConflict, se.HTTPStatusCode == http.StatusTooManyRequests,
		se.HTTPStatusCode >= 500, se.HTTPStatusCode == http.StatusUnauthorized:
		return fmt.Errorf("cannot refund %s: gateway answered %d %s: %w", req.ChargeID, se.HTTPStatusCode, se.Msg, payment.ErrGateway)
	}
	// 400/402/404: an unknown charge, more than is left, a key reused
	// with other parameters: the same request will never be accepted.
	return fmt.Errorf("cannot refund %s: gateway answered %d %s %s: %w", req.ChargeID, se.HTTPStatusCode, se.Code, se.Msg, payment.ErrRefundRefused)
}
