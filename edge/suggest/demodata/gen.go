package demodata

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"shopedge/core/api"
)

// Generate calls fn with n products made by recombining the brands, name
// words and categories of src with a fixed seed: a brand, two to six name
// words, a model code, a category path and a Zipf-like popularity. The
// same (n, seed, src) gives the same products. fn may keep the product.
func Generate(n int, seed int64, src []*api.Product, fn func(*api.Product) error) error {
	if len(src) == 0 {
		return fmt.Errorf("cannot generate products: no source products")
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	var words []string
	for _, p := range src {
		for _, w := range strings.Fields(p.Name) {
			if len(w) > 1 && w != "-" && !strings.EqualFold(w, p.Brand) {
				words = append(words, w)
			}
		}
	}
	if len(words) == 0 {
		return fmt.Errorf("cannot generate products: source names have no words")
	}
	for i := range n {
		s := src[rng.IntN(len(src))]
		var b strings.Builder
		b.WriteString(s.Brand)
		for range 2 + rng.IntN(5) {
			b.WriteByte(' ')
			b.WriteString(words[rng.IntN(len(words))])
		}
		fmt.Fprintf(&b, " %c%c-%d", 'A'+rng.IntN(26), 'A'+rng.IntN(26), rng.IntN(100000))
		name := b.String()
		id := fmt.Sprintf("g%d", i)
		pop := int64(1e6 / (1 + rng.Float64()*1e4))
		var price *api.Money
		if rng.IntN(20) > 0 {
			price = &api.Money{Amount: int64(100 + rng.IntN(200000)), Currency: "USD"}
		}
		p := product(id, name, s.Brand, s.Categories, s.Image, pop, price)
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}
