package api

import (
	"fmt"

	json "github.com/goccy/go-json"
)

// productSummary is Product without Description and Attributes: decoding
// skips them (and the SKUs' attributes) without allocating.
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
	SKU          string `json:"sku"`
	Price        *Money `json:"price"`
	Availability string `json:"availability"`
}

// decodeSummaries decodes the lines of b as summaries into b.prods,
// stopping at the first malformed one.
func (b *lineBatch) decodeSummaries() {
	if cap(b.sums) < len(b.ends) {
		b.sums = make([]productSummary, len(b.ends), max(len(b.ends), batchLines))
	}
	b.sums = b.sums[:len(b.ends)]
	b.skus = b.skus[:0]
	b.skuEnds = b.skuEnds[:0]
	for k := range b.ends {
		b.prods[k] = Product{}
		if line := b.line(k); len(line) > 0 {
			s := &b.sums[k]
			*s = productSummary{SKUs: s.SKUs[:0]}
			if err := json.Unmarshal(line, s); err != nil {
				b.n, b.err = k, fmt.Errorf("cannot decode snapshot line %d: %w", b.first+k, err)
				return
			}
			b.prods[k] = Product{ID: s.ID, Slug: s.Slug, Name: s.Name, Brand: s.Brand, Categories: s.Categories,
				Image: s.Image, Popularity: s.Popularity}
			for _, sku := range s.SKUs {
				b.skus = append(b.skus, SKU{SKU: sku.SKU, Price: sku.Price, Availability: sku.Availability})
			}
		}
		b.skuEnds = append(b.skuEnds, len(b.skus))
	}
	// b.skus no longer grows: point the products into it.
	start := 0
	for k, end := range b.skuEnds {
		if end > start {
			b.prods[k].SKUs = b.skus[start:end:end]
		}
		start = end
	}
	b.n = len(b.ends)
}
