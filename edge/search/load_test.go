package search

import (
	"fmt"
	"testing"

	"shopedge/core/api"
)

func TestAttributesJSON(t *testing.T) {
	f := func(line, want string) {
		t.Helper()
		if got := attributesJSON(line); got != want {
			t.Fatalf("attributesJSON(%s) = %q, want %q", line, got, want)
		}
	}
	f(`{"id":"1","attributes":{"color":"Black"},"skus":[]}`, `{"color":"Black"}`)
	// The product's, not a SKU's; strings holding quotes and braces.
	f(`{"id":"1","description":"a \"attributes\":{} }{ [","skus":[{"sku":"a","attributes":{"v":"x"}}],"attributes":{"a":"}\""}}`, `{"a":"}\""}`)
	f(`{"id":"1","skus":[{"attributes":{"v":"x"}}]}`, "")
	f(`{ "popularity" : -12.5e3 , "attributes" : { "k" : "v" } }`, `{ "k" : "v" }`)
	f(`{"attributes":null}`, "")
	f(`{"attributes":{"k":"v"`, "")
	f(`[]`, "")
	f(``, "")
}

// TestLoadLineAttributes: a snapshot decoded as summaries (no
// attributes) with each product's line indexes the attributes from the
// line; lines sharing an attributes object share its decoding.
func TestLoadLineAttributes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AttrMinProducts = 1
	s := newLoaded(t, cfg, nil)
	s.BeginLoad()
	for i, c := range []string{"Red", "Blue", "Red"} {
		id := string(rune('a' + i))
		p := &api.Product{ID: id, Name: "Lamp " + id, Slug: "lamp-" + id, SKUs: []api.SKU{{SKU: id}}}
		line := fmt.Sprintf(`{"id":%q,"name":"Lamp","attributes":{"color":%q},"skus":[{"sku":%q,"attributes":{"color":"Green"}}]}`, id, c, id)
		s.LoadLine(p, []byte(line))
	}
	s.EndLoad(1)
	r := mustSearch(t, s, api.SearchParams{Query: "lamp", Attributes: map[string][]string{"color": {"Red"}}})
	if r.Total != 2 || len(r.Facets.Attributes["color"]) != 2 {
		t.Fatalf("%+v", r)
	}
	if r := mustSearch(t, s, api.SearchParams{Query: "blue"}); r.Total != 1 || r.Products[0].ID != "b" {
		t.Fatalf("attribute words: %+v", r)
	}
}
