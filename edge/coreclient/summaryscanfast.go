package coreclient

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"shopedge/internal/jsonesc"
	"unicode/utf16"
	"unicode/utf8"
)

// The core's snapshot lines are json.Marshal of a Product with each SKU's
// availability spliced in: no white space and the fields in Product's
// order, optional ones omitted when empty. scanCore decodes exactly that
// layout, matching each key with its neighbouring punctuation in one
// comparison; any other layout goes to goccy (issue 3).

// Keys of the core's layout, with their punctuation.
const (
	kID          = `{"id":`
	kSlug        = `,"slug":`
	kName        = `,"name":`
	kBrand       = `,"brand":`
	kCategories  = `,"categories":[`
	kDescription = `,"description":`
	kImage       = `,"image":`
	kPopularity  = `,"popularity":`
	kAttributes  = `,"attributes":`
	kSKUs        = `,"skus":`
	kSKU         = `{"sku":`
	kPrice       = `,"price":{"amount":`
	kCurrency    = `,"currency":`
	kAvail       = `,"availability":`
)

// at returns s[i:i+n], or nil when s is shorter. Compared with a key
// constant in place (string(at(s, i, len(k))) == k), the comparison
// compiles to a few loads and compares.
func at(s []byte, i, n int) []byte {
	if len(s)-i < n {
		return nil
	}
	return s[i : i+n]
}

// scanCore is scan for the core's layout only: false when s has another
// one (or is malformed), leaving z to be reset by the next scan.
func (z *summaryScan) scanCore(s []byte) bool {
	z.reset()
	if string(at(s, 0, len(kID))) != kID {
		return false
	}
	// One pass rules out control characters, so that a string ends at
	// its first quote not escaped, which bytes.IndexByte finds many bytes
	// at a time; it also tells whether a string may need its UTF-8
	// checked.
	ctl, hi := ctlAndHigh(s)
	if ctl {
		return false
	}
	z.high = hi
	z.bs = -1
	z.nextBackslash(s, 0)
	var ok bool
	i := len(kID)
	if z.id, i, ok = z.cstr(s, i); !ok || string(at(s, i, len(kSlug))) != kSlug {
		return false
	}
	if z.slug, i, ok = z.cstr(s, i+len(kSlug)); !ok || string(at(s, i, len(kName))) != kName {
		return false
	}
	if z.name, i, ok = z.cstr(s, i+len(kName)); !ok {
		return false
	}
	if string(at(s, i, len(kBrand))) == kBrand {
		if z.brand, i, ok = z.cstr(s, i+len(kBrand)); !ok {
			return false
		}
	}
	if string(at(s, i, len(kCategories))) == kCategories {
		if i, ok = z.coreCategories(s, i+len(kCategories)); !ok {
			return false
		}
	}
	if string(at(s, i, len(kDescription))) == kDescription {
		if i, ok = z.cskipString(s, i+len(kDescription)); !ok {
			return false
		}
	}
	if string(at(s, i, len(kImage))) == kImage {
		if z.image, i, ok = z.cstr(s, i+len(kImage)); !ok {
			return false
		}
	}
	if string(at(s, i, len(kPopularity))) != kPopularity {
		return false
	}
	if z.pop, i, ok = intOrNull(s, i+len(kPopularity)); !ok {
		return false
	}
	if string(at(s, i, len(kAttributes))) == kAttributes {
		if i, ok = z.cskipAttributes(s, i+len(kAttributes)); !ok {
			return false
		}
	}
	if string(at(s, i, len(kSKUs))) != kSKUs {
		return false
	}
	if i += len(kSKUs); isNull(s, i) {
		i += 4
	} else if i, ok = z.coreSKUs(s, i); !ok {
		return false
	}
	return i == len(s)-1 && s[i] == '}'
}

// coreCategories decodes the strings after `"categories":[` up to and
// including the closing bracket.
func (z *summaryScan) coreCategories(s []byte, i int) (int, bool) {
	z.hasCats = true
	if i < len(s) && s[i] == ']' {
		return i + 1, true
	}
	for {
		sp, j, ok := z.cstr(s, i)
		if !ok || j >= len(s) {
			return 0, false
		}
		z.cats = append(z.cats, sp)
		switch s[j] {
		case ',':
			i = j + 1
		case ']':
			return j + 1, true
		default:
			return 0, false
		}
	}
}

// coreSKUs decodes the SKU array at s[i] up to and including its
// closing bracket.
func (z *summaryScan) coreSKUs(s []byte, i int) (int, bool) {
	if i >= len(s) || s[i] != '[' {
		return 0, false
	}
	i++
	if i < len(s) && s[i] == ']' {
		return i + 1, true
	}
	for {
		if string(at(s, i, len(kSKU))) != kSKU {
			return 0, false
		}
		z.skus = append(z.skus, skuScan{})
		k := &z.skus[len(z.skus)-1]
		var ok bool
		if k.sku, i, ok = z.cstr(s, i+len(kSKU)); !ok {
			return 0, false
		}
		if string(at(s, i, len(kPrice))) == kPrice {
			k.price = true
			if k.amount, i, ok = intOrNull(s, i+len(kPrice)); !ok || string(at(s, i, len(kCurrency))) != kCurrency {
				return 0, false
			}
			if k.currency, i, ok = z.cstr(s, i+len(kCurrency)); !ok || i >= len(s) || s[i] != '}' {
				return 0, false
			}
			k.currency = z.intern(k.currency, litCurrencies, litCurrencies+3)
			i++
		}
		if string(at(s, i, len(kAttributes))) == kAttributes {
			if i, ok = z.cskipAttributes(s, i+len(kAttributes)); !ok {
				return 0, false
			}
		}
		if string(at(s, i, len(kAvail))) == kAvail {
			if k.avail, i, ok = z.cstr(s, i+len(kAvail)); !ok {
				return 0, false
			}
			k.avail = z.intern(k.avail, litBands, litBands+2)
		}
		if len(s)-i < 2 || s[i] != '}' {
			return 0, false
		}
		switch s[i+1] {
		case ',':
			i += 2
		case ']':
			return i + 2, true
		default:
			return 0, false
		}
	}
}

// nextBackslash sets z.bs to the first backslash at or after s[i] (or
// len(s)) unless z.bs is already there.
func (z *summaryScan) nextBackslash(s []byte, i int) {
	if z.bs >= i {
		return
	}
	if k := bytes.IndexByte(s[i:], '\\'); k >= 0 {
		z.bs = i + k
	} else {
		z.bs = len(s)
	}
}

// cstr is str for scanCore. The line has no control characters, so a
// string ends at its first quote not escaped; its escapes are found from
// z.bs.
func (z *summaryScan) cstr(s []byte, i int) (span, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return span{}, i + 4, isNull(s, i)
	}
	start := int32(len(z.arena))
	j := i + 1
	for {
		k := bytes.IndexByte(s[j:], '"')
		q := j + k
		if k < 0 || z.bs < j { // z.bs < j: BUG, but goccy is right
			return span{}, 0, false
		}
		if q < z.bs {
			z.arena = append(z.arena, s[j:q]...)
			if z.high && !utf8.Valid(s[i+1:q]) {
				return span{}, 0, false // goccy replaces invalid bytes: let it
			}
			return span{start: start, end: int32(len(z.arena))}, q + 1, true
		}
		b := z.bs
		z.arena = append(z.arena, s[j:b]...)
		var ok bool
		if z.arena, j, ok = appendEscape(z.arena, s, b); !ok {
			return span{}, 0, false
		}
		z.nextBackslash(s, j)
	}
}

// cskipString skips the string at s[i] as cstr reads it and returns the
// index after it.
func (z *summaryScan) cskipString(s []byte, i int) (int, bool) {
	if i >= len(s) || s[i] != '"' {
		return 0, false
	}
	j := i + 1
	for {
		k := bytes.IndexByte(s[j:], '"')
		q := j + k
		if k < 0 || z.bs < j { // z.bs < j: BUG, but goccy is right
			return 0, false
		}
		if q < z.bs {
			return q + 1, true
		}
		n := escapeLen(s, z.bs)
		if n == 0 {
			return 0, false
		}
		j = z.bs + n
		z.nextBackslash(s, j)
	}
}

// cskipAttributes skips the value at s[i]: an object of strings as
// json.Marshal writes a map[string]string (anything else goes to goccy).
func (z *summaryScan) cskipAttributes(s []byte, i int) (int, bool) {
	if len(s)-i < 2 || s[i] != '{' {
		return 0, false
	}
	if s[i+1] == '}' {
		return i + 2, true
	}
	i++
	for key := true; ; key = !key {
		if i >= len(s) || s[i] != '"' {
			return 0, false
		}
		q := quoteAfter(s, i+1)
		if q < 0 || z.bs < q { // an escape, or no end: the careful way
			var ok bool
			if q, ok = z.cskipString(s, i); !ok {
				return 0, false
			}
			q-- // the closing quote
		}
		if len(s)-q < 3 {
			return 0, false
		}
		switch c := s[q+1]; {
		case key && c == ':':
		case !key && c == ',':
		case !key && c == '}':
			return q + 2, true
		default:
			return 0, false
		}
		i = q + 2
	}
}

// appendEscape appends the character of the escape at s[b] == '\\' (a
// \u surrogate pair is one character; a \u surrogate not followed by its
// pair is U+FFFD, as in encoding/json) and returns the index after it.
func appendEscape(dst, s []byte, b int) ([]byte, int, bool) {
	n := escapeLen(s, b)
	switch {
	case n == 0:
		return dst, 0, false
	case n == 6:
		if r, _ := jsonesc.Hex4(s, b+2); utf16.IsSurrogate(r) {
			if len(s)-b >= 12 && s[b+6] == '\\' && s[b+7] == 'u' && escapeLen(s, b+6) == 6 {
				r2, _ := jsonesc.Hex4(s, b+8)
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					return utf8.AppendRune(dst, d), b + 12, true
				}
			}
			return utf8.AppendRune(dst, utf8.RuneError), b + 6, true
		}
	}
	return appendUnescaped(dst, s[b:b+n]), b + n, true
}

// ctlAndHigh reports whether s has a control character (a byte < 0x20)
// and whether it has a byte >= 0x80, looking at 32 bytes at a time.
func ctlAndHigh(s []byte) (ctl, high bool) {
	var c, h uint64
	b := s
	for len(b) >= 32 {
		x0 := binary.LittleEndian.Uint64(b)
		x1 := binary.LittleEndian.Uint64(b[8:])
		x2 := binary.LittleEndian.Uint64(b[16:])
		x3 := binary.LittleEndian.Uint64(b[24:])
		// (x - 0x20) &^ x has a lane's top bit set for a lane < 0x20,
		// and (borrows) possibly above it: only when there is one.
		c |= (x0 - lanes1*0x20) &^ x0
		c |= (x1 - lanes1*0x20) &^ x1
		c |= (x2 - lanes1*0x20) &^ x2
		c |= (x3 - lanes1*0x20) &^ x3
		h |= x0 | x1 | x2 | x3
		b = b[32:]
	}
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		c |= (x - lanes1*0x20) &^ x
		h |= x
		b = b[8:]
	}
	for _, x := range b {
		if x < 0x20 {
			c = lanes80
		}
		h |= uint64(x)
	}
	return c&lanes80 != 0, h&lanes80 != 0
}

// quoteAfter returns the index of the first quote at or after s[i], or
// -1, eight bytes at a time: attribute strings are a word or two, too
// short for bytes.IndexByte to pay for its call.
func quoteAfter(s []byte, i int) int {
	for len(s)-i >= 8 {
		x := binary.LittleEndian.Uint64(s[i:]) ^ (lanes1 * '"')
		// The lowest lane flagged is the first zero lane of x.
		if m := (x - lanes1) &^ x & lanes80; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for ; i < len(s); i++ {
		if s[i] == '"' {
			return i
		}
	}
	return -1
}
