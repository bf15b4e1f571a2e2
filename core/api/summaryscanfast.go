package api

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// The core's snapshot lines are json.Marshal of a Product with each SKU's
// availability spliced in: no white space and the fields in Product's
// order, optional ones omitted when empty. scanCore decodes exactly that
// layout, matching each key with its neighbouring punctuation in one
// comparison; any other layout goes to the general scan (issue 3).

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

// has reports whether s[i:] starts with l.
func has(s []byte, i int, l string) bool {
	return len(s)-i >= len(l) && string(s[i:i+len(l)]) == l
}

// scanCore is scan for the core's layout only: false when s has another
// one (or is malformed), leaving z to be reset by the next scan.
func (z *summaryScan) scanCore(s []byte) bool {
	z.reset()
	if !has(s, 0, kID) {
		return false
	}
	z.bs = -1
	z.nextBackslash(s, 0)
	var ok bool
	i := len(kID)
	if z.id, i, ok = z.cstr(s, i); !ok || !has(s, i, kSlug) {
		return false
	}
	if z.slug, i, ok = z.cstr(s, i+len(kSlug)); !ok || !has(s, i, kName) {
		return false
	}
	if z.name, i, ok = z.cstr(s, i+len(kName)); !ok {
		return false
	}
	if has(s, i, kBrand) {
		if z.brand, i, ok = z.cstr(s, i+len(kBrand)); !ok {
			return false
		}
	}
	if has(s, i, kCategories) {
		if i, ok = z.coreCategories(s, i+len(kCategories)); !ok {
			return false
		}
	}
	if has(s, i, kDescription) {
		if i, ok = z.cskipString(s, i+len(kDescription)); !ok {
			return false
		}
	}
	if has(s, i, kImage) {
		if z.image, i, ok = z.cstr(s, i+len(kImage)); !ok {
			return false
		}
	}
	if !has(s, i, kPopularity) {
		return false
	}
	if z.pop, i, ok = intOrNull(s, i+len(kPopularity)); !ok {
		return false
	}
	if has(s, i, kAttributes) {
		if i, ok = z.cskipAttributes(s, i+len(kAttributes)); !ok {
			return false
		}
	}
	if !has(s, i, kSKUs) {
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
		if !has(s, i, kSKU) {
			return 0, false
		}
		z.skus = append(z.skus, skuScan{})
		k := &z.skus[len(z.skus)-1]
		var ok bool
		if k.sku, i, ok = z.cstr(s, i+len(kSKU)); !ok {
			return 0, false
		}
		if has(s, i, kPrice) {
			k.price = true
			if k.amount, i, ok = intOrNull(s, i+len(kPrice)); !ok || !has(s, i, kCurrency) {
				return 0, false
			}
			if k.currency, i, ok = z.cstr(s, i+len(kCurrency)); !ok || i >= len(s) || s[i] != '}' {
				return 0, false
			}
			k.currency = z.intern(k.currency, "USD", "EUR", "GBP", "CAD", "JPY", "CHF", "AUD", "SEK", "PLN", "CNY")
			i++
		}
		if has(s, i, kAttributes) {
			if i, ok = z.cskipAttributes(s, i+len(kAttributes)); !ok {
				return 0, false
			}
		}
		if has(s, i, kAvail) {
			if k.avail, i, ok = z.cstr(s, i+len(kAvail)); !ok {
				return 0, false
			}
			k.avail = z.intern(k.avail, InStock, LowStock, OutOfStock)
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

// cstr is str for scanCore: a string that ends before z.bs has no
// escapes, so it ends at its first quote, unless a control character
// (invalid) comes first.
func (z *summaryScan) cstr(s []byte, i int) (span, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return span{}, i + 4, isNull(s, i)
	}
	end, hi := quoteOrCtl(s, i+1)
	if z.bs < end {
		sp, j, ok := z.str(s, i)
		if ok {
			z.nextBackslash(s, j)
		}
		return sp, j, ok
	}
	if end >= len(s) || s[end] != '"' {
		return span{}, 0, false
	}
	raw := s[i+1 : end]
	if hi&lanes80 != 0 && !utf8.Valid(raw) {
		return span{}, 0, false
	}
	start := int32(len(z.arena))
	z.arena = append(z.arena, raw...)
	return span{start: start, end: int32(len(z.arena))}, end + 1, true
}

// cskipString skips the string at s[i] as cstr would read it.
func (z *summaryScan) cskipString(s []byte, i int) (int, bool) {
	if i >= len(s) || s[i] != '"' {
		return 0, false
	}
	end, _ := quoteOrCtl(s, i+1)
	if z.bs < end {
		end, _, _, ok := scanString(s, i+1)
		if ok {
			z.nextBackslash(s, end+1)
		}
		return end + 1, ok
	}
	return end + 1, end < len(s) && s[end] == '"'
}

// cskipAttributes skips the value at s[i]: an object of strings as
// json.Marshal writes a map[string]string, or any value by skipValue.
func (z *summaryScan) cskipAttributes(s []byte, i int) (int, bool) {
	if j, ok := z.cskipStringMap(s, i); ok {
		return j, true
	}
	j, ok := skipValue(s, i, 0)
	if ok {
		z.nextBackslash(s, j)
	}
	return j, ok
}

func (z *summaryScan) cskipStringMap(s []byte, i int) (int, bool) {
	if i >= len(s) || s[i] != '{' {
		return 0, false
	}
	i++
	if i < len(s) && s[i] == '}' {
		return i + 1, true
	}
	for {
		var ok bool
		if i, ok = z.cskipString(s, i); !ok || i >= len(s) || s[i] != ':' {
			return 0, false
		}
		if i, ok = z.cskipString(s, i+1); !ok || i >= len(s) {
			return 0, false
		}
		switch s[i] {
		case ',':
			i++
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// quoteOrCtl returns the index of the first '"' or control character at
// or after s[i] (len(s) if none) and the OR of the bytes before it (their
// high bits tell whether any is not ASCII), eight bytes at a time.
func quoteOrCtl(s []byte, i int) (int, uint64) {
	var hi uint64
	for i+8 <= len(s) {
		x := binary.LittleEndian.Uint64(s[i:])
		q := x ^ (lanes1 * '"')
		// Only the lowest flagged lane is exact (borrows): enough here.
		if m := ((q - lanes1) &^ q) | ((x - lanes1*0x20) &^ x); m&lanes80 != 0 {
			k := bits.TrailingZeros64(m&lanes80) >> 3
			return i + k, hi | x&(1<<(8*k)-1)
		}
		hi |= x
		i += 8
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == '"' || c < 0x20 {
			break
		}
		hi |= uint64(s[i])
	}
	return i, hi
}
