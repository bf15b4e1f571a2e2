package coreclient

import "shopedge/core/api"

// summaryScan decodes a product line's summary fields (see
// productSummary) when the line has the core's snapshot layout exactly
// (see scanCore), as goccy/go-json (encoding/json semantics) would decode
// them: valid UTF-8 in the decoded strings, integers of at most 18
// digits. For any other line scan reports false and the caller decodes
// it with goccy: the scanner never guesses (issue 3: it decodes a line in
// a fraction of goccy's CPU and allocations). There is no second,
// general scanner: the core writes only this layout (issue 16).
//
// The decoded strings' bytes go to arena; the fields are spans of it (or
// interned literals), turned into strings by the caller once per line.
// A summaryScan is reused line after line by one goroutine.
type summaryScan struct {
	arena                        []byte
	id, slug, name, brand, image span
	pop                          int64
	cats                         []span
	hasCats                      bool // categories given as an array (even empty)
	skus                         []skuScan
	// scanCore's state: the index of the next backslash (or len(s)), and
	// whether the line has bytes >= 0x80.
	bs   int
	high bool
}

// span is a decoded string: arena[start:end], or when start < 0 the
// interned literal -start-1 (see literal). It holds no pointer, so
// storing one costs no write barrier.
type span struct {
	start, end int32
}

// in returns the span's string given the line's arena as a string.
func (sp span) in(arena string) string {
	if sp.start < 0 {
		return literal(-sp.start - 1)
	}
	return arena[sp.start:sp.end]
}

// Interned literals: the availability bands and common currencies, which
// most SKUs share, cost no bytes of the line's string.
const (
	litBands      = 0 // api.InStock, api.LowStock, api.OutOfStock
	litCurrencies = 3 // USD, EUR, GBP, CAD
)

func literal(k int32) string {
	switch k {
	case 0:
		return api.InStock
	case 1:
		return api.LowStock
	case 2:
		return api.OutOfStock
	case 3:
		return "USD"
	case 4:
		return "EUR"
	case 5:
		return "GBP"
	case 6:
		return "CAD"
	}
	return ""
}

// intern returns sp as an interned literal of [first, last] when its
// bytes (the arena's last) are one, dropping them from the arena.
func (z *summaryScan) intern(sp span, first, last int32) span {
	if sp.start < 0 || sp.end != int32(len(z.arena)) {
		return sp
	}
	k := int32(-1)
	switch b := z.arena[sp.start:sp.end]; string(b) {
	case api.InStock:
		k = 0
	case api.LowStock:
		k = 1
	case api.OutOfStock:
		k = 2
	case "USD":
		k = 3
	case "EUR":
		k = 4
	case "GBP":
		k = 5
	case "CAD":
		k = 6
	}
	if k < first || k > last {
		return sp
	}
	z.arena = z.arena[:sp.start]
	return span{start: -k - 1}
}

// skuScan is one decoded SKU.
type skuScan struct {
	sku, avail, currency span
	amount               int64
	price                bool // a price object was given (possibly empty)
}

// scan decodes line into z and reports whether it could: only a line
// in the core's layout (see scanCore) is taken; goccy decodes the rest.
func (z *summaryScan) scan(s []byte) bool {
	return z.scanCore(s)
}

func (z *summaryScan) reset() {
	z.arena, z.cats, z.skus = z.arena[:0], z.cats[:0], z.skus[:0]
	z.id, z.slug, z.name, z.brand, z.image = span{}, span{}, span{}, span{}, span{}
	z.pop, z.hasCats = 0, false
}

func isNull(s []byte, i int) bool {
	return len(s)-i >= 4 && string(s[i:i+4]) == "null"
}

// intOrNull decodes an integer of at most 18 digits (or null: 0) at
// s[i]. A fraction or exponent, which goccy rejects for an int64, and
// longer numbers are not accepted.
func intOrNull(s []byte, i int) (int64, int, bool) {
	if i >= len(s) {
		return 0, 0, false
	}
	neg := s[i] == '-'
	if neg {
		i++
	} else if s[i] == 'n' {
		return 0, i + 4, isNull(s, i)
	}
	var v int64
	j := i
	for ; j < len(s); j++ {
		d := s[j] - '0'
		if d > 9 {
			break
		}
		v = v*10 + int64(d)
	}
	switch n := j - i; {
	case n == 0 || n > 18 || n > 1 && s[i] == '0':
		return 0, 0, false // not a number, too long, or a leading zero
	case j < len(s) && (s[j] == '.' || s[j] == 'e' || s[j] == 'E'):
		return 0, 0, false // a fraction or exponent
	}
	if neg {
		v = -v
	}
	return v, j, true
}
