// Package jsonesc holds the two pieces of JSON string escapes that the
// hand-written scanners share (the edge's snapshot scanner and the card
// screen): decoding \uXXXX digits and the one-letter control escapes.
// Each caller keeps its own policy for invalid escapes.
package jsonesc

// Hex4 decodes the four hex digits at s[i:]; false when fewer than four
// bytes remain or one is not a hex digit.
func Hex4(s []byte, i int) (rune, bool) {
	if i < 0 || len(s)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// Control returns the byte a one-letter control escape (\b \f \n \r \t)
// stands for; false for any other letter.
func Control(c byte) (byte, bool) {
	switch c {
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}
