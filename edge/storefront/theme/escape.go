package theme

import (
	"net/url"
	"strings"
)

// AppendText appends s to dst escaped for HTML text and for a
// double-quoted attribute value: & < > " ' become character references,
// and NUL bytes are dropped. Invalid UTF-8 is kept as is (browsers replace
// it; it can open no markup).
func AppendText(dst []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		case 0:
			esc = ""
		default:
			continue
		}
		dst = append(dst, s[last:i]...)
		dst = append(dst, esc...)
		last = i + 1
	}
	return append(dst, s[last:]...)
}

// Escape returns s escaped as AppendText does.
func Escape(s string) string { return string(AppendText(nil, s)) }

// SafeURL returns u when it is safe in an href or src attribute: an
// absolute http(s) URL, a protocol-relative one, or a path on this site.
// Anything else (javascript:, data:, malformed) returns "".
func SafeURL(u string) string {
	if u == "" || len(u) > 2048 {
		return ""
	}
	for i := 0; i < len(u); i++ {
		if c := u[i]; c < 0x20 || c == 0x7f || c == ' ' {
			return ""
		}
	}
	if strings.HasPrefix(u, "/") {
		return u
	}
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return ""
	}
	switch strings.ToLower(p.Scheme) {
	case "http", "https":
		return u
	}
	return ""
}
