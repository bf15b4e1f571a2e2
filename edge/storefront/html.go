package storefront

import (
	"strconv"

	"github.com/cespare/xxhash/v2"

	"shopedge/core/api"
	"shopedge/edge/pages"
	"shopedge/edge/storefront/theme"
)

// Pages are written by appending to a byte slice; every value that comes
// from the catalog or the request goes through theme.AppendText (text and
// double-quoted attributes) and URLs through theme.SafeURL or the linker,
// which query-escapes. The golden and hostile-product tests pin this.

var text = theme.AppendText

// bandClass returns band when it is one of the known bands (it becomes a
// class name), else "".
func bandClass(band string) string {
	switch band {
	case api.InStock, api.LowStock, api.OutOfStock:
		return band
	}
	return ""
}

func priceText(m *api.Money) string {
	if m == nil {
		return "No price"
	}
	return pages.FormatMoney(*m)
}

// count formats n with thousands separators: 12345 → "12,345".
func count(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return s
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := 0; i < len(s); i++ {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return count(n) + " " + many
}

// appendHighlighted appends name with the byte ranges hl wrapped in
// <mark>. Ranges out of order, overlapping or out of bounds are skipped,
// so a bad range cannot split a character reference.
func appendHighlighted(dst []byte, name string, hl [][2]int) []byte {
	at := 0
	for _, r := range hl {
		a, b := r[0], r[1]
		if a < at || b <= a || b > len(name) {
			continue
		}
		dst = text(dst, name[at:a])
		dst = append(dst, "<mark>"...)
		dst = text(dst, name[a:b])
		dst = append(dst, "</mark>"...)
		at = b
	}
	return text(dst, name[at:])
}

// appendImage appends the image box of a card: the image when its URL is
// safe, over a placeholder that shows when there is none or it fails to
// load (the script hides a broken image; alt is empty because the name is
// written next to it, so no alt text spills either way).
func appendImage(dst []byte, src string) []byte {
	dst = append(dst, `<span class="ph">`...)
	if u := theme.SafeURL(src); u != "" {
		dst = append(dst, `<img src="`...)
		dst = text(dst, u)
		dst = append(dst, `" alt="" loading="lazy" decoding="async" width="300" height="300">`...)
	}
	return append(dst, `</span>`...)
}

// appendCard appends one product card as a list item.
func appendCard(dst []byte, p *api.SearchProduct) []byte {
	dst = append(dst, `<li><a class="card" href="`...)
	dst = text(dst, theme.SafeURL(p.URL))
	dst = append(dst, `">`...)
	dst = appendImage(dst, p.Image)
	dst = append(dst, `<span class="name">`...)
	dst = appendHighlighted(dst, p.Name, p.Highlights)
	dst = append(dst, `</span><span class="price">`...)
	dst = text(dst, priceText(p.Price))
	dst = append(dst, `</span><span class="avail `...)
	dst = append(dst, bandClass(p.Availability)...)
	dst = append(dst, `">`...)
	dst = append(dst, theme.AvailabilityText(p.Availability)...)
	return append(dst, "</span></a></li>\n"...)
}

func appendCards(dst []byte, ps []api.SearchProduct) []byte {
	dst = append(dst, "<ul class=\"grid\">\n"...)
	for i := range ps {
		dst = appendCard(dst, &ps[i])
	}
	return append(dst, "</ul>\n"...)
}

// tileHues are the hues of category tiles (indigo, violet, pink, sky,
// teal, orange, rose, blue): a palette rather than any hue, so no tile
// comes out muddy.
var tileHues = [...]int{232, 262, 322, 199, 172, 24, 345, 214}

// hue is a stable colour for a category tile, from its name.
func hue(name string) int { return tileHues[xxhash.Sum64String(name)%uint64(len(tileHues))] }

// productKeys returns the surrogate keys of the products a page shows.
func productKeys(keys []string, ps []api.SearchProduct) []string {
	for i := range ps {
		keys = append(keys, api.ProductKey(ps[i].ID))
	}
	return keys
}
