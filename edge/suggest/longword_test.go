package suggest

import (
	"fmt"
	"slices"
	"testing"

	"shopedge/core/api"
)

func TestOneEdit(t *testing.T) {
	f := func(a, b string, want bool) {
		t.Helper()
		if got := oneEdit(a, b); got != want {
			t.Fatalf("oneEdit(%q, %q) = %v, want %v", a, b, got, want)
		}
		if got := oneEdit(b, a); got != want {
			t.Fatalf("oneEdit(%q, %q) = %v, want %v", b, a, got, want)
		}
	}
	f("abc", "abc", false)
	f("abc", "abd", true)
	f("abc", "xbc", true)
	f("abc", "ab", true)
	f("abc", "bc", true)
	f("abc", "abcd", true)
	f("abc", "acb", true)
	f("abc", "bac", true)
	f("abc", "cba", false)
	f("abc", "a", false)
	f("abcd", "abdc", true)
	f("abcd", "axcy", false)
	f("", "a", true)
	f("", "", false)
}

// TestLongWords: a query word longer than the indexed prefix is verified
// against the products' words, and retried with one edit past the prefix
// when no word starts with it.
func TestLongWords(t *testing.T) {
	mk := func(id, name string, pop int64) *api.Product {
		return &api.Product{ID: id, Slug: id, Name: name, Popularity: pop, SKUs: []api.SKU{{SKU: id}}}
	}
	cfg := testConfig()
	cfg.MaxPrefixLen = 8
	s := newLoaded(t, cfg, []*api.Product{
		mk("toaster", "Supercalifragilistic Toaster", 10),
		mk("oven", "Supercalifragilistix Oven", 20),
		mk("kettle", "Supercalm Kettle", 30),
	})
	f := func(q string, want string) {
		t.Helper()
		if got := fmt.Sprint(ids(mustSuggest(t, s, q, 10))); got != want {
			t.Fatalf("%q: %s, want %s", q, got, want)
		}
	}
	f("supercal", "[kettle oven toaster]")
	f("supercalifragilistic", "[toaster]")
	f("supercalifragilistix", "[oven]")
	f("supercalifragilistic toa", "[toaster]")
	f("supercalifragilistic ove", "[]")
	// No word starts with these: one edit past the prefix finds them.
	f("supercalifragilisticc", "[toaster]")
	f("supercalifragilistuc", "[toaster]")
	f("supercalifragilitsic", "[toaster]")
	f("supercalifragilistci", "[oven toaster]") // "supercalifragilisti" is one deletion away
	f("supercalifragilistz", "[oven toaster]")
	f("supercalifragilistiq", "[oven toaster]")
	f("supercalifragilizzzz", "[]")
	// Exact matches rank above corrections.
	f("supercalm", "[kettle]")
	s.Apply(&api.Event{Seq: 2, Type: api.EventDelete, ID: "toaster"})
	f("supercalifragilisticc", "[]")
	f("supercalifragilistiq", "[oven]")
}

// TestTypoCacheFollowsChanges: corrections remembered for a word follow
// products that lose or change their words (only four corrections are
// kept, the ones most products have).
func TestTypoCacheFollowsChanges(t *testing.T) {
	mk := func(id, name string) *api.Product {
		return &api.Product{ID: id, Slug: id, Name: name, SKUs: []api.SKU{{SKU: id}}}
	}
	var ps []*api.Product
	for _, w := range []string{"qwarty", "qwbrty", "qwcrty", "qwdrty"} {
		ps = append(ps, mk(w+"1", w), mk(w+"2", w))
	}
	ps = append(ps, mk("qwerty1", "qwerty"))
	s := newLoaded(t, testConfig(), ps)
	f := func(want string) {
		t.Helper()
		got := ids(mustSuggest(t, s, "qwxrty", 20))
		slices.Sort(got)
		if fmt.Sprint(got) != want {
			t.Fatalf("qwxrty: %v, want %s", got, want)
		}
	}
	f("[qwarty1 qwarty2 qwbrty1 qwbrty2 qwcrty1 qwcrty2 qwdrty1 qwdrty2]")
	s.Apply(&api.Event{Seq: 2, Type: api.EventDelete, ID: "qwarty1"})
	s.Apply(&api.Event{Seq: 3, Type: api.EventDelete, ID: "qwarty2"})
	f("[qwbrty1 qwbrty2 qwcrty1 qwcrty2 qwdrty1 qwdrty2 qwerty1]")
	s.Apply(&api.Event{Seq: 4, Type: api.EventUpsert, Product: mk("qwarty1", "qwarty")})
	s.Apply(&api.Event{Seq: 5, Type: api.EventUpsert, Product: mk("qwarty2", "qwarty")})
	s.Apply(&api.Event{Seq: 6, Type: api.EventUpsert, Product: mk("qwarty3", "qwarty")})
	s.Apply(&api.Event{Seq: 7, Type: api.EventUpsert, Product: mk("qwbrty1", "other")})
	s.Apply(&api.Event{Seq: 8, Type: api.EventUpsert, Product: mk("qwbrty2", "other")})
	f("[qwarty1 qwarty2 qwarty3 qwcrty1 qwcrty2 qwdrty1 qwdrty2 qwerty1]")
}
