package suggest

import (
	"encoding/binary"
	"unsafe"

	"shopedge/core/api"
)

// Text fields of a product's blob.
const (
	fID = iota
	fName
	fBrand
	fImageDir // the image URL up to its last '/'
	fImageFile
	fSlug
	fCurrency
	nFields
)

// record is the index's copy of one product: 40 bytes without pointers,
// so that a million of them cost the garbage collector nothing to scan.
// Its strings live in a blob of the index's texts (see texts); brand,
// image directory and currency are usually interned there instead, and
// the slug is left out when api.Slug derives it from name and id.
type record struct {
	off   uint32    // the blob in texts.blobs
	cat   uint32    // category id + 1; 0 when the product has none
	ids   [3]uint16 // interned brand, image directory, currency (id + 1; 0: in the blob)
	flags uint8
	price int64
	score int64
	seq   uint64
}

const (
	recHas      = 1 << iota // price is set
	recLive                 // a product (not a free ordinal)
	recSlugAuto             // the slug is api.Slug(name, id)
)

func (r *record) has() bool  { return r.flags&recHas != 0 }
func (r *record) live() bool { return r.flags&recLive != 0 }

// interned are the fields a record may hold as interned ids (in
// record.ids order).
var interned = [3]int{fBrand, fImageDir, fCurrency}

// product is a product's indexed fields before they go into a blob: the
// strings still belong to the api.Product.
type product struct {
	text  [nFields]string
	leaf  string
	price int64
	score int64
	has   bool
}

// productOf takes what the index needs of p.
func productOf(cfg *Config, p *api.Product) product {
	var out product
	if len(p.Categories) > 0 {
		out.leaf = p.Categories[len(p.Categories)-1]
	}
	var price *api.Money
	band := ""
	for i := range p.SKUs {
		s := &p.SKUs[i]
		if s.Price != nil && (price == nil || s.Price.Amount < price.Amount) {
			price = s.Price
		}
		band = betterBand(band, s.Availability)
	}
	if price != nil {
		out.price, out.has, out.text[fCurrency] = price.Amount, true, price.Currency
	}
	dir, file := splitImage(p.Image)
	out.text = [nFields]string{p.ID, p.Name, p.Brand, dir, file, p.Slug, out.text[fCurrency]}
	out.score = p.Popularity + bandBoost(cfg, band, len(p.SKUs) > 0)
	return out
}

// splitImage splits an image URL after its last '/'.
func splitImage(u string) (dir, file string) {
	for i := len(u) - 1; i >= 0; i-- {
		if u[i] == '/' {
			return u[:i+1], u[i+1:]
		}
	}
	return "", u
}

// blob is a decoded view of a record's blob: its strings (pointing into
// the arena) and its encoded terms.
type blob struct {
	text  [nFields]string // interned fields and a derived slug are ""
	terms []byte          // uvarint deltas of the ascending term ids
	size  int             // bytes of the blob
}

// The blob layout: a uvarint length per field, the byte length of the
// terms, the term ids as uvarint deltas (ascending), then the fields'
// bytes. Everything is found from the header without scanning.

// appendBlob appends the blob of text and terms (ascending) to dst.
func appendBlob(dst []byte, text *[nFields]string, terms []uint32) []byte {
	for _, s := range text {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
	}
	n, prev := 0, uint32(0)
	for _, t := range terms {
		n += uvarintLen(uint64(t - prev))
		prev = t
	}
	dst = binary.AppendUvarint(dst, uint64(n))
	prev = 0
	for _, t := range terms {
		dst = binary.AppendUvarint(dst, uint64(t-prev))
		prev = t
	}
	for _, s := range text {
		dst = append(dst, s...)
	}
	return dst
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// blobSize returns the size of the blob appendBlob writes.
func blobSize(text *[nFields]string, terms []uint32) int {
	size, n, prev := 0, 0, uint32(0)
	for _, s := range text {
		size += uvarintLen(uint64(len(s))) + len(s)
	}
	for _, t := range terms {
		n += uvarintLen(uint64(t - prev))
		prev = t
	}
	return size + uvarintLen(uint64(n)) + n
}

// readBlobAt decodes the blob at the start of b.
func readBlobAt(b []byte) blob {
	var lens [nFields]int
	i := 0
	for f := range lens {
		v, k := binary.Uvarint(b[i:])
		lens[f], i = int(v), i+k
	}
	n, k := binary.Uvarint(b[i:])
	i += k
	out := blob{terms: b[i : i+int(n) : i+int(n)]}
	i += int(n)
	for f, l := range lens {
		if l > 0 {
			out.text[f] = unsafe.String(&b[i], l)
		}
		i += l
	}
	out.size = i
	return out
}

// readBlobTerms returns the encoded terms of the blob at arena[off:].
func readBlobTerms(arena []byte, off uint32) []byte {
	b := arena[off:]
	i := 0
	for range nFields {
		for b[i] >= 0x80 {
			i++
		}
		i++
	}
	n, k := binary.Uvarint(b[i:])
	i += k
	return b[i : i+int(n) : i+int(n)]
}

// readBlobIDAt returns the id of the blob at the start of b.
func readBlobIDAt(b []byte) string {
	l, i := binary.Uvarint(b)
	for range nFields - 1 {
		for b[i] >= 0x80 {
			i++
		}
		i++
	}
	n, k := binary.Uvarint(b[i:])
	i += k + int(n)
	if l == 0 {
		return ""
	}
	return unsafe.String(&b[i], int(l))
}

// decodeTerms appends the term ids of an encoded list to dst.
func decodeTerms(enc []byte, dst []uint32) []uint32 {
	t := uint32(0)
	for i := 0; i < len(enc); {
		var d uint32
		d, i = nextDelta(enc, i)
		t += d
		dst = append(dst, t)
	}
	return dst
}

// betterBand returns the more available of two bands; a missing band
// counts as in stock.
func betterBand(a, b string) string {
	rank := func(s string) int {
		switch s {
		case api.OutOfStock:
			return 0
		case api.LowStock:
			return 1
		}
		return 2
	}
	if a == "" && b == "" {
		return api.InStock
	}
	if a == "" || rank(b) > rank(a) {
		return b
	}
	return a
}

func bandBoost(cfg *Config, band string, hasSKUs bool) int64 {
	if !hasSKUs {
		return cfg.OutOfStockBoost
	}
	switch band {
	case api.OutOfStock:
		return cfg.OutOfStockBoost
	case api.LowStock:
		return cfg.LowStockBoost
	}
	return cfg.InStockBoost
}

// nextDelta decodes the uvarint at enc[i] (a term-id delta of an encoded
// list) and returns it with the index after it.
func nextDelta(enc []byte, i int) (uint32, int) {
	b := enc[i]
	i++
	v := uint32(b & 0x7f)
	for s := 7; b >= 0x80 && i < len(enc); s += 7 {
		b = enc[i]
		i++
		v |= uint32(b&0x7f) << s
	}
	return v, i
}
