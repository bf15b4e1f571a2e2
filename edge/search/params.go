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

// parse validates a search's query string (see Service.Parse). known
// reports whether an attribute name can be filtered on.
func parse(cfg *Config, args *fasthttp.Args, known func(string) bool) (api.SearchParams, error) {
	p := api.SearchParams{Page: 1, PerPage: cfg.DefaultPerPage}
	seen := map[string]bool{}
	var err error
	scalar := func(k string) bool {
		if seen[k] {
			err = api.Invalid(k, "given more than once")
			return false
		}
		seen[k] = true
		return true
	}
	values := 0
	add := func(k string, dst []string, v string) []string {
		if v == "" {
			return dst // an empty form field
		}
		if len(v) > cfg.MaxValueBytes {
			err = api.Invalid(k, "values are at most %d bytes", cfg.MaxValueBytes)
			return dst
		}
		if len(dst) >= cfg.MaxFilterValues {
			err = api.Invalid(k, "at most %d values", cfg.MaxFilterValues)
			return dst
		}
		values++
		return append(dst, strings.Clone(v))
	}
	for kb, vb := range args.All() {
		k, v := b2s(kb), b2s(vb)
		if k == "" {
			return p, api.Invalid(`""`, "a parameter has no name")
		}
		if !utf8.ValidString(k) {
			return p, api.Invalid(strconv.QuoteToASCII(k), "parameter name is not valid UTF-8")
		}
		if !utf8.ValidString(v) {
			return p, api.Invalid(k, "is not valid UTF-8")
		}
		switch {
		case k == "q":
			if !scalar(k) {
				break
			}
			if len(v) > cfg.MaxQueryBytes {
				return p, api.Invalid(k, "is longer than %d bytes", cfg.MaxQueryBytes)
			}
			p.Query = strings.Clone(v)
		case k == "category":
			p.Categories = add(k, p.Categories, v)
		case k == "brand":
			p.Brands = add(k, p.Brands, v)
		case k == "price_min" || k == "price_max":
			if !scalar(k) || v == "" {
				break
			}
			n, perr := strconv.ParseInt(v, 10, 64)
			lo := int64(0)
			if k == "price_max" {
				lo = 1
			}
			if perr != nil || n < lo || n > maxPrice {
				return p, api.Invalid(k, "must be a whole number of minor units from %d to %d", lo, int64(maxPrice))
			}
			if k == "price_min" {
				p.PriceMin = n
			} else {
				p.PriceMax = n
			}
		case k == "in_stock":
			if !scalar(k) || v == "" {
				break
			}
			switch v {
			case "1", "true":
				p.InStock = true
			case "0", "false":
			default:
				return p, api.Invalid(k, "must be 1 or 0")
			}
		case k == "sort":
			if !scalar(k) || v == "" {
				break
			}
			switch v {
			case api.SortRelevance, api.SortPopularity, api.SortPriceAsc, api.SortPriceDesc:
				p.Sort = v
			default:
				return p, api.Invalid(k, "must be relevance, popularity, price_asc or price_desc")
			}
		case k == "page" || k == "per_page":
			if !scalar(k) || v == "" {
				break
			}
			hi := cfg.MaxPage
			if k == "per_page" {
				hi = cfg.MaxPerPage
			}
			n, perr := strconv.Atoi(v)
			if perr != nil || n < 1 || n > hi {
				return p, api.Invalid(k, "must be a number from 1 to %d", hi)
			}
			if k == "page" {
				p.Page = n
			} else {
				p.PerPage = n
			}
		case strings.HasPrefix(k, attrPrefix):
			name := k[len(attrPrefix):]
			if !known(name) {
				return p, api.Invalid(k, "%q is not a filterable attribute of the catalog", name)
			}
			if p.Attributes == nil {
				p.Attributes = map[string][]string{}
			}
			vals := add(k, p.Attributes[name], v)
			if len(vals) > 0 {
				p.Attributes[strings.Clone(name)] = vals
			}
		default:
			return p, api.Invalid(k, "unknown parameter (want q, category, brand, price_min, price_max, attr.{name}, in_stock, sort, page, per_page)")
		}
		if err != nil {
			return p, err
		}
	}
	if p.PriceMax > 0 && p.PriceMin > p.PriceMax {
		return p, api.Invalid("price_min", "is above price_max")
	}
	p.Categories = sortUnique(p.Categories)
	p.Brands = sortUnique(p.Brands)
	for k, v := range p.Attributes {
		p.Attributes[k] = sortUnique(v)
	}
	if len(p.Attributes) == 0 {
		p.Attributes = nil
	}
	return p, nil
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

// appendKey appends the answer cache's key of p (checked) to dst: only
// normalised, sorted parameters, so equivalent requests share an entry.
// text is the normalised query.
func appendKey(dst []byte, gen uint64, p *api.SearchParams, text []byte) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, gen)
	sort := p.Sort
	if sort == api.SortRelevance && len(text) == 0 {
		sort = api.SortPopularity // the same ranking without words
	}
	str := func(s string) { dst = binary.AppendUvarint(dst, uint64(len(s))); dst = append(dst, s...) }
	str(sort)
	dst = binary.AppendUvarint(dst, uint64(p.Page))
	dst = binary.AppendUvarint(dst, uint64(p.PerPage))
	dst = binary.AppendVarint(dst, p.PriceMin)
	dst = binary.AppendVarint(dst, p.PriceMax)
	if p.InStock {
		dst = append(dst, 1)
	} else {
		dst = append(dst, 0)
	}
	str(b2s(text))
	list := func(vs []string) {
		dst = binary.AppendUvarint(dst, uint64(len(vs)))
		for _, v := range vs {
			str(v)
		}
	}
	list(p.Categories)
	list(p.Brands)
	names := sortedKeys(p.Attributes)
	dst = binary.AppendUvarint(dst, uint64(len(names)))
	for _, k := range names {
		str(k)
		list(p.Attributes[k])
	}
	return dst
}
