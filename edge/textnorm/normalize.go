// Package textnorm turns text into search words, the same way for every
// index of the edge (autocomplete in edge/suggest, search in edge/search)
// and for the queries they answer: Unicode NFKC compatibility forms, case
// folding, accents removed, punctuation and symbols as separators.
package textnorm

import (
	"errors"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Errors of ParseQuery. The handler turns them into 400 answers.
var (
	ErrInvalidUTF8  = errors.New("is not valid UTF-8")
	ErrQueryTooLong = errors.New("is too long")
	ErrTooManyWords = errors.New("has too many words")
)

// Word is one normalised word: Text[Start:End] of its Normalizer, made from
// the original bytes [OStart, OEnd).
type Word struct {
	Start, End   int32
	OStart, OEnd int32
}

// Normalizer turns text into search words: NFKC compatibility forms, case
// folding, accents removed (NFKD, combining marks dropped), format
// characters (zero-width, bidi controls, soft hyphen) dropped, and every
// other non-letter, non-digit character a separator. Text holds the words
// joined by single spaces. A Normalizer is not safe for concurrent use; its
// slices are overwritten by the next call, so it is reused (pooled) and the
// warm path allocates nothing.
type Normalizer struct {
	Text  []byte
	Words []Word
	ends  []int32 // per Text byte: the original offset after its source rune
	fold  cases.Caser
	dec   []byte
	fbuf  []byte
	dec2  []byte
	open  bool
}

// NewNormalizer returns an empty Normalizer.
func NewNormalizer() *Normalizer {
	return &Normalizer{fold: cases.Fold(), dec: make([]byte, 0, 64), fbuf: make([]byte, 64), dec2: make([]byte, 0, 64)}
}

// ParseQuery normalises a query of at most maxBytes bytes and maxWords words.
func (n *Normalizer) ParseQuery(q string, maxBytes, maxWords int) error {
	if len(q) > maxBytes {
		return ErrQueryTooLong
	}
	if err := n.Normalize(q); err != nil {
		return err
	}
	if len(n.Words) > maxWords {
		return ErrTooManyWords
	}
	return nil
}

// Normalize normalises s into n.Text and n.Words. It fails only on invalid
// UTF-8.
func (n *Normalizer) Normalize(s string) error {
	n.Text, n.Words, n.ends, n.open = n.Text[:0], n.Words[:0], n.ends[:0], false
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
				n.emit(c, i, i+1)
			case c >= 'A' && c <= 'Z':
				n.emit(c+'a'-'A', i, i+1)
			default:
				n.open = false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return ErrInvalidUTF8
		}
		n.slow(s[i:i+size], r, i, i+size)
		i += size
	}
	return nil
}

// NormalizeBytes is Normalize of b without copying it.
func (n *Normalizer) NormalizeBytes(b []byte) error { return n.Normalize(b2s(b)) }

// Word returns the text of word i.
func (n *Normalizer) Word(i int) []byte { w := n.Words[i]; return n.Text[w.Start:w.End] }

// OrigEnd returns the original offset just after the source of Text[pos].
func (n *Normalizer) OrigEnd(pos int32) int32 { return n.ends[pos] }

func (n *Normalizer) slow(src string, r rune, start, end int) {
	before := len(n.Text)
	n.slowRune(src, r, start, end)
	if len(n.Text) == before && n.open {
		// A dropped mark or format character inside a word belongs to it:
		// highlights cover it.
		n.ends[len(n.ends)-1] = int32(end)
		n.Words[len(n.Words)-1].OEnd = int32(end)
	}
}

func (n *Normalizer) slowRune(src string, r rune, start, end int) {
	if unicode.Is(unicode.Cf, r) {
		return // zero-width characters, bidi controls, soft hyphen: dropped
	}
	if !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.IsMark(r) {
		// Symbols, punctuation, spaces and controls separate words, even
		// when their compatibility form has letters ("Insignia™").
		n.open = false
		return
	}
	n.dec = decompose(n.dec[:0], src)
	for j := 0; j < len(n.dec); {
		r1, sz := utf8.DecodeRune(n.dec[j:])
		part := n.dec[j : j+sz]
		j += sz
		if r1 < utf8.RuneSelf {
			n.ascii(part[0], start, end)
			continue
		}
		if unicode.In(r1, unicode.Mn, unicode.Me, unicode.Cf) {
			continue
		}
		n.fold.Reset()
		nDst, _, err := n.fold.Transform(n.fbuf, part, true)
		if err != nil {
			nDst = copy(n.fbuf, part)
		}
		n.dec2 = decompose(n.dec2[:0], b2s(n.fbuf[:nDst]))
		for k := 0; k < len(n.dec2); {
			r2, sz2 := utf8.DecodeRune(n.dec2[k:])
			if r2 < utf8.RuneSelf {
				n.ascii(n.dec2[k], start, end)
			} else if unicode.In(r2, unicode.Mn, unicode.Me, unicode.Cf) {
				// dropped
			} else if unicode.IsLetter(r2) || unicode.IsNumber(r2) || unicode.Is(unicode.Mc, r2) {
				for _, b := range n.dec2[k : k+sz2] {
					n.emit(b, start, end)
				}
			} else {
				n.open = false
			}
			k += sz2
		}
	}
}

func (n *Normalizer) ascii(c byte, start, end int) {
	switch {
	case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
		n.emit(c, start, end)
	case c >= 'A' && c <= 'Z':
		n.emit(c+'a'-'A', start, end)
	default:
		n.open = false
	}
}

func (n *Normalizer) emit(c byte, start, end int) {
	if !n.open {
		if len(n.Text) > 0 {
			n.Text = append(n.Text, ' ')
			n.ends = append(n.ends, int32(start))
		}
		n.Words = append(n.Words, Word{Start: int32(len(n.Text)), OStart: int32(start)})
		n.open = true
	}
	n.Text = append(n.Text, c)
	n.ends = append(n.ends, int32(end))
	w := &n.Words[len(n.Words)-1]
	w.End = int32(len(n.Text))
	w.OEnd = int32(end)
}

// b2s returns b as a string without copying; b must not change while the
// string is in use.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// decompose appends the NFKD decomposition of every character of s to dst
// (Hangul syllables stay composed). Combining marks are not reordered: the
// caller drops them. Unlike norm.Form.Append it never allocates.
func decompose(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		p := norm.NFKD.PropertiesString(s[i:])
		size := p.Size()
		if size == 0 {
			size = 1
		}
		if d := p.Decomposition(); d != nil {
			dst = append(dst, d...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}
