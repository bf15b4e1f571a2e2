package testpay

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

// PaymentIntent is the simulator's PaymentIntent, in Stripe's JSON shape
// (the fields stripe-go reads), plus two fields of testpay's own for
// audits: amount_refunded and refunds (every refund of the payment).
type PaymentIntent struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"` // "payment_intent"
	Amount             int64             `json:"amount"`
	AmountReceived     int64             `json:"amount_received"`
	AmountRefunded     int64             `json:"amount_refunded"`
	Currency           string            `json:"currency"`
	Status             string            `json:"status"`
	PaymentMethod      *string           `json:"payment_method"`
	PaymentMethodTypes []string          `json:"payment_method_types"`
	CaptureMethod      string            `json:"capture_method"`
	ConfirmationMethod string            `json:"confirmation_method"`
	Created            int64             `json:"created"`
	CanceledAt         *int64            `json:"canceled_at"`
	CancellationReason *string           `json:"cancellation_reason"`
	Description        *string           `json:"description"`
	LastPaymentError   *APIError         `json:"last_payment_error"`
	LatestCharge       *string           `json:"latest_charge"`
	Livemode           bool              `json:"livemode"`
	Metadata           map[string]string `json:"metadata"`
	Refunds            RefundList        `json:"refunds"`
}

// RefundList is the list of a PaymentIntent's refunds.
type RefundList struct {
	Object  string    `json:"object"` // "list"
	Data    []*Refund `json:"data"`
	HasMore bool      `json:"has_more"`
}

// Refund is the simulator's Refund, in Stripe's JSON shape.
type Refund struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"` // "refund"
	Amount        int64             `json:"amount"`
	Currency      string            `json:"currency"`
	PaymentIntent string            `json:"payment_intent"`
	Charge        string            `json:"charge"`
	Status        string            `json:"status"`
	Reason        *string           `json:"reason"`
	Created       int64             `json:"created"`
	Metadata      map[string]string `json:"metadata"`
}

// APIError is Stripe's error object ({"error": …} in an error answer,
// last_payment_error on a PaymentIntent).
type APIError struct {
	Type          string         `json:"type"`
	Code          string         `json:"code,omitempty"`
	DeclineCode   string         `json:"decline_code,omitempty"`
	Message       string         `json:"message"`
	Param         string         `json:"param,omitempty"`
	DocURL        string         `json:"doc_url,omitempty"`
	PaymentIntent *PaymentIntent `json:"payment_intent,omitempty"`
}

// PaymentMethod is the card behind a test token, as Stripe's
// GET /v1/payment_methods/{id} shows it.
type PaymentMethod struct {
	ID     string `json:"id"`
	Object string `json:"object"` // "payment_method"
	Type   string `json:"type"`   // "card"
	Card   struct {
		Brand    string `json:"brand"`
		Country  string `json:"country"`
		Last4    string `json:"last4"`
		ExpMonth int    `json:"exp_month"`
		ExpYear  int    `json:"exp_year"`
		Funding  string `json:"funding"`
	} `json:"card"`
	Created  int64             `json:"created"`
	Livemode bool              `json:"livemode"`
	Metadata map[string]string `json:"metadata"`
}

// Payment intent states the simulator uses.
const (
	StatusSucceeded             = "succeeded"
	StatusRequiresPaymentMethod = "requires_payment_method"
	StatusRequiresConfirmation  = "requires_confirmation"
	StatusCanceled              = "canceled"
)

var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// newID returns prefix + 24 random characters, like Stripe's ids.
func newID(prefix string) string {
	var b [15]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return prefix + strings.ToUpper(idEncoding.EncodeToString(b[:]))[:24]
}

// clone returns a deep copy of pi that a reader may keep.
func (pi *PaymentIntent) clone() *PaymentIntent {
	c := *pi
	c.Metadata = cloneMap(pi.Metadata)
	c.PaymentMethodTypes = append([]string(nil), pi.PaymentMethodTypes...)
	c.Refunds.Data = make([]*Refund, len(pi.Refunds.Data))
	for i, r := range pi.Refunds.Data {
		rc := *r
		rc.Metadata = cloneMap(r.Metadata)
		c.Refunds.Data[i] = &rc
	}
	return &c
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
