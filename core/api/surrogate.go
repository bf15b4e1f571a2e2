package api

// Surrogate keys tag cached responses so a purge can drop a whole group:
// every page of a product, a category or a brand. The edge sends them in the
// Surrogate-Key header; purges (on the core, an edge, or a CDN via xkey) name
// them.
//
//	product-{id}           one product's JSON and HTML
//	category-{token}       every product in a category (any level of the path)
//	brand-{token}          every product of a brand
//
// token is KeyToken of the display name.

// ProductKey returns the surrogate key of product id.
func ProductKey(id string) string { return "product-" + id }

// CategoryKey returns the surrogate key of a category name.
func CategoryKey(name string) string { return "category-" + KeyToken(name) }

// BrandKey returns the surrogate key of a brand name.
func BrandKey(name string) string { return "brand-" + KeyToken(name) }

// SurrogateKeys returns the keys of p: its product key, one per category of
// its path, and its brand key (when it has a brand).
func SurrogateKeys(p *Product) []string {
	keys := make([]string, 0, 2+len(p.Categories))
	keys = append(keys, ProductKey(p.ID))
	for _, c := range p.Categories {
		keys = append(keys, CategoryKey(c))
	}
	if p.Brand != "" {
		keys = append(keys, BrandKey(p.Brand))
	}
	return keys
}

// KeyToken lower-cases ASCII letters and turns every run of other bytes than
// [a-z0-9] into one '-', trimming dashes at both ends: "Car Electronics &
// GPS" → "car-electronics-gps". Non-ASCII bytes become separators, so keys are
// header-safe.
func KeyToken(s string) string {
	b := make([]byte, 0, len(s))
	dash := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
			fallthrough
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			if dash && len(b) > 0 {
				b = append(b, '-')
			}
			dash = false
			b = append(b, c)
		default:
			dash = true
		}
	}
	return string(b)
}

// Slug returns a product's URL slug: name lower-cased to [a-z0-9-] (runs of
// other bytes become one '-', at most 80 bytes), then "-" and id, so slugs
// are unique when ids are; the id alone when the name has no such bytes.
func Slug(name, id string) string {
	return string(AppendSlug(make([]byte, 0, 82+len(id)), name, id))
}

// AppendSlug appends Slug(name, id) to dst.
func AppendSlug(dst []byte, name, id string) []byte {
	start, dash := len(dst), false
	for i := 0; i < len(name) && len(dst)-start < 80; i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
			fallthrough
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			if dash && len(dst) > start {
				dst = append(dst, '-')
			}
			dash = false
			dst = append(dst, c)
		default:
			dash = true
		}
	}
	if len(dst) > start {
		dst = append(dst, '-')
	}
	return append(dst, id...)
}
