package api

// Card-number screening. Shopedge never accepts card data: the edge's
// forwarder and the core's public routes reject a request that carries
// what looks like a payment card number (400 card_data_rejected), and the
// access logs of both tiers mask such numbers before writing a line.
//
// What counts as a card number: digits written in groups, the groups
// separated by one or more separator bytes (space . - _ + /), form a run;
// any span of whole consecutive groups of one run holding 13–19 digits in
// all whose Luhn checksum is valid is a card number. So "4111 1111 1111
// 1111", "4111.1111.1111.1111", "4111111111111111 12/27 123" (number,
// expiry and code pasted together) and "exp 12/27 4111-1111-1111-1111"
// are all caught, while a single group of more than 19 digits (a long
// numeric id) never is. Any other byte (a letter, a comma, a quote) ends a
// run. The rule is applied to decoded values: JSON strings after their
// escapes, query values after percent-decoding, with Unicode decimal
// digits (fullwidth ４, Arabic-Indic ٤…) read as the ASCII digits they
// stand for.

// maxCardDigits and minCardDigits bound a card number's length.
const (
	minCardDigits = 13
	maxCardDigits = 19
)

// isCardSeparator reports whether c may stand between the digit groups of
// a card number.
func isCardSeparator(c byte) bool {
	switch c {
	case ' ', '.', '-', '_', '+', '/':
		return true
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// ContainsCardNumber reports whether b holds a card number (see the
// package comment above for the rule). It reads ASCII digits only; see
// ContainsCardNumberText for decoded text that may hold other Unicode
// digits. It does not allocate.
func ContainsCardNumber(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if isDigit(b[i]) && (i == 0 || !isDigit(b[i-1])) {
			if _, ok := cardSpanAt(b, i); ok {
				return true
			}
		}
	}
	return false
}

// cardSpanAt looks for a card number whose first digit group starts at
// b[start]: it walks forward group by group (across separators) while at
// most maxCardDigits digits are gathered and checks the Luhn sum at every
// group end with at least minCardDigits. It returns the end (exclusive) of
// the first card number found.
func cardSpanAt(b []byte, start int) (end int, ok bool) {
	var d [maxCardDigits]byte
	n := 0
	i := start
	for {
		// One group.
		for i < len(b) && isDigit(b[i]) {
			if n == maxCardDigits {
				return 0, false
			}
			d[n] = b[i] - '0'
			n++
			i++
		}
		if n >= minCardDigits && luhn(d[:n]) {
			return i, true
		}
		// Separators, then the next group or the run's end.
		j := i
		for j < len(b) && isCardSeparator(b[j]) {
			j++
		}
		if j == i || j == len(b) || !isDigit(b[j]) {
			return 0, false
		}
		i = j
	}
}

// luhn reports whether the digits d pass the Luhn checksum.
func luhn(d []byte) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i])
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// RedactCardNumbers appends src to dst with the digits of every card
// number in it replaced by '*', and reports whether it replaced any. The
// rest (separators, other text) is kept, so a log line stays readable.
func RedactCardNumbers(dst, src []byte) ([]byte, bool) {
	off := len(dst)
	dst = append(dst, src...)
	out := dst[off:]
	found := false
	for i := 0; i < len(src); i++ {
		if !isDigit(src[i]) || (i > 0 && isDigit(src[i-1])) {
			continue
		}
		end, ok := cardSpanAt(src, i)
		if !ok {
			continue
		}
		found = true
		for k := i; k < end; k++ {
			if isDigit(out[k]) {
				out[k] = '*'
			}
		}
	}
	return dst, found
}
