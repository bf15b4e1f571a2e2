package search

import (
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/edge/textnorm"
)

// maxPrice bounds price_min and price_max (minor units).
const maxPrice = 1e15

// attrPrefix starts an attribute filter's parameter name: attr.{name}.
const attrPrefix = "attr."

// queryArgs is a search's query string parsed in place: its strings view
// the request's bytes (valid while the request is), its slices are reused
// from request to request, so parsing a cached search allocates nothing.
// params copies it into an api.SearchParams of its own.
type queryArgs struct {
	p     api.SearchParams // Attributes unused: see attrs
	cats  []string
	brand []string
	attrs []attrArg // sorted by name once parsed; none without values
	seen  uint8     // scalar parameters given (seenQ…)
}

// attrArg is one attr.{name} filter: its values, sorted, without repeats.
type attrArg struct {
	name string
	vals []string
}

// The scalar parameters, as bits of queryArgs.seen.
const (
	seenQ = 1 << iota
	seenPriceMin
	seenPriceMax
	seenInStock
	seenSort
	seenPage
	seenPerPage
)

func (a *queryArgs) reset(cfg *Config) {
	a.p = api.SearchParams{Page: 1, PerPage: cfg.DefaultPerPage}
	a.cats, a.brand = a.cats[:0], a.brand[:0]
	for i := range a.attrs {
		a.attrs[i].vals = a.attrs[i].vals[:0]
	}
	a.attrs = a.attrs[:0]
	a.seen = 0
}

// attr returns the filter of the attribute name, adding it.
func (a *queryArgs) attr(name string) *attrArg {
	for i := range a.attrs {
		if a.attrs[i].name == name {
			return &a.attrs[i]
		}
	}
	if len(a.attrs) < cap(a.attrs) {
		a.attrs = a.attrs[:len(a.attrs)+1] // keeps the old vals' room
	} else {
		a.attrs = append(a.attrs, attrArg{})
	}
	at := &a.attrs[len(a.attrs)-1]
	at.name, at.vals = name, at.vals[:0]
	return at
}

// params returns a's parameters as an api.SearchParams with strings and
// slices of its own.
func (a *queryArgs) params() api.SearchParams {
	p := a.p
	p.Query = strings.Clone(p.Query)
	p.Categories = cloneStrings(p.Categories)
	p.Brands = cloneStrings(p.Brands)
	p.Attributes = nil
	if len(a.attrs) > 0 {
		p.Attributes = make(map[string][]string, len(a.attrs))
		for _, at := range a.attrs {
			p.Attributes[strings.Clone(at.name)] = cloneStrings(at.vals)
		}
	}
	return p
}

func cloneStrings(v []string) []string {
	if len(v) == 0 {
		return nil
	}
	c := make([]string, len(v))
	for i, s := range v {
		c[i] = strings.Clone(s)
	}
	return c
}

// parseArgs validates a search's query string (see Service.Parse) into
// a, whose strings then view args' bytes. known reports whether an
// attribute name can be filtered on. It allocates only for an error.
func parseArgs(cfg *Config, args *fasthttp.Args, x *index, a *queryArgs) error {
	a.reset(cfg)
	values := 0
	for kb, vb := range args.All() {
		if err := a.parseOne(cfg, x, b2s(kb), b2s(vb), &values); err != nil {
			return err
		}
	}
	p := &a.p
	if p.PriceMax > 0 && p.PriceMin > p.PriceMax {
		return api.Invalid("price_min", "is above price_max")
	}
	a.cats = sortUnique(a.cats)
	a.brand = sortUnique(a.brand)
	p.Categories, p.Brands = nil, nil
	if len(a.cats) > 0 {
		p.Categories = a.cats
	}
	if len(a.brand) > 0 {
		p.Brands = a.brand
	}
	n := 0
	for i := range a.attrs {
		if len(a.attrs[i].vals) > 0 {
			a.attrs[i].vals = sortUnique(a.attrs[i].vals)
			a.attrs[n], a.attrs[i] = a.attrs[i], a.attrs[n]
			n++
		}
	}
	a.attrs = a.attrs[:n]
	slices.SortFunc(a.attrs, func(x, y attrArg) int { return strings.Compare(x.name, y.name) })
	return nil
}

// scalar records scalar parameter bit, failing when it was given before.
func (a *queryArgs) scalar(k string, bit uint8) error {
	if a.seen&bit != 0 {
		return api.Invalid(k, "given more than once")
	}
	a.seen |= bit
	return nil
}

// add appends a filter value v of parameter k to dst.
func addValue(cfg *Config, k string, dst []string, v string, values *int) ([]string, error) {
	if v == "" {
		return dst, nil // an empty form field
	}
	if len(v) > cfg.MaxValueBytes {
		return dst, api.Invalid(k, "values are at most %d bytes", cfg.MaxValueBytes)
	}
	if len(dst) >= cfg.MaxFilterValues {
		return dst, api.Invalid(k, "at most %d values", cfg.MaxFilterValues)
	}
	*values++
	return append(dst, v), nil
}

func (a *queryArgs) parseOne(cfg *Config, x *index, k, v string, values *int) error {
	p := &a.p
	if k == "" {
		return api.Invalid(`""`, "a parameter has no name")
	}
	if !utf8.ValidString(k) {
		return api.Invalid(strconv.QuoteToASCII(k), "parameter name is not valid UTF-8")
	}
	if !utf8.ValidString(v) {
		return api.Invalid(k, "is not valid UTF-8")
	}
	var err error
	switch {
	case k == "q":
		if err := a.scalar(k, seenQ); err != nil {
			return err
		}
		if len(v) > cfg.MaxQueryBytes {
			return api.Invalid(k, "is longer than %d bytes", cfg.MaxQueryBytes)
		}
		p.Query = v
	case k == "category":
		a.cats, err = addValue(cfg, k, a.cats, v, values)
	case k == "brand":
		a.brand, err = addValue(cfg, k, a.brand, v, values)
	case k == "price_min" || k == "price_max":
		bit, lo := uint8(seenPriceMin), int64(0)
		if k == "price_max" {
			bit, lo = seenPriceMax, 1
		}
		if err := a.scalar(k, bit); err != nil || v == "" {
			return err
		}
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || n < lo || n > maxPrice {
			return api.Invalid(k, "must be a whole number of minor units from %d to %d", lo, int64(maxPrice))
		}
		if k == "price_min" {
			p.PriceMin = n
		} else {
			p.PriceMax = n
		}
	case k == "in_stock":
		if err := a.scalar(k, seenInStock); err != nil || v == "" {
			return err
		}
		switch v {
		case "1", "true":
			p.InStock = true
		case "0", "false":
		default:
			return api.Invalid(k, "must be 1 or 0")
		}
	case k == "sort":
		if err := a.scalar(k, seenSort); err != nil || v == "" {
			return err
		}
		switch v {
		case api.SortRelevance, api.SortPopularity, api.SortPriceAsc, api.SortPriceDesc:
			p.Sort = v
		default:
			return api.Invalid(k, "must be relevance, popularity, price_asc or price_desc")
		}
	case k == "page" || k == "per_page":
		bit, hi := uint8(seenPage), cfg.MaxPage
		if k == "per_page" {
			bit, hi = seenPerPage, cfg.MaxPerPage
		}
		if err := a.scalar(k, bit); err != nil || v == "" {
			return err
		}
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > hi {
			return api.Invalid(k, "must be a number from 1 to %d", hi)
		}
		if k == "page" {
			p.Page = n
		} else {
			p.PerPage = n
		}
	case strings.HasPrefix(k, attrPrefix):
		name := k[len(attrPrefix):]
		if !x.facetAttr(name) {
			return api.Invalid(k, "%q is not a filterable attribute of the catalog", name)
		}
		at := a.attr(name)
		at.vals, err = addValue(cfg, k, at.vals, v, values)
	default:
		return api.Invalid(k, "unknown parameter (want q, category, brand, price_min, price_max, attr.{name}, in_stock, sort, page, per_page)")
	}
	return err
}

func sortUnique(v []string) []string {
	slices.Sort(v)
	return slices.Compact(v)
}

// check validates params built by a caller (the storefront) rather than
// parse, and fills the defaults.
func check(cfg *Config, p *api.SearchParams, n *textnorm.Normalizer) error {
	if p.Page == 0 {
		p.Page = 1
	}
	if p.PerPage == 0 {
		p.PerPage = cfg.DefaultPerPage
	}
	switch {
	case p.Page < 1 || p.Page > cfg.MaxPage:
		return api.Invalid("page", "must be a number from 1 to %d", cfg.MaxPage)
	case p.PerPage < 1 || p.PerPage > cfg.MaxPerPage:
		return api.Invalid("per_page", "must be a number from 1 to %d", cfg.MaxPerPage)
	case p.PriceMin < 0 || p.PriceMax < 0 || p.PriceMin > maxPrice || p.PriceMax > maxPrice:
		return api.Invalid("price_min", "prices must be from 0 to %d", int64(maxPrice))
	case p.PriceMax > 0 && p.PriceMin > p.PriceMax:
		return api.Invalid("price_min", "is above price_max")
	}
	if err := n.ParseQuery(p.Query, cfg.MaxQueryBytes, cfg.MaxQueryWords); err != nil {
		return api.Invalid("q", "%v (at most %d bytes and %d words of UTF-8)", err, cfg.MaxQueryBytes, cfg.MaxQueryWords)
	}
	switch p.Sort {
	case "":
		p.Sort = api.SortPopularity
		if len(n.Words) > 0 {
			p.Sort = api.SortRelevance
		}
	case api.SortRelevance, api.SortPopularity, api.SortPriceAsc, api.SortPriceDesc:
	default:
		return api.Invalid("sort", "must be relevance, popularity, price_asc or price_desc")
	}
	return nil
}

// appendKey appends the answer cache's key of a (parsed and checked) to
// dst: only normalised, sorted parameters, so equivalent requests share
// an entry. text is the normalised query.
func appendKey(dst []byte, gen uint64, a *queryArgs, text []byte) []byte {
	p := &a.p
	dst = binary.LittleEndian.AppendUint64(dst, gen)
	sort := p.Sort
	if sort == api.SortRelevance && len(text) == 0 {
		sort = api.SortPopularity // the same ranking without words
	}
	dst = appendStr(dst, sort)
	dst = binary.AppendUvarint(dst, uint64(p.Page))
	dst = binary.AppendUvarint(dst, uint64(p.PerPage))
	dst = binary.AppendVarint(dst, p.PriceMin)
	dst = binary.AppendVarint(dst, p.PriceMax)
	if p.InStock {
		dst = append(dst, 1)
	} else {
		dst = append(dst, 0)
	}
	dst = appendStr(dst, b2s(text))
	dst = appendStrs(dst, a.cats)
	dst = appendStrs(dst, a.brand)
	dst = binary.AppendUvarint(dst, uint64(len(a.attrs)))
	for i := range a.attrs {
		dst = appendStr(dst, a.attrs[i].name)
		dst = appendStrs(dst, a.attrs[i].vals)
	}
	return dst
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendStrs(dst []byte, vs []string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(vs)))
	for _, v := range vs {
		dst = appendStr(dst, v)
	}
	return dst
}
