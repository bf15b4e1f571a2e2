package api

import (
	"fmt"
	"strings"

	json "github.com/goccy/go-json"
)

// ValidateCheckout checks a checkout's Idempotency-Key and body fields,
// naming the first bad field: the core's checks, which an edge applies too
// before it answers a checkout in the core's stead.
func ValidateCheckout(key string, req CheckoutRequest) error {
	if err := ValidateIdempotencyKey(key); err != nil {
		return err
	}
	switch {
	case req.CartID == "":
		return Invalid("cart_id", "is required")
	case !ValidCartID(req.CartID):
		return Invalid("cart_id", "is not a cart id")
	case req.PaymentToken == "":
		return Invalid("payment_token", "is required")
	case len(req.PaymentToken) > 128 || !printable(req.PaymentToken, false):
		return Invalid("payment_token", "must be 1–128 printable ASCII bytes without spaces")
	}
	return validEmail(req.Email)
}

// ValidateIdempotencyKey checks an Idempotency-Key: 1–255 printable ASCII
// bytes.
func ValidateIdempotencyKey(key string) error {
	if len(key) == 0 {
		return Invalid("Idempotency-Key", "header is required")
	}
	if len(key) > 255 || !printable(key, true) {
		return Invalid("Idempotency-Key", "must be 1–255 printable ASCII bytes")
	}
	return nil
}

func printable(s string, space bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c > '~' || c < ' ' || (c == ' ' && !space) {
			return false
		}
	}
	return true
}

// validEmail accepts local@domain: at most 254 bytes, a local part of 1–64
// bytes of printable ASCII without spaces, quotes, '<', '>', '(', ')', ',',
// ';', ':', '\', '[', ']' or '@', and a domain of dot-separated labels of
// letters, digits and '-' (not at either end), with at least two labels.
func validEmail(e string) error {
	bad := func(why string) error { return Invalid("email", "%s", why) }
	if e == "" {
		return bad("is required")
	}
	if len(e) > 254 {
		return bad("must be at most 254 bytes")
	}
	at := strings.LastIndexByte(e, '@')
	if at < 1 || at > 64 || at == len(e)-1 {
		return bad("must look like name@example.com")
	}
	for i := 0; i < at; i++ {
		c := e[i]
		if c <= ' ' || c > '~' || strings.IndexByte(`"<>()[],;:\@`, c) >= 0 {
			return bad("must look like name@example.com")
		}
	}
	domain := e[at+1:]
	if strings.IndexByte(domain, '.') < 0 {
		return bad("must look like name@example.com")
	}
	for len(domain) > 0 {
		l := domain
		if i := strings.IndexByte(domain, '.'); i >= 0 {
			l, domain = domain[:i], domain[i+1:]
			if domain == "" {
				return bad("must look like name@example.com") // a trailing dot: an empty last label
			}
		} else {
			domain = ""
		}
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return bad("must look like name@example.com")
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return bad("must look like name@example.com")
			}
		}
	}
	return nil
}

// OutOfStockError is a checkout's answer when lines are short: 409 naming
// them (the core's stored answer, and an edge's in its stead).
func OutOfStockError(short []ShortLine) *Error {
	return &Error{Code: ECodeOutOfStock, Message: "not enough stock for every line", Details: short}
}

// SoldOutError is the answer to putting qty units of a sold-out SKU (none
// available) in a cart: 409, whichever cart it is.
func SoldOutError(sku string, qty int64) *Error {
	return &Error{Code: ECodeOutOfStock, Field: "sku", Message: "sku " + sku + " is sold out",
		Details: []ShortLine{{SKU: sku, Requested: qty, Available: 0}}}
}

// ErrorJSON returns e's body as WriteError writes it.
func ErrorJSON(e *Error) []byte {
	b, err := json.Marshal(ErrorBody{Error: e})
	if err != nil {
		panic(fmt.Sprintf("BUG: cannot encode error body: %v", err))
	}
	return b
}
