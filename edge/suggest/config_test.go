package suggest

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	f := func(mut func(*Config), field string) {
		t.Helper()
		c := DefaultConfig()
		mut(&c)
		if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Fatalf("want error naming %s, got %v", field, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	f(func(c *Config) { c.MaxPrefixLen = 0 }, "max_prefix_len")
	f(func(c *Config) { c.MaxLimit = 256 }, "max_limit")
	f(func(c *Config) { c.DefaultLimit = 0 }, "default_limit")
	f(func(c *Config) { c.MaxQueryBytes = 0 }, "max_query_bytes")
	f(func(c *Config) { c.CacheBytes = 1 }, "cache_bytes")
	f(func(c *Config) { c.HotAnswers = -1 }, "hot_answers")
	f(func(c *Config) { c.HotAnswers = 1<<20 + 1 }, "hot_answers")
	f(func(c *Config) { c.HotAnswerBytes = -1 }, "hot_answer_bytes")
}
