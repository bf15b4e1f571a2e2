package search

import (
	"fmt"
	"time"

	"shopedge/internal/config"
)

// Config configures a Service.
type Config struct {
	// DefaultPerPage is the page size without ?per_page=; MaxPerPage the
	// largest accepted; MaxPage the last page that may be asked for.
	DefaultPerPage int `yaml:"default_per_page"`
	MaxPerPage     int `yaml:"max_per_page"`
	MaxPage        int `yaml:"max_page"`
	// MaxQueryBytes and MaxQueryWords bound q; longer ones get 400.
	MaxQueryBytes int `yaml:"max_query_bytes"`
	MaxQueryWords int `yaml:"max_query_words"`
	// MaxFilterValues bounds the values of one filter parameter
	// (category, brand, one attr.{name}); MaxValueBytes one value.
	MaxFilterValues int `yaml:"max_filter_values"`
	MaxValueBytes   int `yaml:"max_value_bytes"`
	// TypoMinChars is the shortest query word forgiven one typo (an
	// insertion, deletion, substitution or transposition) when no word of
	// the catalog matches it as typed.
	TypoMinChars int `yaml:"typo_min_chars"`
	// FacetValues is the most values listed per facet (category, brand,
	// each attribute), by count; selected values are always listed.
	FacetValues int `yaml:"facet_values"`
	// PriceRanges is the number of ranges of the price facet, chosen from
	// the catalog's prices at each snapshot load (round bounds near equal
	// shares of the products).
	PriceRanges int `yaml:"price_ranges"`
	// An attribute is a facet (and filterable, and its values searchable)
	// when it has 2..AttrMaxValues distinct values and AttrMinShare of
	// the products of some category with at least AttrMinProducts
	// products have it. A search with a category selected lists the
	// AttrFacets attributes most present in those categories. The choice
	// is made at each snapshot load.
	AttrMinShare    float64 `yaml:"attr_min_share"`
	AttrMinProducts int     `yaml:"attr_min_products"`
	AttrMaxValues   int     `yaml:"attr_max_values"`
	AttrFacets      int     `yaml:"attr_facets"`
	// InStockBoost, LowStockBoost and OutOfStockBoost are added to a
	// product's popularity to form its ranking score (as suggest's): the
	// defaults put every in-stock product above every low-stock one, and
	// those above out-of-stock ones.
	InStockBoost    int64 `yaml:"in_stock_boost"`
	LowStockBoost   int64 `yaml:"low_stock_boost"`
	OutOfStockBoost int64 `yaml:"out_of_stock_boost"`
	// CacheBytes is the off-heap budget for cached answers (fastcache, at
	// least 32 MiB); 0 disables the answer cache.
	CacheBytes int `yaml:"cache_bytes"`
	// HotAnswers is the number of answers kept on-heap by raw query
	// string in front of the answer cache (rounded up to a power of two;
	// 0 turns it off); HotAnswerBytes the largest kept there.
	HotAnswers     int `yaml:"hot_answers"`
	HotAnswerBytes int `yaml:"hot_answer_bytes"`
	// Cache-Control of answers: browsers (max_age), shared caches
	// (s_maxage), and how long a CDN may serve a stale copy while it
	// revalidates or while the edge fails.
	MaxAge               time.Duration `yaml:"max_age"`
	SMaxAge              time.Duration `yaml:"s_maxage"`
	StaleWhileRevalidate time.Duration `yaml:"stale_while_revalidate"`
	StaleIfError         time.Duration `yaml:"stale_if_error"`
}

// DefaultConfig returns 24 products per page (100 at most, 1,000 pages),
// queries up to 200 bytes and 10 words, 32 values per filter of up to 200
// bytes, typos forgiven from 5 characters, 20 values per facet, 6 price
// ranges, attribute facets present on 5 % of a category of 20 products
// or more with at most 100 values (6 listed), suggest's availability
// boosts, a 32 MiB answer cache, 4096 hot answers of up to 64 KiB, and
// max-age 30 s, s-maxage 60 s, stale-while-revalidate 30 s,
// stale-if-error 1 day.
func DefaultConfig() Config {
	return Config{
		DefaultPerPage:       24,
		MaxPerPage:           100,
		MaxPage:              1000,
		MaxQueryBytes:        200,
		MaxQueryWords:        10,
		MaxFilterValues:      32,
		MaxValueBytes:        200,
		TypoMinChars:         5,
		FacetValues:          20,
		PriceRanges:          6,
		AttrMinShare:         0.05,
		AttrMinProducts:      20,
		AttrMaxValues:        100,
		AttrFacets:           6,
		InStockBoost:         2 << 40,
		LowStockBoost:        1 << 40,
		OutOfStockBoost:      0,
		CacheBytes:           32 << 20,
		HotAnswers:           4096,
		HotAnswerBytes:       64 << 10,
		MaxAge:               30 * time.Second,
		SMaxAge:              time.Minute,
		StaleWhileRevalidate: 30 * time.Second,
		StaleIfError:         24 * time.Hour,
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.MaxPerPage < 1 || c.MaxPerPage > 1000:
		return config.Invalid("max_per_page", "must be in 1..1000, got %d", c.MaxPerPage)
	case c.DefaultPerPage < 1 || c.DefaultPerPage > c.MaxPerPage:
		return config.Invalid("default_per_page", "must be in 1..max_per_page, got %d", c.DefaultPerPage)
	case c.MaxPage < 1 || c.MaxPage > 100000:
		return config.Invalid("max_page", "must be in 1..100000, got %d", c.MaxPage)
	case c.MaxQueryBytes < 1 || c.MaxQueryBytes > 4096:
		return config.Invalid("max_query_bytes", "must be in 1..4096, got %d", c.MaxQueryBytes)
	case c.MaxQueryWords < 1 || c.MaxQueryWords > 32:
		return config.Invalid("max_query_words", "must be in 1..32, got %d", c.MaxQueryWords)
	case c.MaxFilterValues < 1 || c.MaxFilterValues > 1000:
		return config.Invalid("max_filter_values", "must be in 1..1000, got %d", c.MaxFilterValues)
	case c.MaxValueBytes < 1 || c.MaxValueBytes > 4096:
		return config.Invalid("max_value_bytes", "must be in 1..4096, got %d", c.MaxValueBytes)
	case c.TypoMinChars < 1:
		return config.Invalid("typo_min_chars", "must be >= 1, got %d", c.TypoMinChars)
	case c.FacetValues < 1 || c.FacetValues > 1000:
		return config.Invalid("facet_values", "must be in 1..1000, got %d", c.FacetValues)
	case c.PriceRanges < 1 || c.PriceRanges > 20:
		return config.Invalid("price_ranges", "must be in 1..20, got %d", c.PriceRanges)
	case c.AttrMinShare <= 0 || c.AttrMinShare > 1:
		return config.Invalid("attr_min_share", "must be in (0, 1], got %g", c.AttrMinShare)
	case c.AttrMinProducts < 1:
		return config.Invalid("attr_min_products", "must be >= 1, got %d", c.AttrMinProducts)
	case c.AttrMaxValues < 2 || c.AttrMaxValues > 10000:
		return config.Invalid("attr_max_values", "must be in 2..10000, got %d", c.AttrMaxValues)
	case c.AttrFacets < 0 || c.AttrFacets > 100:
		return config.Invalid("attr_facets", "must be in 0..100, got %d", c.AttrFacets)
	case c.InStockBoost < 0:
		return config.Invalid("in_stock_boost", "must be >= 0, got %d", c.InStockBoost)
	case c.LowStockBoost < 0:
		return config.Invalid("low_stock_boost", "must be >= 0, got %d", c.LowStockBoost)
	case c.OutOfStockBoost < 0:
		return config.Invalid("out_of_stock_boost", "must be >= 0, got %d", c.OutOfStockBoost)
	case c.CacheBytes != 0 && c.CacheBytes < 32<<20:
		return config.Invalid("cache_bytes", "must be 0 or >= 32 MiB, got %d", c.CacheBytes)
	case c.HotAnswers < 0 || c.HotAnswers > 1<<20:
		return config.Invalid("hot_answers", "must be in 0..1048576, got %d", c.HotAnswers)
	case c.HotAnswerBytes < 0 || c.HotAnswerBytes > 1<<20:
		return config.Invalid("hot_answer_bytes", "must be in 0..1048576, got %d", c.HotAnswerBytes)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"max_age", c.MaxAge}, {"s_maxage", c.SMaxAge}, {"stale_while_revalidate", c.StaleWhileRevalidate}, {"stale_if_error", c.StaleIfError}} {
		if d.v < 0 {
			return config.Invalid(d.name, "must be >= 0, got %s", d.v)
		}
	}
	return nil
}

func (c Config) cacheControl() string {
	return fmt.Sprintf("public, max-age=%d, s-maxage=%d, stale-while-revalidate=%d, stale-if-error=%d",
		int(c.MaxAge.Seconds()), int(c.SMaxAge.Seconds()), int(c.StaleWhileRevalidate.Seconds()), int(c.StaleIfError.Seconds()))
}
