package api

import "unicode/utf8"

// summaryScan is a hand-written decoder of a product line's summary
// fields (see productSummary). It accepts only what it can decode exactly
// as goccy/go-json (encoding/json semantics) does: strictly valid JSON, an
// object at the top, known fields of the expected types or null, unknown
// keys that are plain ASCII and match no field case-insensitively, no
// duplicate field, valid UTF-8 in the decoded strings, integers of at
// most 18 digits, skipped values nested at most maxSkipDepth deep. For
// anything else scan reports false and the caller decodes the line with
// goccy: the scanner never guesses (issue 3: it decodes a line in a
// fraction of goccy's CPU and allocations).
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
	litBands      = 0 // InStock, LowStock, OutOfStock
	litCurrencies = 3 // USD, EUR, GBP, CAD
)

func literal(k int32) string {
	switch k {
	case 0:
		return InStock
	case 1:
		return LowStock
	case 2:
		return OutOfStock
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
	case InStock:
		k = 0
	case LowStock:
		k = 1
	case OutOfStock:
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

// maxSkipDepth bounds the nesting of skipped values; deeper lines go to
// goccy.
const maxSkipDepth = 64

// Product field bits, for duplicate detection.
const (
	fID = 1 << iota
	fSlug
	fName
	fBrand
	fCategories
	fImage
	fPopularity
	fSKUs
)

// scan decodes line into z and reports whether it could.
func (z *summaryScan) scan(s []byte) bool {
	if z.scanCore(s) {
		return true
	}
	z.reset()
	i := skipWS(s, 0)
	if i >= len(s) || s[i] != '{' {
		return false
	}
	i, ok := z.product(s, i)
	return ok && skipWS(s, i) == len(s)
}

func (z *summaryScan) reset() {
	z.arena, z.cats, z.skus = z.arena[:0], z.cats[:0], z.skus[:0]
	z.id, z.slug, z.name, z.brand, z.image = span{}, span{}, span{}, span{}, span{}
	z.pop, z.hasCats = 0, false
}

// product decodes the object at s[i] == '{'.
func (z *summaryScan) product(s []byte, i int) (int, bool) {
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == '}' {
		return i + 1, true
	}
	seen := 0
	for {
		key, j, ok := scanKey(s, i)
		if !ok {
			return 0, false
		}
		f := 0
		switch string(key) {
		case "id":
			f = fID
			z.id, j, ok = z.str(s, j)
		case "slug":
			f = fSlug
			z.slug, j, ok = z.str(s, j)
		case "name":
			f = fName
			z.name, j, ok = z.str(s, j)
		case "brand":
			f = fBrand
			z.brand, j, ok = z.str(s, j)
		case "image":
			f = fImage
			z.image, j, ok = z.str(s, j)
		case "categories":
			f = fCategories
			j, ok = z.categories(s, j)
		case "popularity":
			f = fPopularity
			z.pop, j, ok = intOrNull(s, j)
		case "skus":
			f = fSKUs
			j, ok = z.skuList(s, j)
		default:
			if foldsTo(key, "id", "slug", "name", "brand", "categories", "image", "popularity", "skus") {
				return 0, false
			}
			j, ok = skipValue(s, j, 0)
		}
		if !ok || seen&f != 0 {
			return 0, false
		}
		seen |= f
		if i, ok = nextMember(s, j); !ok {
			return 0, false
		}
		if s[i] == '}' {
			return i + 1, true
		}
		i = skipWS(s, i+1)
	}
}

// categories decodes an array of strings (null elements are "") or null.
func (z *summaryScan) categories(s []byte, i int) (int, bool) {
	if isNull(s, i) {
		return i + 4, true
	}
	if s[i] != '[' {
		return 0, false
	}
	z.hasCats = true
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == ']' {
		return i + 1, true
	}
	for {
		sp, j, ok := z.str(s, i)
		if !ok {
			return 0, false
		}
		z.cats = append(z.cats, sp)
		if i, ok = nextElem(s, j); !ok {
			return 0, false
		}
		if s[i] == ']' {
			return i + 1, true
		}
		i = skipWS(s, i+1)
	}
}

// skuList decodes an array of SKU objects (null elements are zero SKUs)
// or null.
func (z *summaryScan) skuList(s []byte, i int) (int, bool) {
	if isNull(s, i) {
		return i + 4, true
	}
	if s[i] != '[' {
		return 0, false
	}
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == ']' {
		return i + 1, true
	}
	for {
		z.skus = append(z.skus, skuScan{})
		var ok bool
		j := i + 4
		if !isNull(s, i) {
			if i >= len(s) || s[i] != '{' {
				return 0, false
			}
			if j, ok = z.sku(s, i, &z.skus[len(z.skus)-1]); !ok {
				return 0, false
			}
		}
		if i, ok = nextElem(s, j); !ok {
			return 0, false
		}
		if s[i] == ']' {
			return i + 1, true
		}
		i = skipWS(s, i+1)
	}
}

// sku decodes the object at s[i] == '{' into k.
func (z *summaryScan) sku(s []byte, i int, k *skuScan) (int, bool) {
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == '}' {
		return i + 1, true
	}
	seen := 0
	for {
		key, j, ok := scanKey(s, i)
		if !ok {
			return 0, false
		}
		f := 0
		switch string(key) {
		case "sku":
			f = 1
			k.sku, j, ok = z.str(s, j)
		case "price":
			f = 2
			j, ok = z.price(s, j, k)
		case "availability":
			f = 4
			k.avail, j, ok = z.str(s, j)
			k.avail = z.intern(k.avail, litBands, litBands+2)
		default:
			if foldsTo(key, "sku", "price", "availability") {
				return 0, false
			}
			j, ok = skipValue(s, j, 0)
		}
		if !ok || seen&f != 0 {
			return 0, false
		}
		seen |= f
		if i, ok = nextMember(s, j); !ok {
			return 0, false
		}
		if s[i] == '}' {
			return i + 1, true
		}
		i = skipWS(s, i+1)
	}
}

// price decodes a Money object or null into k.
func (z *summaryScan) price(s []byte, i int, k *skuScan) (int, bool) {
	if isNull(s, i) {
		return i + 4, true
	}
	if s[i] != '{' {
		return 0, false
	}
	k.price = true
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == '}' {
		return i + 1, true
	}
	seen := 0
	for {
		key, j, ok := scanKey(s, i)
		if !ok {
			return 0, false
		}
		f := 0
		switch string(key) {
		case "amount":
			f = 1
			k.amount, j, ok = intOrNull(s, j)
		case "currency":
			f = 2
			k.currency, j, ok = z.str(s, j)
			k.currency = z.intern(k.currency, litCurrencies, litCurrencies+3)
		default:
			if foldsTo(key, "amount", "currency") {
				return 0, false
			}
			j, ok = skipValue(s, j, 0)
		}
		if !ok || seen&f != 0 {
			return 0, false
		}
		seen |= f
		if i, ok = nextMember(s, j); !ok {
			return 0, false
		}
		if s[i] == '}' {
			return i + 1, true
		}
		i = skipWS(s, i+1)
	}
}

// str decodes the string (or null: "") at s[i] into the arena.
func (z *summaryScan) str(s []byte, i int) (span, int, bool) {
	if i >= len(s) {
		return span{}, 0, false
	}
	if s[i] != '"' {
		return span{}, i + 4, isNull(s, i)
	}
	end, esc, high, ok := scanString(s, i+1)
	if !ok {
		return span{}, 0, false
	}
	raw := s[i+1 : end]
	if high && !utf8.Valid(raw) {
		return span{}, 0, false // goccy replaces invalid bytes: let it
	}
	start := int32(len(z.arena))
	if esc {
		z.arena = appendUnescaped(z.arena, raw)
	} else {
		z.arena = append(z.arena, raw...)
	}
	return span{start: start, end: int32(len(z.arena))}, end + 1, true
}

// foldsTo reports whether key equals one of names (lower-case ASCII)
// ignoring ASCII case.
// Keys reaching it are ASCII, so this is exactly the field matching of
// encoding/json and goccy.
func foldsTo(key []byte, names ...string) bool {
	for _, n := range names {
		if len(key) != len(n) {
			continue
		}
		i := 0
		for ; i < len(n); i++ {
			c := key[i]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != n[i] {
				break
			}
		}
		if i == len(n) {
			return true
		}
	}
	return false
}

func isNull(s []byte, i int) bool {
	return len(s)-i >= 4 && string(s[i:i+4]) == "null"
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipWS(s []byte, i int) int {
	for i < len(s) && isWS(s[i]) {
		i++
	}
	return i
}

// scanKey reads `"key" :` at s[i] and returns the key and the index of the
// value. Only plain printable ASCII keys are accepted: an escaped or
// non-ASCII key might fold to a field name (Unicode case folding).
func scanKey(s []byte, i int) ([]byte, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return nil, 0, false
	}
	j := i + 1
	for j < len(s) && s[j] != '"' {
		if c := s[j]; c < 0x20 || c >= 0x80 || c == '\\' {
			return nil, 0, false
		}
		j++
	}
	if j >= len(s) {
		return nil, 0, false
	}
	key := s[i+1 : j]
	j = skipWS(s, j+1)
	if j >= len(s) || s[j] != ':' {
		return nil, 0, false
	}
	j = skipWS(s, j+1)
	return key, j, j < len(s)
}

// nextMember skips white space after a member's value and returns the
// index of the ',' or '}' that follows.
func nextMember(s []byte, i int) (int, bool) {
	i = skipWS(s, i)
	return i, i < len(s) && (s[i] == ',' || s[i] == '}')
}

// nextElem is nextMember for arrays.
func nextElem(s []byte, i int) (int, bool) {
	i = skipWS(s, i)
	return i, i < len(s) && (s[i] == ',' || s[i] == ']')
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
