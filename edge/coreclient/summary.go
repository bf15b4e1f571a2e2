package coreclient

import (
	"fmt"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
)

// productSummary is Product without Description and Attributes: decoding
// skips them (and the SKUs' attributes). It is the reference decoding of
// a summary: summaryScan decodes the lines it can exactly as goccy decodes
// them into a productSummary, and goccy decodes the rest.
type productSummary struct {
	ID         string       `json:"id"`
	Slug       string       `json:"slug"`
	Name       string       `json:"name"`
	Brand      string       `json:"brand"`
	Categories []string     `json:"categories"`
	Image      string       `json:"image"`
	Popularity int64        `json:"popularity"`
	SKUs       []skuSummary `json:"skus"`
}

type skuSummary struct {
	SKU          string     `json:"sku"`
	Price        *api.Money `json:"price"`
	Availability string     `json:"availability"`
}

// summaryDecoder decodes product lines as summaries. It belongs to one
// lineBatch and is used by one goroutine at a time.
//
// A decoded product's strings are substrings of one string per line (or
// interned literals); its Categories and its SKUs' Prices are carved from
// chunks shared by many lines. Chunk slots are never rewritten, so the
// strings, Categories and Prices stay valid and unchanged for as long as
// a caller keeps them.
type summaryDecoder struct {
	scan  summaryScan
	cats  []string
	money []api.Money
}

// Chunk sizes: a chunk serves a few hundred products.
const (
	catsChunk  = 1024
	moneyChunk = 512
)

// decode decodes line into p (p.SKUs left nil) and appends its SKUs to
// skus. A line summaryScan does not take is decoded by goccy, whose error
// is returned for a malformed line.
func (d *summaryDecoder) decode(line []byte, p *api.Product, skus []api.SKU) ([]api.SKU, error) {
	if !d.scan.scan(line) {
		return decodeSummaryGoccy(line, p, skus)
	}
	z := &d.scan
	arena := string(z.arena)
	*p = api.Product{ID: z.id.in(arena), Slug: z.slug.in(arena), Name: z.name.in(arena), Brand: z.brand.in(arena),
		Image: z.image.in(arena), Popularity: z.pop}
	if z.hasCats {
		cats := d.carveCats(len(z.cats))
		for k, sp := range z.cats {
			cats[k] = sp.in(arena)
		}
		p.Categories = cats
	}
	prices := 0
	for k := range z.skus {
		if z.skus[k].price {
			prices++
		}
	}
	money := d.carveMoney(prices)
	for k := range z.skus {
		ks := &z.skus[k]
		s := api.SKU{SKU: ks.sku.in(arena), Availability: ks.avail.in(arena)}
		if ks.price {
			s.Price = &money[0]
			*s.Price = api.Money{Amount: ks.amount, Currency: ks.currency.in(arena)}
			money = money[1:]
		}
		skus = append(skus, s)
	}
	return skus, nil
}

// carveCats returns n fresh slots of the categories chunk (an empty,
// non-nil slice for 0, as goccy decodes "[]").
func (d *summaryDecoder) carveCats(n int) []string {
	if n == 0 {
		return []string{}
	}
	if cap(d.cats)-len(d.cats) < n {
		d.cats = make([]string, 0, max(n, catsChunk))
	}
	l := len(d.cats)
	d.cats = d.cats[:l+n]
	return d.cats[l : l+n : l+n]
}

// carveMoney returns n fresh slots of the money chunk.
func (d *summaryDecoder) carveMoney(n int) []api.Money {
	if n == 0 {
		return nil
	}
	if cap(d.money)-len(d.money) < n {
		d.money = make([]api.Money, 0, max(n, moneyChunk))
	}
	l := len(d.money)
	d.money = d.money[:l+n]
	return d.money[l : l+n : l+n]
}

// decodeSummaryGoccy is decode by goccy into a fresh productSummary.
func decodeSummaryGoccy(line []byte, p *api.Product, skus []api.SKU) ([]api.SKU, error) {
	var s productSummary
	if err := json.Unmarshal(line, &s); err != nil {
		*p = api.Product{}
		return skus, err
	}
	*p = api.Product{ID: s.ID, Slug: s.Slug, Name: s.Name, Brand: s.Brand, Categories: s.Categories,
		Image: s.Image, Popularity: s.Popularity}
	for _, sku := range s.SKUs {
		skus = append(skus, api.SKU{SKU: sku.SKU, Price: sku.Price, Availability: sku.Availability})
	}
	return skus, nil
}

// decodeSummaries decodes the lines of b as summaries into b.prods,
// stopping at the first malformed one.
func (b *lineBatch) decodeSummaries() {
	b.skus = b.skus[:0]
	b.skuEnds = b.skuEnds[:0]
	b.n = len(b.ends)
	for k := range b.ends {
		b.prods[k] = api.Product{}
		if line := b.line(k); len(line) > 0 {
			var err error
			if b.skus, err = b.sum.decode(line, &b.prods[k], b.skus); err != nil {
				b.n, b.err = k, fmt.Errorf("cannot decode snapshot line %d: %w", b.first+k, err)
				break
			}
		}
		b.skuEnds = append(b.skuEnds, len(b.skus))
	}
	// b.skus no longer grows: point the products decoded before any
	// malformed line into it.
	start := 0
	for k, end := range b.skuEnds {
		if end > start {
			b.prods[k].SKUs = b.skus[start:end:end]
		}
		start = end
	}
}
