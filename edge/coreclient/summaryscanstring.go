package coreclient

import (
	"shopedge/internal/jsonesc"
	"unicode/utf16"
	"unicode/utf8"
)

// SWAR constants: a byte repeated in each of 8 lanes.
const (
	lanes1  = 0x0101010101010101
	lanes80 = 0x8080808080808080
)

// escapeLen returns the length of the valid escape at s[i] == '\\', or 0.
func escapeLen(s []byte, i int) int {
	if i+1 >= len(s) {
		return 0
	}
	switch s[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if _, ok := jsonesc.Hex4(s, i+2); ok {
			return 6
		}
	}
	return 0
}

// appendUnescaped appends the unescaped contents of a string whose
// escapes are valid (see escapeLen). A \u surrogate that does not pair with a
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
		if b, ok := jsonesc.Control(raw[j+1]); ok {
			dst = append(dst, b)
			continue
		}
		switch raw[j+1] {
		case 'u':
			r, _ := jsonesc.Hex4(raw, j+2)
			i = j + 6
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if len(raw)-i >= 6 && raw[i] == '\\' && raw[i+1] == 'u' {
					r2, _ = jsonesc.Hex4(raw, i+2)
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
