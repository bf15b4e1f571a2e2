// Package suggest answers autocomplete queries (GET /v1/suggest) from a
// prefix index built when the edge loads the core's snapshot and updated in
// place by the change feed. Every normalised prefix of every word of a
// product's name, brand and leaf category maps to the best products by a
// ranking score (popularity, availability band); multi-word queries filter
// the lists of their most selective word (at most MaxExamined candidates);
// a word without any match is retried with one edit. Answers for hot
// queries are cached as bytes.
package suggest

import (
	"shopedge/internal/config"
)

// Config configures a Service.
type Config struct {
	// MaxPrefixLen is the longest indexed prefix in characters. Longer
	// query words use their capped prefix and are verified word by word.
	MaxPrefixLen int `yaml:"max_prefix_len"`
	// Depth is how many products each prefix keeps, best first. Multi-word
	// queries filter this list, so it is deeper than MaxLimit.
	Depth int `yaml:"depth"`
	// MaxExamined bounds the list entries one query examines (the
	// candidates of its driving words, each checked against the other
	// words). A multi-word or typo answer is then the best matches among
	// the first MaxExamined candidates, taken across the driver's lists
	// in step: exact when those lists hold every match, approximate (like
	// any list of Depth) otherwise. It bounds the tail latency.
	MaxExamined int `yaml:"max_examined"`
	// DefaultLimit is the number of products returned without ?limit=.
	DefaultLimit int `yaml:"default_limit"`
	// MaxLimit is the largest accepted ?limit=.
	MaxLimit int `yaml:"max_limit"`
	// MaxCategories is the length of the category list of an answer.
	MaxCategories int `yaml:"max_categories"`
	// MaxQueryBytes and MaxQueryWords bound a query; longer ones get 400.
	MaxQueryBytes int `yaml:"max_query_bytes"`
	MaxQueryWords int `yaml:"max_query_words"`
	// TypoMinChars is the shortest word retried with one edit.
	TypoMinChars int `yaml:"typo_min_chars"`
	// CategoryWords indexes the words of each product's leaf category
	// beside those of its name and brand. Off (the default), a product is
	// suggested for what its name and brand say: a category word then
	// no longer fills the lists with the category's most popular products
	// ahead of those whose names have the word. Recall@10 of the Best Buy
	// queries over the demo catalog (go run ./scripts/suggesteval): 0.966
	// off, 0.898 on. Search (edge/search) matches categories, ranked
	// below titles.
	CategoryWords bool `yaml:"category_words"`
	// InStockBoost, LowStockBoost and OutOfStockBoost are added to a
	// product's popularity to form its ranking score. The defaults put
	// every in-stock product above every low-stock one, and those above
	// out-of-stock ones; smaller boosts let popularity cross bands.
	InStockBoost    int64 `yaml:"in_stock_boost"`
	LowStockBoost   int64 `yaml:"low_stock_boost"`
	OutOfStockBoost int64 `yaml:"out_of_stock_boost"`
	// CacheBytes is the off-heap budget for cached answers (fastcache,
	// at least 32 MiB); 0 disables the answer cache.
	CacheBytes int `yaml:"cache_bytes"`
	// MaxAge is the Cache-Control max-age of answers in seconds.
	MaxAge int `yaml:"max_age"`
	// HotAnswers is the number of answers kept on-heap by raw query
	// string in front of the answer cache (rounded up to a power of two; 0
	// turns it off): the most typed keystrokes are answered without
	// decoding or normalising the query and without a copy.
	HotAnswers int `yaml:"hot_answers"`
	// HotAnswerBytes is the largest answer kept there.
	HotAnswerBytes int `yaml:"hot_answer_bytes"`
}

// DefaultConfig returns prefixes up to 12 characters, 64 products per
// prefix, 256 candidates examined per query, 10 results by default (20 at
// most), 5 categories, queries up to 100 bytes and 10 words, typo retries
// from 4 characters, strict availability tiers, a 32 MiB answer cache,
// max-age=60, and 16384 hot answers of up to 8 KiB (at most 128 MiB of
// heap; ~2.5 KiB each in practice).
func DefaultConfig() Config {
	return Config{
		MaxPrefixLen:    12,
		Depth:           64,
		MaxExamined:     256,
		DefaultLimit:    10,
		MaxLimit:        20,
		MaxCategories:   5,
		MaxQueryBytes:   100,
		MaxQueryWords:   10,
		TypoMinChars:    4,
		InStockBoost:    2 << 40,
		LowStockBoost:   1 << 40,
		OutOfStockBoost: 0,
		CacheBytes:      32 << 20,
		MaxAge:          60,
		HotAnswers:      16384,
		HotAnswerBytes:  8 << 10,
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.MaxPrefixLen < 1 || c.MaxPrefixLen > 60:
		return config.Invalid("max_prefix_len", "must be in 1..60, got %d", c.MaxPrefixLen)
	case c.MaxLimit < 1 || c.MaxLimit > 255:
		return config.Invalid("max_limit", "must be in 1..255, got %d", c.MaxLimit)
	case c.Depth < c.MaxLimit || c.Depth > 4096:
		return config.Invalid("depth", "must be in max_limit..4096, got %d", c.Depth)
	case c.MaxExamined < c.MaxLimit:
		return config.Invalid("max_examined", "must be >= max_limit, got %d", c.MaxExamined)
	case c.DefaultLimit < 1 || c.DefaultLimit > c.MaxLimit:
		return config.Invalid("default_limit", "must be in 1..max_limit, got %d", c.DefaultLimit)
	case c.MaxCategories < 0:
		return config.Invalid("max_categories", "must be >= 0, got %d", c.MaxCategories)
	case c.MaxQueryBytes < 1 || c.MaxQueryBytes > 1024:
		return config.Invalid("max_query_bytes", "must be in 1..1024, got %d", c.MaxQueryBytes)
	case c.MaxQueryWords < 1 || c.MaxQueryWords > 32:
		return config.Invalid("max_query_words", "must be in 1..32, got %d", c.MaxQueryWords)
	case c.TypoMinChars < 1:
		return config.Invalid("typo_min_chars", "must be >= 1, got %d", c.TypoMinChars)
	case c.InStockBoost < 0:
		return config.Invalid("in_stock_boost", "must be >= 0, got %d", c.InStockBoost)
	case c.LowStockBoost < 0:
		return config.Invalid("low_stock_boost", "must be >= 0, got %d", c.LowStockBoost)
	case c.OutOfStockBoost < 0:
		return config.Invalid("out_of_stock_boost", "must be >= 0, got %d", c.OutOfStockBoost)
	case c.HotAnswers < 0 || c.HotAnswers > 1<<20:
		return config.Invalid("hot_answers", "must be in 0..1048576, got %d", c.HotAnswers)
	case c.HotAnswerBytes < 0 || c.HotAnswerBytes > 1<<20:
		return config.Invalid("hot_answer_bytes", "must be in 0..1048576, got %d", c.HotAnswerBytes)
	case c.CacheBytes != 0 && c.CacheBytes < 32<<20:
		return config.Invalid("cache_bytes", "must be 0 or >= 32 MiB, got %d", c.CacheBytes)
	case c.MaxAge < 0:
		return config.Invalid("max_age", "must be >= 0, got %d", c.MaxAge)
	}
	return nil
}
