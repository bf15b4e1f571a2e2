package testpay

import "strings"

// Test tokens. A token may carry its card's brand and issuing country as
// suffixes: tok_ok_visa_de, tok_decline_mastercard_us, tok_lost_reply_amex
// (brand and country are optional; the defaults are visa and US).
const (
	TokenOK                 = "tok_ok"
	TokenDecline            = "tok_decline"
	TokenInsufficientFunds  = "tok_insufficient_funds"
	TokenSlow               = "tok_slow"
	TokenError              = "tok_error"
	TokenLostReply          = "tok_lost_reply"
	TokenTimeoutAfterCharge = "tok_timeout_after_charge"
	TokenErrorAfterCharge   = "tok_error_after_charge"
)

// Behaviour is what a token makes the gateway do.
type Behaviour uint8

// Behaviours of the test tokens.
const (
	BehaveInvalid            Behaviour = iota // unknown token: no such payment method
	BehaveOK                                  // charges
	BehaveDecline                             // declined (card_declined), nothing charged
	BehaveInsufficientFunds                   // declined (insufficient_funds), nothing charged
	BehaveSlow                                // charges after the slow delay
	BehaveError                               // 5xx before charging; not stored, a retry may succeed
	BehaveLostReply                           // charges, then drops the connection unanswered
	BehaveTimeoutAfterCharge                  // charges, answers after the caller gave up
	BehaveErrorAfterCharge                    // charges, answers 5xx
)

// behaviours lists the outcome part of each token, longest first so that
// tok_error_after_charge is not read as tok_error plus a brand.
var behaviours = []struct {
	name string
	b    Behaviour
}{
	{"timeout_after_charge", BehaveTimeoutAfterCharge},
	{"error_after_charge", BehaveErrorAfterCharge},
	{"insufficient_funds", BehaveInsufficientFunds},
	{"lost_reply", BehaveLostReply},
	{"decline", BehaveDecline},
	{"error", BehaveError},
	{"slow", BehaveSlow},
	{"ok", BehaveOK},
}

// Brands a token may name (Stripe's card.brand values).
var brands = map[string]bool{
	"visa": true, "mastercard": true, "amex": true, "discover": true,
	"jcb": true, "unionpay": true, "diners": true,
}

// Card is the card behind a token.
type Card struct {
	Brand   string // visa, mastercard, amex, discover, jcb, unionpay, diners
	Country string // ISO 3166-1 alpha-2, upper case
}

// ParseToken reads a test token: tok_<outcome>[_<brand>][_<country>]. ok
// is false for anything else (BehaveInvalid).
func ParseToken(tok string) (b Behaviour, card Card, ok bool) {
	rest, found := strings.CutPrefix(tok, "tok_")
	if !found {
		return BehaveInvalid, Card{}, false
	}
	for _, c := range behaviours {
		tail, found := strings.CutPrefix(rest, c.name)
		if !found || (tail != "" && tail[0] != '_') {
			continue
		}
		card, ok := parseCard(tail)
		if !ok {
			return BehaveInvalid, Card{}, false
		}
		return c.b, card, true
	}
	return BehaveInvalid, Card{}, false
}

// parseCard reads "", "_brand", "_country" or "_brand_country".
func parseCard(tail string) (Card, bool) {
	card := Card{Brand: "visa", Country: "US"}
	if tail == "" {
		return card, true
	}
	parts := strings.Split(tail[1:], "_")
	if len(parts) > 2 {
		return Card{}, false
	}
	if brands[parts[0]] {
		card.Brand = parts[0]
		parts = parts[1:]
	}
	switch {
	case len(parts) == 0:
		return card, true
	case len(parts) == 1 && isCountry(parts[0]):
		card.Country = strings.ToUpper(parts[0])
		return card, true
	}
	return Card{}, false
}

func isCountry(s string) bool {
	return len(s) == 2 && s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z'
}

// CardOf returns the brand and country a test token names; ok is false for
// a token testpay does not know. It is how the router reads card metadata
// from testpay tokens (a real deployment reads them from the provider's
// payment method instead).
func CardOf(tok string) (Card, bool) {
	_, c, ok := ParseToken(tok)
	return c, ok
}
