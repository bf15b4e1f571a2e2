package suggest

import (
	"strings"

	"shopedge/core/api"
)

// Fields of a record's data string.
const (
	fID = iota
	fName
	fBrand
	fCategory // leaf category
	fURL
	fImage
	fCurrency
	nFields
)

// record is the index's copy of one product: its display strings packed
// into one string (one allocation), its price and ranking score, and the
// term ids of its words. A record owns nothing of the api.Product it was
// made from.
type record struct {
	data  string
	ends  [nFields]uint32
	price int64
	score int64
	seq   uint64
	terms []uint32 // distinct term ids, ascending
	cat   uint32   // category id + 1; 0 when the product has none
	has   bool     // price is set
	live  bool
}

func (r *record) field(f int) string {
	start := uint32(0)
	if f > 0 {
		start = r.ends[f-1]
	}
	return r.data[start:r.ends[f]]
}

// sameContent reports whether r and o render the same answer and rank the
// same.
func (r *record) sameContent(o *record) bool {
	return r.data == o.data && r.price == o.price && r.has == o.has && r.score == o.score
}

// newRecord copies what the index needs of p; seq is the sequence p is
// current at.
func newRecord(cfg *Config, p *api.Product, seq uint64) record {
	var r record
	leaf := ""
	if len(p.Categories) > 0 {
		leaf = p.Categories[len(p.Categories)-1]
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
	currency := ""
	if price != nil {
		r.price, r.has, currency = price.Amount, true, price.Currency
	}
	fields := [nFields]string{p.ID, p.Name, p.Brand, leaf, "/products/", p.Image, currency}
	var b strings.Builder
	b.Grow(len(p.ID) + len(p.Name) + len(p.Brand) + len(leaf) + len("/products/") + len(p.Slug) + len(p.Image) + len(currency))
	for f, s := range fields {
		b.WriteString(s)
		if f == fURL {
			b.WriteString(p.Slug)
		}
		r.ends[f] = uint32(b.Len())
	}
	r.data = b.String()
	r.seq = seq
	r.live = true
	r.score = p.Popularity + bandBoost(cfg, band, len(p.SKUs) > 0)
	return r
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
