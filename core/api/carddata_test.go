package api

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
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
	f("4111111111111112", false)     // checksum wrong
	f("411111111111", false)         // 12 digits
	f("41111111111111111111", false) // 20 digits
	f("4111,1111,1111,1111", false)  // commas split the run
	f("4111;1111;1111;1111", false)  // so do semicolons
	f(`{"quantity": 4, "sku": "1502983"}`, false)
	f(strings.Repeat("9", 100), false)
	f("0000000000000", true) // all zeros is Luhn-valid: rejected, deliberately simple
	// Separators: space . - _ + /, any number of them between groups.
	f("4111  1111 1111 1111", true)
	f("4111 - 1111 - 1111 - 1111", true)
	f("4111.1111.1111.1111", true)
	f("4111_1111_1111_1111", true)
	f("4111+1111+1111+1111", true)
	f("4111/1111/1111/1111", true)
	f("4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", true)
	// A number among other digit groups of the same run: pasted with its
	// expiry and code, or after them.
	f("4111 1111 1111 1111 12/27 123", true)
	f("12/27 4111-1111-1111-1111", true)
	f("exp 12/27 cvc 123 4111.1111.1111.1111 end", true)
	f("4111111111111111 7", true)
	// Long single groups stay ids, even beside other groups.
	f("41111111111111112 7", false)
	f("2026-11-27 16:14:48.123", false)
	f("1.2.3.4", false)
	f(".4111111111111111.", true)
}

func TestRedactCardNumbers(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		got, found := RedactCardNumbers([]byte("> "), []byte(in))
		if string(got) != "> "+want || found != (in != want) {
			t.Fatalf("RedactCardNumbers(%q) = %q, %v; want %q", in, got, found, "> "+want)
		}
		if ContainsCardNumber(got) {
			t.Fatalf("redacted %q still holds a card number", got)
		}
	}
	f("", "")
	f("no digits", "no digits")
	f("id 1502983 seq 12", "id 1502983 seq 12")
	f("4111111111111111", "****************")
	f(`"path":"/v1/carts/x/items/4111-1111-1111-1111","id":"a"`, `"path":"/v1/carts/x/items/****-****-****-****","id":"a"`)
	f("a 4111 1111 1111 1111 12/27 b", "a **** **** **** **** 12/27 b")
	f("5555555555554444 and 378282246310005", "**************** and ***************")
}

func TestContainsCardNumberEverySeparatorShape(t *testing.T) {
	// Every position of a valid number may carry one separator.
	num := "5105105105105100"
	for i := 1; i < len(num); i++ {
		for _, sep := range []string{" ", "-", ".", "_", "+", "/", " - "} {
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

func TestContainsCardDataJSON(t *testing.T) {
	f := func(in string, want bool) {
		t.Helper()
		if got := ContainsCardDataJSON([]byte(in)); got != want {
			t.Fatalf("ContainsCardDataJSON(%s) = %v, want %v", in, got, want)
		}
	}
	f(`{"payment_token":"tok_ok","email":"a@example.com"}`, false)
	f(`{"payment_token":"4111111111111111"}`, true)
	f(`{"payment_token":4111111111111111}`, true)
	// Escapes that hide digits from a raw scan.
	f(`{"payment_token":"\u0034\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031"}`, true)
	f(`{"payment_token":"41\u00311111111111111"}`, true)
	f(`{"email":"4111\/1111\/1111\/1111"}`, true)
	f(`{"email":"4111\u002e1111\u002E1111\u002d1111"}`, true)
	f(`{"t":"4111\t1111"}`, false)
	// Unicode digits, raw and escaped.
	f(`{"payment_token":"４１１１１１１１１１１１１１１１"}`, true)
	f(`{"payment_token":"\uff14\uff11\uff11\uff11 1111 1111 1111"}`, true)
	f(`{"payment_token":"٤١١١١١١١١١١١١١١١"}`, true)
	// A key can carry one too; broken JSON is still read.
	f(`{"4111111111111111":1}`, true)
	f(`{"a":"\u0034111 1111 1111 1111`, true)
	f(`{"a":"\u00`, false)
	f(`{"a":"\ud83d\ude00 ok"}`, false)
}

func TestContainsCardNumberText(t *testing.T) {
	f := func(in string, want bool) {
		t.Helper()
		if got := ContainsCardNumberText([]byte(in)); got != want {
			t.Fatalf("ContainsCardNumberText(%q) = %v, want %v", in, got, want)
		}
	}
	f("４１１１ １１１１ １１１１ １１１１", true)
	f("४१११११११११११११११", true) // Devanagari
	f("𝟒𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏", true) // mathematical bold digits
	f("４１１１ １１１１ １１１１ １１１２", false)
	f("日本語 1234", false)
}

func TestCardDataIn(t *testing.T) {
	f := func(uri, body, want string, hdr ...string) {
		t.Helper()
		var req fasthttp.Request
		req.SetRequestURI(uri)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		req.SetBodyString(body)
		if got := CardDataIn(&req); got != want {
			t.Fatalf("%s %s %v: %q, want %q", uri, body, hdr, got, want)
		}
	}
	f("/v1/checkout", `{"payment_token":"tok_ok"}`, "", "X-Request-Id", "abc", "Idempotency-Key", "k-1")
	f("/v1/carts/c/items/4111111111111111", ``, "path")
	f("/v1/carts/c/items/%34111111111111111", ``, "path")
	f("/v1/orders/o?token=4111+1111+1111+1111", ``, "query")
	f("/v1/orders/o?token=4111%201111%201111%201111", ``, "query")
	f("/v1/orders/o?t=%EF%BC%94111111111111111", ``, "query")
	f("/v1/checkout", ``, "header", "X-Request-Id", "4111-1111-1111-1111")
	f("/v1/checkout", `{"payment_token":"4111\u00201111 1111 1111"}`, "body")
}
