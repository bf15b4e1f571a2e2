package api

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// SWAR constants: a byte repeated in each of 8 lanes.
const (
	lanes1  = 0x0101010101010101
	lanes80 = 0x8080808080808080
)

// scanString finds the closing quote of the string whose contents start
// at s[i], validating escapes and rejecting control characters. esc
// reports a backslash, high a byte >= 0x80 (UTF-8 to check).
func scanString(s []byte, i int) (end int, esc, high, ok bool) {
	q := bytes.IndexByte(s[i:], '"')
	if q < 0 {
		return 0, false, false, false
	}
	end = i + q
	var bad, hi uint64
	if n := q; n >= 8 {
		j := i
		for ; j+8 <= end; j += 8 {
			x := binary.LittleEndian.Uint64(s[j:])
			b := x ^ (lanes1 * '\\')
			bad |= ((b - lanes1) &^ b) | ((x - lanes1*0x20) &^ x)
			hi |= x
		}
		if j < end {
			x := binary.LittleEndian.Uint64(s[end-8:])
			b := x ^ (lanes1 * '\\')
			bad |= ((b - lanes1) &^ b) | ((x - lanes1*0x20) &^ x)
			hi |= x
		}
	} else if i+8 <= len(s) {
		keep := uint64(1)<<(8*n) - 1
		x := binary.LittleEndian.Uint64(s[i:])&keep | (lanes1*'A')&^keep
		b := x ^ (lanes1 * '\\')
		bad |= ((b - lanes1) &^ b) | ((x - lanes1*0x20) &^ x)
		hi |= x
	} else {
		for _, c := range s[i:end] {
			if c == '\\' || c < 0x20 {
				bad = lanes80
			}
			hi |= uint64(c)
		}
	}
	if bad&lanes80 == 0 {
		return end, false, hi&lanes80 != 0, true
	}
	return scanStringSlow(s, i)
}

// scanStringSlow is scanString for a string with escapes (or control
// characters).
func scanStringSlow(s []byte, i int) (end int, esc, high, ok bool) {
	var hi uint64
	for {
		var h uint64
		i, h = nextSpecial(s, i)
		hi |= h
		if i >= len(s) {
			return 0, false, false, false
		}
		switch c := s[i]; {
		case c == '"':
			return i, esc, hi&lanes80 != 0, true
		case c == '\\':
			n := escapeLen(s, i)
			if n == 0 {
				return 0, false, false, false
			}
			esc = true
			i += n
		default: // a control character
			return 0, false, false, false
		}
	}
}

// nextSpecial returns the index of the first '"', '\\' or control
// character at or after s[i] (len(s) if none) and the OR of the bytes
// before it (their high bits tell whether any is not ASCII). It looks at
// eight bytes at a time.
func nextSpecial(s []byte, i int) (int, uint64) {
	var hi uint64
	for i+8 <= len(s) {
		x := binary.LittleEndian.Uint64(s[i:])
		q := x ^ (lanes1 * '"')
		b := x ^ (lanes1 * '\\')
		// A lane is flagged when it is zero in q or b, or below 0x20 in
		// x; only the lowest flag is exact (borrows), and that is all
		// this needs.
		m := ((q - lanes1) &^ q) | ((b - lanes1) &^ b) | ((x - lanes1*0x20) &^ x)
		if m &= lanes80; m != 0 {
			k := bits.TrailingZeros64(m) >> 3
			return i + k, hi | x&(1<<(8*k)-1)
		}
		hi |= x
		i += 8
	}
	for ; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' || c < 0x20 {
			break
		}
		hi |= uint64(c)
	}
	return i, hi
}

// escapeLen returns the length of the valid escape at s[i] == '\\', or 0.
func escapeLen(s []byte, i int) int {
	if i+1 >= len(s) {
		return 0
	}
	switch s[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if _, ok := hex4(s, i+2); ok {
			return 6
		}
	}
	return 0
}

// hex4 decodes the four hex digits at s[i].
func hex4(s []byte, i int) (rune, bool) {
	if len(s)-i < 4 {
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

// appendUnescaped appends the unescaped contents of a string that
// scanString validated. A \u surrogate that does not pair with a
// following \u low surrogate becomes U+FFFD, as in encoding/json.
func appendUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		j := i
		for j < len(raw) && raw[j] != '\\' {
			j++
		}
		dst = append(dst, raw[i:j]...)
		if j >= len(raw) {
			break
		}
		i = j + 2
		switch raw[j+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(raw, j+2)
			i = j + 6
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if len(raw)-i >= 6 && raw[i] == '\\' && raw[i+1] == 'u' {
					r2, _ = hex4(raw, i+2)
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, raw[j+1])
		}
	}
	return dst
}
