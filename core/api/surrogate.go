package api

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Surrogate keys tag cached responses so a purge can drop a whole group:
// every page of a product, a category or a brand. The edge sends them in the
// Surrogate-Key header; purges (on the core, an edge, or a CDN via xkey) name
// them.
//
//	product-{id}           one product's JSON and HTML
//	category-{token}       every product in a category (any level of the path)
//	brand-{token}          every product of a brand
//
// token is KeyToken of the display name.

// ProductKey returns the surrogate key of product id.
func ProductKey(id string) string { return "product-" + id }

// CategoryKey returns the surrogate key of a category name.
func CategoryKey(name string) string { return "category-" + KeyToken(name) }

// BrandKey returns the surrogate key of a brand name.
func BrandKey(name string) string { return "brand-" + KeyToken(name) }

// SurrogateKeys returns the keys of p: its product key, one per category of
// its path, and its brand key (when it has a brand).
func SurrogateKeys(p *Product) []string {
	keys := make([]string, 0, 2+len(p.Categories))
	keys = append(keys, ProductKey(p.ID))
	for _, c := range p.Categories {
		keys = append(keys, CategoryKey(c))
	}
	if p.Brand != "" {
		keys = append(keys, BrandKey(p.Brand))
	}
	return keys
}

// KeyToken folds s to lower-case ASCII words joined by '-', trimming
// dashes at both ends: "Car Electronics & GPS" → "car-electronics-gps",
// "Crème Brûlée" → "creme-brulee". Keys and slugs are header- and
// URL-safe. See appendToken for the folding.
func KeyToken(s string) string {
	return string(appendToken(make([]byte, 0, len(s)), s, len(s)*3))
}

// Slug returns a product's URL slug: KeyToken of name (at most 80 bytes),
// then "-" and id, so slugs are unique when ids are; the id alone when the
// name has no letter or digit that folds to ASCII.
func Slug(name, id string) string {
	return string(AppendSlug(make([]byte, 0, 82+len(id)), name, id))
}

// maxSlugName bounds the part of a slug made from the product's name.
const maxSlugName = 80

// AppendSlug appends Slug(name, id) to dst.
func AppendSlug(dst []byte, name, id string) []byte {
	start := len(dst)
	dst = appendToken(dst, name, maxSlugName)
	if len(dst) > start {
		dst = append(dst, '-')
	}
	return append(dst, id...)
}

// appendToken appends s folded to [a-z0-9] words joined by single '-'
// (none leading or trailing), at most max bytes. The folding is the
// search normaliser's (edge/textnorm) narrowed to ASCII: letters and
// digits are taken in their compatibility decomposition (NFKD) with the
// accents dropped and ASCII letters lower-cased ("É" → "e", "ﬁ" → "fi",
// "²" → "2"), a few letters without a decomposition spelled out ("ß" →
// "ss", "æ" → "ae", "ø" → "o", "ł" → "l"); every other character
// (punctuation, symbols such as "™", letters of other scripts) separates
// words, and a combining mark is dropped without separating.
func appendToken(dst []byte, s string, max int) []byte {
	w := tokenWriter{dst: dst, start: len(dst), max: max}
	for i := 0; i < len(s) && !w.full(); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			w.rune(r, s[i:i+size])
			i += size
			continue
		}
		w.ascii(c)
		i++
	}
	return w.dst
}

// tokenWriter appends the words of appendToken.
type tokenWriter struct {
	dst        []byte
	start, max int
	dash       bool // a separator is pending
}

func (w *tokenWriter) full() bool { return len(w.dst)-w.start >= w.max }

// ascii appends c lower-cased when it is a letter or digit, else marks a
// separator.
func (w *tokenWriter) ascii(c byte) {
	switch {
	case c >= 'A' && c <= 'Z':
		c += 'a' - 'A'
	case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
	default:
		w.dash = true
		return
	}
	if w.dash && len(w.dst) > w.start {
		w.dst = append(w.dst, '-')
	}
	w.dash = false
	w.dst = append(w.dst, c)
}

// rune appends the ASCII folding of r (its bytes rs).
func (w *tokenWriter) rune(r rune, rs string) {
	switch {
	case unicode.Is(unicode.Mn, r):
		return // a combining accent: part of the letter before it
	case !unicode.IsLetter(r) && !unicode.IsNumber(r):
		w.dash = true
		return
	}
	folded := spelled[r]
	if folded == "" {
		folded = norm.NFKD.String(rs)
	}
	n := len(w.dst)
	for _, fr := range folded {
		switch {
		case w.full():
		case fr < utf8.RuneSelf:
			w.ascii(byte(fr)) // "½" is "1⁄2": the fraction slash separates
		case !unicode.Is(unicode.Mn, fr):
			w.dash = true
		}
	}
	if len(w.dst) == n {
		w.dash = true // nothing ASCII in it: another script
	}
}

// spelled are the Latin letters NFKD leaves whole, as ASCII.
var spelled = map[rune]string{
	'ß': "ss", 'ẞ': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'ø': "o", 'Ø': "o",
	'đ': "d", 'Đ': "d", 'ð': "d", 'Ð': "d", 'ł': "l", 'Ł': "l", 'þ': "th", 'Þ': "th", 'ı': "i", 'ħ': "h", 'Ħ': "h",
}
