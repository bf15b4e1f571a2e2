package suggest

import (
	"unsafe"

	"shopedge/edge/textnorm"
)

// The normaliser is shared with the search index (edge/textnorm), so a
// query finds the same words in both.
type (
	// Normalizer is textnorm.Normalizer.
	Normalizer = textnorm.Normalizer
	// Word is textnorm.Word.
	Word = textnorm.Word
)

// Errors of ParseQuery (textnorm's). The handler turns them into 400
// answers.
var (
	ErrInvalidUTF8  = textnorm.ErrInvalidUTF8
	ErrQueryTooLong = textnorm.ErrQueryTooLong
	ErrTooManyWords = textnorm.ErrTooManyWords
)

// NewNormalizer returns an empty Normalizer.
func NewNormalizer() *Normalizer { return textnorm.NewNormalizer() }

// b2s returns b as a string without copying; b must not change while the
// string is in use.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// s2b returns s as a byte slice without copying; it must not be written.
func s2b(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// capLen returns the byte length of the first max characters of w.
func capLen(w []byte, max int) int {
	if len(w) <= max {
		return len(w)
	}
	n := 0
	for i := range len(w) {
		if w[i]&0xC0 != 0x80 {
			if n == max {
				return i
			}
			n++
		}
	}
	return len(w)
}
