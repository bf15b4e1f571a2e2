// Package gen generates large synthetic catalogs for benchmarks by
// recombining real data: brands, name words, categories, prices, images and
// attributes of a source catalog (the demo catalog), with a fixed seed, so
// the same (n, seed, src) always yields the same products.
package gen

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"strings"

	"shopedge/core/api"
)

// pool is what Products draws from, per top-level category.
type pool struct {
	templates []*api.Product // products of the category (categories, image, attributes, price)
	words     []string       // name words seen in the category
}

// Products calls fn for n generated products. Each product takes its
// category path, image, attributes and price level from a random source
// product (so categories keep the source's distribution), its brand from the source brands (weighted by how often they
// occur), and its name from that brand, 2–5 name words of the same
// top-level category and a model code. Ids are "g{seed}-{i}" (so catalogs
// of different seeds do not collide) with 1–3 SKUs each; popularity is
// Zipf-like. The products given to fn are fresh; fn may keep them. An error
// from fn stops generation and is returned.
func Products(n int, seed int64, src []*api.Product, fn func(*api.Product) error) error {
	if n < 0 {
		return fmt.Errorf("cannot generate %d products", n)
	}
	if len(src) == 0 {
		return errors.New("cannot generate products: empty source catalog")
	}
	pools, brands := index(src)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	for i := 0; i < n; i++ {
		t := src[rng.IntN(len(src))]
		pl := pools[topOf(t)]
		brand := brands[rng.IntN(len(brands))]
		id := fmt.Sprintf("g%d-%d", seed, i)
		name := makeName(rng, brand, pl.words)
		p := &api.Product{
			ID:          id,
			Slug:        api.Slug(name, id),
			Name:        name,
			Brand:       brand,
			Categories:  append([]string(nil), t.Categories...),
			Description: makeDescription(rng, name, pl.words),
			Image:       t.Image,
			Popularity:  int64(100000 / math.Pow(float64(1+rng.IntN(100000)), 0.8)),
			Attributes:  maps.Clone(t.Attributes),
		}
		base := int64(0)
		if len(t.SKUs) > 0 && t.SKUs[0].Price != nil {
			base = t.SKUs[0].Price.Amount
		}
		nsku := 1 + rng.IntN(3)
		for k := 0; k < nsku; k++ {
			sku := api.SKU{SKU: fmt.Sprintf("%s-%d", id, k)}
			if base > 0 {
				// ±40% around the template's price, to whole cents ending in 9.
				amt := int64(float64(base)*(0.6+0.8*rng.Float64()))/10*10 + 9
				sku.Price = &api.Money{Amount: amt, Currency: "USD"}
			}
			if nsku > 1 {
				sku.Attributes = map[string]string{"variant": variants[(k+rng.IntN(len(variants)))%len(variants)]}
			}
			p.SKUs = append(p.SKUs, sku)
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

var variants = []string{"Black", "White", "Silver", "Blue", "Red", "Grey", "Gold", "Green"}

// index groups src by top-level category (in first-seen order, so the
// result is deterministic) and collects brands with repetition.
func index(src []*api.Product) (map[string]*pool, []string) {
	pools := map[string]*pool{}
	var tops, brands []string
	for _, p := range src {
		top := topOf(p)
		pl := pools[top]
		if pl == nil {
			pl = &pool{}
			pools[top] = pl
			tops = append(tops, top)
		}
		pl.templates = append(pl.templates, p)
		for _, w := range strings.Fields(p.Name) {
			if isWord(w) && !strings.EqualFold(w, p.Brand) {
				pl.words = append(pl.words, w)
			}
		}
		if p.Brand != "" {
			brands = append(brands, p.Brand)
		}
	}
	for _, top := range tops {
		if len(pools[top].words) == 0 {
			pools[top].words = []string{"Product"}
		}
	}
	if len(brands) == 0 {
		brands = []string{"Generic"}
	}
	return pools, brands
}

func topOf(p *api.Product) string {
	if len(p.Categories) > 0 {
		return p.Categories[0]
	}
	return ""
}

// isWord keeps name words that read as words: 3–20 bytes, starting with a
// letter, no punctuation beyond '-'.
func isWord(w string) bool {
	if len(w) < 3 || len(w) > 20 {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if i == 0 && !letter {
			return false
		}
		if !letter && !(c >= '0' && c <= '9') && c != '-' {
			return false
		}
	}
	return true
}

func makeName(rng *rand.Rand, brand string, words []string) string {
	var b strings.Builder
	b.WriteString(brand)
	for k, n := 0, 2+rng.IntN(4); k < n; k++ {
		b.WriteByte(' ')
		b.WriteString(words[rng.IntN(len(words))])
	}
	fmt.Fprintf(&b, " %c%c-%d", 'A'+rng.IntN(26), 'A'+rng.IntN(26), 100+rng.IntN(9900))
	return b.String()
}

func makeDescription(rng *rand.Rand, name string, words []string) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteString(":")
	for k, n := 0, 12+rng.IntN(24); k < n; k++ {
		b.WriteByte(' ')
		b.WriteString(words[rng.IntN(len(words))])
	}
	b.WriteByte('.')
	return b.String()
}
