package search

import (
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Word forms: a query word matches a product word when they are equal,
// when the product word starts with it (the query's last word only), or
// when they share a stem. stems is a light English plural folding, for
// words of ASCII letters only: "phones" and "phone" share "phone",
// "batteries" and "battery" share "battery", "lenses" and "lens" share
// "lens", "watches" and "watch" share "watch". It over-matches a little
// ("news" and "new") and never under-matches a plural and its singular.

// minStemmed is the shortest word that has stems besides itself.
const minStemmed = 3

// stems appends the stems of w (w itself first) to dst.
func stems(dst []string, w string) []string {
	dst = append(dst, w)
	if len(w) < minStemmed || !asciiLetters(w) || w[len(w)-1] != 's' || strings.HasSuffix(w, "ss") {
		return dst
	}
	add := func(s string) {
		if len(s) >= 2 {
			dst = append(dst, s)
		}
	}
	add(w[:len(w)-1])
	if strings.HasSuffix(w, "es") {
		add(w[:len(w)-2])
	}
	if strings.HasSuffix(w, "ies") && len(w) > 4 {
		add(w[:len(w)-3] + "y")
	}
	return dst
}

func asciiLetters(w string) bool {
	for i := 0; i < len(w); i++ {
		if c := w[i]; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// shareStem reports whether a and b have a stem in common.
func shareStem(a, b string) bool {
	var sa, sb [4]string
	for _, x := range stems(sa[:0], a) {
		for _, y := range stems(sb[:0], b) {
			if x == y {
				return true
			}
		}
	}
	return false
}

// oneEdit reports whether a and b differ by exactly one deletion,
// insertion, substitution or transposition of adjacent characters.
func oneEdit(a, b string) bool {
	if a == b {
		return false
	}
	ra, rb := []rune(a), []rune(b)
	if len(ra) < len(rb) {
		ra, rb = rb, ra
	}
	i := 0
	for i < len(rb) && ra[i] == rb[i] {
		i++
	}
	switch len(ra) - len(rb) {
	case 0:
		if string(ra[i+1:]) == string(rb[i+1:]) {
			return true
		}
		return i+1 < len(ra) && ra[i] == rb[i+1] && ra[i+1] == rb[i] && string(ra[i+2:]) == string(rb[i+2:])
	case 1:
		return string(ra[i+1:]) == string(rb[i:])
	}
	return false
}

// b2s returns b as a string without copying; b must not change while the
// string is in use.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// runes returns the number of characters of w.
func runes(w string) int { return utf8.RuneCountInString(w) }
