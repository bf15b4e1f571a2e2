package httpapi

import (
	"strings"
	"testing"
	"time"
)

func TestPurgeAuth(t *testing.T) {
	e := newEnv(t, nil)
	body := `{"keys":["` + e.products[0].ID + `"]}`
	for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer wrong", "bearer " + testToken, "Basic " + testToken, "Bearer " + testToken + "x"} {
		r := e.do(t, "POST", "/admin/v1/purge", body, "Authorization", auth)
		if r.StatusCode() != 401 || !strings.Contains(string(r.Body()), `"unauthorized"`) {
			t.Errorf("Authorization %q: %d %s", auth, r.StatusCode(), r.Body())
		}
	}
	if ok := held(e.pages, 0, []byte(e.products[0].ID)); !ok {
		t.Fatal("an unauthorized purge dropped a page")
	}
}

func TestPurgeDisabledWithoutToken(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.AdminToken = "" })
	if r := e.do(t, "POST", "/admin/v1/purge", `{"all":true}`, "Authorization", "Bearer "); r.StatusCode() != 401 {
		t.Fatalf("purge with no configured token: %d", r.StatusCode())
	}
}

func TestPurgeBadBodies(t *testing.T) {
	e := newEnv(t, nil)
	for _, c := range []struct{ body, field string }{
		{``, "body"},
		{`null`, "keys"},
		{`[]`, "body"},
		{`{}`, "keys"},
		{`{"keys":[]}`, "keys"},
		{`{"keys":["a"],"all":true}`, "keys"},
		{`{"keys":["a"]}{}`, "body"},
		{`{"keys":["a"],"extra":1}`, "body"},
		{`{"keys":"a"}`, "body"},
		{`{"keys":[""]}`, "keys"},
		{`{"keys":["a b"]}`, "keys"},
		{`{"keys":["` + strings.Repeat("k", 200) + `"]}`, "keys"},
		{`{"all":"yes"}`, "body"},
		{`{"keys":["a"]`, "body"},
	} {
		r := e.do(t, "POST", "/admin/v1/purge", c.body, "Authorization", "Bearer "+testToken)
		if r.StatusCode() != 400 || !strings.Contains(string(r.Body()), `"field":"`+c.field+`"`) {
			t.Errorf("body %.40q: %d %s, want 400 naming %s", c.body, r.StatusCode(), r.Body(), c.field)
		}
	}
	for _, p := range e.products {
		if ok := held(e.pages, 0, []byte(p.ID)); !ok {
			t.Fatal("a rejected purge dropped a page")
		}
	}
	big := `{"keys":["` + strings.Repeat("a", 2<<20) + `"]}`
	if r := e.do(t, "POST", "/admin/v1/purge", big, "Authorization", "Bearer "+testToken); r.StatusCode() != 413 {
		t.Errorf("huge body: %d", r.StatusCode())
	}
}

func TestPurgeDropsAndRefetches(t *testing.T) {
	e := newEnv(t, nil)
	a, b := e.products[0], e.products[1]
	auth := []string{"Authorization", "Bearer " + testToken}
	r := e.do(t, "POST", "/admin/v1/purge", `{"keys":["product-`+a.ID+`","brand-nobody"]}`, auth...)
	if r.StatusCode() != 200 || string(r.Body()) != `{"purged":1}` {
		t.Fatalf("purge: %d %s", r.StatusCode(), r.Body())
	}
	if ok := held(e.pages, 0, []byte(a.ID)); ok {
		t.Fatal("purged page still stored")
	}
	if ok := held(e.pages, 0, []byte(b.ID)); !ok {
		t.Fatal("purge dropped another product")
	}
	calls := e.core.Calls("product")
	if r := e.do(t, "GET", "/v1/products/"+a.ID, ""); r.StatusCode() != 200 || e.core.Calls("product") != calls+1 {
		t.Fatalf("purged page not refetched: %d", r.StatusCode())
	}
	r = e.do(t, "POST", "/admin/v1/purge", `{"keys":["category-cell-phones"]}`, auth...)
	if string(r.Body()) != `{"purged":4}` {
		t.Fatalf("purge by category: %s", r.Body())
	}
	r = e.do(t, "POST", "/admin/v1/purge", `{"all":true}`, auth...)
	if r.StatusCode() != 200 || string(r.Body()) != `{"purged":0,"all":true}` {
		t.Fatalf("purge all: %d %s", r.StatusCode(), r.Body())
	}
	for _, p := range e.products {
		if ok := held(e.pages, 0, []byte(p.ID)); ok {
			t.Fatal("page survives purge all")
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	f := func(mut func(*Config), field string) {
		t.Helper()
		c := DefaultConfig()
		mut(&c)
		if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Fatalf("want error naming %s, got %v", field, err)
		}
	}
	f(func(c *Config) { c.MaxAge = -time.Second }, "max_age")
	f(func(c *Config) { c.NegativeTTL = 0 }, "negative_ttl")
	f(func(c *Config) { c.NegativeCacheBytes = 10 }, "negative_cache_bytes")
	f(func(c *Config) { c.RetryAfter = 0 }, "retry_after")
	f(func(c *Config) { c.MaxPurgeBodyBytes = 0 }, "max_purge_body_bytes")
	if got := DefaultConfig().cacheControl(); got != "public, max-age=60, s-maxage=300, stale-while-revalidate=60, stale-if-error=86400" {
		t.Fatal(got)
	}
}
