package api

import (
	"strings"
	"testing"
)

func TestContainsCardNumber(t *testing.T) {
	f := func(in string, want bool) {
		t.Helper()
		if got := ContainsCardNumber([]byte(in)); got != want {
			t.Fatalf("ContainsCardNumber(%q) = %v, want %v", in, got, want)
		}
	}
	// Well-known test card numbers (Luhn-valid).
	f("4111111111111111", true)
	f("4111 1111 1111 1111", true)
	f("4111-1111-1111-1111", true)
	f(`{"payment_token":"4111111111111111"}`, true)
	f("card=5555555555554444&x=1", true)
	f("378282246310005", true)      // Amex, 15 digits
	f("4222222222222", true)        // 13 digits
	f("6011000990139424", true)     // Discover
	f("3530111333300000", true)     // JCB
	f("4111111111111111111", false) // 19 digits, checksum wrong
	f("4111111111111111110", true)  // 19 digits, Luhn-valid
	f("abc4111111111111111def", true)
	f("x 4111111111111111", true)
	// Not card numbers.
	f("", false)
	f("4111111111111112", false)      // checksum wrong
	f("411111111111", false)          // 12 digits
	f("41111111111111111111", false)  // 20 digits
	f("4111  1111 1111 1111", false)  // double space splits the run
	f("4111 - 1111 1111 1111", false) // space-dash-space splits the run
	f("4111,1111,1111,1111", false)   // commas split the run
	f(`{"quantity": 4, "sku": "1502983"}`, false)
	f(strings.Repeat("9", 100), false)
	f("0000000000000", true) // all zeros is Luhn-valid: rejected, deliberately simple
}

func TestContainsCardNumberEverySeparatorShape(t *testing.T) {
	// Every position of a valid number may carry one separator.
	num := "5105105105105100"
	for i := 1; i < len(num); i++ {
		for _, sep := range []string{" ", "-"} {
			s := num[:i] + sep + num[i:]
			if !ContainsCardNumber([]byte(s)) {
				t.Fatalf("missed %q", s)
			}
		}
	}
	// Changing any single digit breaks the checksum.
	for i := range len(num) {
		b := []byte(num)
		b[i] = '0' + (b[i]-'0'+1)%10
		if ContainsCardNumber(b) {
			t.Fatalf("flagged %q", b)
		}
	}
}

func TestContainsCardNumberNoAllocs(t *testing.T) {
	b := []byte(`{"cart_id":"0123456789abcdef","payment_token":"tok_ok","email":"a@example.com"} 4111 1111 1111 1111`)
	if n := testing.AllocsPerRun(100, func() { _ = ContainsCardNumber(b) }); n != 0 {
		t.Fatalf("allocs %v", n)
	}
}

func FuzzContainsCardNumber(f *testing.F) {
	f.Add([]byte("4111 1111 1111 1111"))
	f.Add([]byte("x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := ContainsCardNumber(b)
		// A flagged input must contain at least 13 digits.
		digits := 0
		for _, c := range b {
			if c >= '0' && c <= '9' {
				digits++
			}
		}
		if got && digits < 13 {
			t.Fatalf("flagged %q with %d digits", b, digits)
		}
	})
}
