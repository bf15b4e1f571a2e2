package api

import (
	"bytes"
	"shopedge/internal/jsonesc"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// ContainsCardNumberText is ContainsCardNumber for decoded text: a Unicode
// decimal digit (fullwidth ４, Arabic-Indic ٤, …) counts as the ASCII
// digit it stands for. ASCII input costs what ContainsCardNumber costs.
func ContainsCardNumberText(b []byte) bool {
	if ContainsCardNumber(b) {
		return true
	}
	if !hasNonASCII(b) {
		return false
	}
	var buf [256]byte
	return ContainsCardNumber(asciiDigits(buf[:0], b))
}

func hasNonASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// asciiDigits appends b to dst with every non-ASCII Unicode decimal digit
// replaced by its ASCII digit and every other non-ASCII character by '~'
// (which ends a run, as a letter does).
func asciiDigits(dst, b []byte) []byte {
	for len(b) > 0 {
		c := b[0]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			b = b[1:]
			continue
		}
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		if d, ok := digitValue(r); ok {
			dst = append(dst, '0'+d)
		} else {
			dst = append(dst, '~')
		}
	}
	return dst
}

// digitValue returns the value of the Unicode decimal digit r. Unicode
// encodes decimal digits (category Nd) in runs of ten consecutive code
// points from zero to nine, so the value is the offset in its run.
func digitValue(r rune) (byte, bool) {
	if r < utf8.RuneSelf {
		if r >= '0' && r <= '9' {
			return byte(r - '0'), true
		}
		return 0, false
	}
	if !unicode.Is(unicode.Nd, r) {
		return 0, false
	}
	for _, rg := range unicode.Nd.R16 {
		if lo, hi := rune(rg.Lo), rune(rg.Hi); r >= lo && r <= hi {
			return byte((r - lo) % 10), true
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if lo, hi := rune(rg.Lo), rune(rg.Hi); r >= lo && r <= hi {
			return byte((r - lo) % 10), true
		}
	}
	return 0, false
}

// ContainsCardDataJSON reports whether a JSON body carries a card number:
// in its raw bytes (numbers, plain strings) or in a string once its
// escapes (\u0034, \/…) are decoded. The body need not be valid JSON;
// whatever is between double quotes is decoded as a string.
func ContainsCardDataJSON(body []byte) bool {
	if ContainsCardNumberText(body) {
		return true
	}
	if bytes.IndexByte(body, '\\') < 0 {
		return false
	}
	var buf [512]byte
	for i := 0; i < len(body); i++ {
		if body[i] != '"' {
			continue
		}
		j, escaped := i+1, false
		for j < len(body) && body[j] != '"' {
			if body[j] == '\\' {
				escaped = true
				j++
			}
			j++
		}
		end := min(j, len(body))
		if escaped && ContainsCardNumberText(unescapeJSON(buf[:0], body[i+1:end])) {
			return true
		}
		i = end
	}
	return false
}

// unescapeJSON appends the JSON string body s (without its quotes) to dst
// with its escapes decoded; a malformed escape is kept as written.
func unescapeJSON(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			dst = append(dst, c)
			continue
		}
		i++
		if b, ok := jsonesc.Control(s[i]); ok {
			dst = append(dst, b)
			continue
		}
		switch s[i] {
		case 'u':
			r, ok := jsonesc.Hex4(s, i+1)
			if !ok {
				dst = append(dst, '\\', 'u')
				continue
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := jsonesc.Hex4(s, i+3); ok && s[i+1] == '\\' && s[i+2] == 'u' {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 6
					}
				}
			}
			dst = utf8.AppendRune(dst, r)
		default: // \" \\ \/ and anything else: the character itself
			dst = append(dst, s[i])
		}
	}
	return dst
}

// ContainsCardDataArgs reports whether a decoded key or value of args
// (a query string: percent-escapes and '+' already decoded) carries a
// card number.
func ContainsCardDataArgs(args *fasthttp.Args) bool {
	for k, v := range args.All() {
		if ContainsCardNumberText(k) || ContainsCardNumberText(v) {
			return true
		}
	}
	return false
}

// CardDataIn returns the part of req that carries a card number ("path",
// "query", "header", "body"), or "" when none does. It screens the
// path (decoded and as sent), the query string (as sent, and every
// decoded key and value), every header, and the body as JSON (see ContainsCardDataJSON).
// It never returns the value found, so the answer can be logged.
func CardDataIn(req *fasthttp.Request) string {
	u := req.URI()
	if ContainsCardNumberText(u.Path()) || ContainsCardNumber(u.PathOriginal()) {
		return "path"
	}
	if ContainsCardNumber(u.QueryString()) || ContainsCardDataArgs(u.QueryArgs()) {
		return "query"
	}
	for k, v := range req.Header.All() {
		if ContainsCardNumberText(k) || ContainsCardNumberText(v) {
			return "header"
		}
	}
	if ContainsCardDataJSON(req.Body()) {
		return "body"
	}
	return ""
}
