package pages

import (
	"bytes"
	"fmt"
	"html/template"
	"net/url"
	"sort"
	"strconv"
	"strings"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/edge/storefront/theme"
)

// Variant selects one stored representation of a product.
type Variant uint8

// The four representations rendered per product.
const (
	JSON Variant = iota
	JSONGzip
	HTML
	HTMLGzip
	numVariants
)

// Gzip reports whether v is a gzip-compressed representation.
func (v Variant) Gzip() bool { return v == JSONGzip || v == HTMLGzip }

// Rendered holds every representation of one product, rendered once when
// the product changes. It is immutable once returned and may be shared.
type Rendered struct {
	ID   string
	Slug string
	// Tail is the product's surrogate keys other than its product key,
	// space-separated (categories, brand). Interned by the Cache.
	Tail string
	// Popularity is the product's ranking score.
	Popularity int64
	// SurrogateKey is the Surrogate-Key header value.
	SurrogateKey []byte
	// Bodies and ETags are indexed by Variant. ETags are strong and quoted.
	Bodies [numVariants][]byte
	ETags  [numVariants][]byte
}

// maxSurrogateKey bounds the Surrogate-Key header value; maxID bounds a
// product id.
const (
	maxSurrogateKey = 4096
	maxID           = 1024
)

// surrogateTail returns p's surrogate keys other than its product key,
// space-separated, cut so that the whole header stays within
// maxSurrogateKey (the product key always stays).
func surrogateTail(p *api.Product) string {
	keys := api.SurrogateKeys(p)
	for n, i := len(keys[0]), 1; i < len(keys); i++ {
		if n += 1 + len(keys[i]); n > maxSurrogateKey {
			keys = keys[:i]
			break
		}
	}
	return strings.Join(keys[1:], " ")
}

// appendSurrogateKey appends the Surrogate-Key header value of product id
// with surrogate tail tail to dst.
func appendSurrogateKey(dst []byte, id, tail string) []byte {
	dst = append(dst, "product-"...)
	dst = append(dst, id...)
	if tail != "" {
		dst = append(dst, ' ')
		dst = append(dst, tail...)
	}
	return dst
}

// Render renders p as JSON and HTML, plain and gzip (at gzipLevel, a
// compress/flate level), with their ETags.
func Render(p *api.Product, gzipLevel int) (*Rendered, error) {
	return renderFor(p, allVariants, gzipLevel)
}

// renderFor renders p's JSON and the representations in mask (bit v for
// variant v), with their ETags; the other Bodies stay nil. A request that
// misses asks for one representation: rendering only it costs a fraction
// of all four (the HTML template and the two gzips are ~95 % of Render).
func renderFor(p *api.Product, mask uint8, gzipLevel int) (*Rendered, error) {
	r, err := RenderJSON(p)
	if err != nil {
		return nil, err
	}
	if mask&(1<<HTML|1<<HTMLGzip) != 0 {
		var html bytes.Buffer
		html.Grow(4096)
		if err := pageTemplate.Execute(&html, newPageView(p)); err != nil {
			return nil, fmt.Errorf("cannot render product %q as HTML: %w", p.ID, err)
		}
		r.Bodies[HTML] = html.Bytes()
		r.ETags[HTML] = theme.ETag(r.Bodies[HTML])
	}
	if mask&(1<<JSONGzip) != 0 {
		r.Bodies[JSONGzip] = fasthttp.AppendGzipBytesLevel(nil, r.Bodies[JSON], gzipLevel)
		r.ETags[JSONGzip] = theme.ETag(r.Bodies[JSONGzip])
	}
	if mask&(1<<HTMLGzip) != 0 {
		r.Bodies[HTMLGzip] = fasthttp.AppendGzipBytesLevel(nil, r.Bodies[HTML], gzipLevel)
		r.ETags[HTMLGzip] = theme.ETag(r.Bodies[HTMLGzip])
	}
	return r, nil
}

// maskFor is the variant mask renderFor needs to serve v: the JSON (every
// stored product keeps it), v, and the plain HTML that HTMLGzip is
// compressed from.
func maskFor(v Variant) uint8 {
	m := uint8(1<<JSON | 1<<v)
	if v == HTMLGzip {
		m |= 1 << HTML
	}
	return m
}

// RenderJSON renders only the plain JSON representation of p (and its
// surrogate keys); the other Bodies stay nil. Snapshot loads use it: the
// rest is rendered from the JSON on the first request that needs it.
func RenderJSON(p *api.Product) (*Rendered, error) {
	if p.ID == "" || len(p.ID) > maxID {
		return nil, fmt.Errorf("cannot render a product with id of %d bytes (slug %.64q)", len(p.ID), p.Slug)
	}
	r := &Rendered{ID: p.ID, Slug: p.Slug, Popularity: p.Popularity, Tail: surrogateTail(p)}
	r.SurrogateKey = appendSurrogateKey(nil, p.ID, r.Tail)
	js, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("cannot render product %q as JSON: %w", p.ID, err)
	}
	r.Bodies[JSON] = js
	r.ETags[JSON] = theme.ETag(js)
	return r, nil
}

// minorDigits returns the number of minor-unit digits of an ISO 4217
// currency (2 unless listed).
func minorDigits(currency string) int {
	switch currency {
	case "JPY", "KRW", "VND", "CLP", "ISK", "UGX", "PYG", "XAF", "XOF":
		return 0
	case "BHD", "KWD", "JOD", "OMR", "TND", "IQD", "LYD":
		return 3
	}
	return 2
}

var currencySymbols = map[string]string{"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}

// FormatMoney formats m for display: "$1,249.99", "¥500", "12.500 KWD".
// Amounts are int64 minor units; no floating point is involved.
func FormatMoney(m api.Money) string {
	d := minorDigits(m.Currency)
	neg := m.Amount < 0
	a := uint64(m.Amount)
	if neg {
		a = uint64(-m.Amount)
	}
	div := uint64(1)
	for i := 0; i < d; i++ {
		div *= 10
	}
	whole := strconv.FormatUint(a/div, 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	sym, hasSym := currencySymbols[m.Currency]
	if hasSym {
		b.WriteString(sym)
	}
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if d > 0 {
		frac := strconv.FormatUint(a%div, 10)
		b.WriteByte('.')
		b.WriteString(strings.Repeat("0", d-len(frac)))
		b.WriteString(frac)
	}
	if !hasSym {
		b.WriteByte(' ')
		b.WriteString(m.Currency)
	}
	return b.String()
}

// bestAvailability returns the best band over skus (in > low > out).
func bestAvailability(skus []api.SKU) string {
	best, rank := "", 0
	for _, s := range skus {
		r := 0
		switch s.Availability {
		case api.InStock:
			r = 3
		case api.LowStock:
			r = 2
		case api.OutOfStock:
			r = 1
		}
		if r > rank {
			best, rank = s.Availability, r
		}
	}
	return best
}

type skuView struct {
	SKU          string
	Price        string
	Availability string
	Band         string
	Options      string // "color: Red, storage: 32GB"
	Buyable      bool   // priced and not out of stock
	Checked      bool   // the variant preselected on the page
	Attributes   []attrView
}

type attrView struct{ Name, Value string }

type crumbView struct{ Name, URL string }

type pageView struct {
	P            *api.Product
	Price        string
	Availability string
	Band         string
	Summary      string
	Image        string // P.Image when it is a safe http(s) URL, else ""
	Buyable      bool   // some SKU can be added to a cart
	Crumbs       []crumbView
	SKUs         []skuView
	Attributes   []attrView
}

func sortedAttrs(m map[string]string) []attrView {
	out := make([]attrView, 0, len(m))
	for k, v := range m {
		out = append(out, attrView{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func newPageView(p *api.Product) *pageView {
	v := &pageView{P: p, Attributes: sortedAttrs(p.Attributes), Image: theme.SafeURL(p.Image)}
	var lo, hi, first *api.Money
	mixed := false
	for _, s := range p.SKUs {
		sv := skuView{SKU: s.SKU, Price: "No price", Band: s.Availability,
			Availability: theme.AvailabilityText(s.Availability), Attributes: sortedAttrs(s.Attributes)}
		opts := make([]string, len(sv.Attributes))
		for i, a := range sv.Attributes {
			opts[i] = a.Name + ": " + a.Value
		}
		sv.Options = strings.Join(opts, ", ")
		if s.Price != nil {
			sv.Price = FormatMoney(*s.Price)
			sv.Buyable = s.Availability != api.OutOfStock
			if first == nil {
				first = s.Price
			}
			mixed = mixed || s.Price.Currency != first.Currency
			if lo == nil || s.Price.Amount < lo.Amount {
				lo = s.Price
			}
			if hi == nil || s.Price.Amount > hi.Amount {
				hi = s.Price
			}
		}
		if sv.Buyable && !v.Buyable {
			sv.Checked, v.Buyable = true, true
		}
		v.SKUs = append(v.SKUs, sv)
	}
	switch {
	case lo == nil:
		v.Price = "No price"
	case mixed:
		v.Price = FormatMoney(*first) // no range across currencies
	case lo.Amount == hi.Amount:
		v.Price = FormatMoney(*lo)
	default:
		v.Price = FormatMoney(*lo) + " – " + FormatMoney(*hi)
	}
	v.Band = bestAvailability(p.SKUs)
	v.Availability = theme.AvailabilityText(v.Band)
	v.Summary = p.Description
	if r := []rune(v.Summary); len(r) > 160 {
		v.Summary = strings.TrimSpace(string(r[:157])) + "…"
	}
	for _, c := range p.Categories {
		v.Crumbs = append(v.Crumbs, crumbView{Name: c, URL: "/search?category=" + strings.ReplaceAll(url.QueryEscape(c), "+", "%20")})
	}
	return v
}

// pageFuncs write the storefront's shared layout (edge/storefront/theme),
// which escapes what it writes itself.
var pageFuncs = template.FuncMap{
	"head": func(v *pageView) template.HTML {
		return template.HTML(theme.AppendHead(nil, theme.Head{Title: v.P.Name, Description: v.Summary,
			Canonical: "/products/" + v.P.Slug, Page: "product"}))
	},
	"foot": func() template.HTML { return template.HTML(theme.AppendFoot(nil)) },
}

// pageTemplate is the product page in the storefront's layout: price,
// availability, a variant picker and an add-to-cart form that the
// storefront script submits to the cart API (without the script it opens
// /cart?add={sku}, which adds it there). html/template escapes every
// value for its context (text, attribute, URL), so product data cannot
// inject markup.
var pageTemplate = template.Must(template.New("page").Funcs(pageFuncs).Parse(`{{head .}}<nav aria-label="Breadcrumb"><ol class="crumbs"><li><a href="/">Home</a></li>{{range .Crumbs}}<li><a href="{{.URL}}">{{.Name}}</a></li>{{end}}</ol></nav>
<article class="product" data-id="{{.P.ID}}">
<div class="media"><span class="ph">{{if .Image}}<img src="{{.Image}}" alt="{{.P.Name}}" width="500" height="500">{{end}}</span></div>
<div class="info">
{{- if .P.Brand}}
<p class="brand"><a href="/search?brand={{.P.Brand}}">{{.P.Brand}}</a></p>
{{- end}}
<h1>{{.P.Name}}</h1>
<p class="price-lg">{{.Price}}</p>
<p><span class="avail {{.Band}}">{{.Availability}}</span></p>
{{- if .Summary}}
<p class="lede">{{.Summary}}</p>
{{- end}}
<form class="buy-form" action="/cart" method="get" data-add-to-cart>
{{- if eq (len .SKUs) 1}}{{with index .SKUs 0}}
<input type="hidden" name="add" value="{{.SKU}}">
{{- end}}{{else}}
<fieldset class="variants"><legend>Choose an option</legend>
{{- range .SKUs}}
<label class="variant"><input type="radio" name="add" value="{{.SKU}}"{{if .Checked}} checked{{end}}{{if not .Buyable}} disabled{{end}}><span class="opt">{{if .Options}}{{.Options}}{{else}}{{.SKU}}{{end}}</span><span>{{.Price}}</span> <span class="avail {{.Band}}">{{.Availability}}</span></label>
{{- end}}
</fieldset>
{{- end}}
<div class="buy"><label class="sr-only" for="qty">Quantity</label><input class="qty" id="qty" type="number" name="qty" value="1" min="1" max="99" inputmode="numeric"><button class="btn btn-primary btn-lg" type="submit"{{if not .Buyable}} disabled{{end}}>{{if .Buyable}}Add to cart{{else}}Unavailable{{end}}</button></div>
<p class="msg" data-buy-msg role="status" hidden></p>
</form>
</div>
</article>
<div class="details">
<section class="desc"><h2>About this product</h2>{{if .P.Description}}<p>{{.P.Description}}</p>{{else}}<p class="muted">No description yet.</p>{{end}}</section>
<section><h2>Specifications</h2><dl class="specs">
{{- if .P.Brand}}<dt>Brand</dt><dd>{{.P.Brand}}</dd>{{end}}
{{- range .Attributes}}<dt>{{.Name}}</dt><dd>{{.Value}}</dd>{{end}}
{{- if eq (len .SKUs) 1}}{{range .SKUs}}<dt>Item number</dt><dd>{{.SKU}}</dd>{{end}}{{end}}</dl></section>
</div>
{{foot}}`))
