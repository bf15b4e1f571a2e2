package search

import (
	"slices"
	"strings"
	"testing"

	"shopedge/core/api"
)

// TestFacetValuesFoldCase: on the demo catalog, attribute values that
// differ only in case ("Yellow" on 306 printing supplies, "yellow" on
// 139) are one facet value, shown with the most common spelling, counted
// as the catalog counts them case-insensitively (an independent count
// over the products), and a filter in either spelling selects them all
// and marks the shown value. A feed event with a third spelling joins
// the same value. Seen failing with the fold turned off in finishLoad
// (both spellings listed) and in the filter lookup ("yellow" selecting
// nothing). It does not check which spelling a value first seen from
// the feed shows (the property test does, against the oracle).
func TestFacetValuesFoldCase(t *testing.T) {
	ps := demoProducts(t)
	s := newLoaded(t, DefaultConfig(), ps)
	const attr = "printing colours"
	spellings := map[string]int{}
	want := 0
	for _, p := range ps {
		if v := p.Attributes[attr]; slices.Contains(p.Categories, "Printing") && strings.EqualFold(v, "yellow") {
			spellings[v]++
			want++
		}
	}
	if len(spellings) < 2 || spellings["Yellow"] <= spellings["yellow"] {
		t.Fatalf("the demo catalog no longer has Yellow more often than yellow: %v", spellings)
	}
	facet := func(r *api.SearchResult) []api.FacetValue {
		t.Helper()
		vs, ok := r.Facets.Attributes[attr]
		if !ok {
			t.Fatalf("no %q facet in %v", attr, r.Facets.Attributes)
		}
		seen := map[string]string{}
		for _, v := range vs {
			if prev, ok := seen[strings.ToLower(v.Value)]; ok {
				t.Fatalf("%q and %q both listed", prev, v.Value)
			}
			seen[strings.ToLower(v.Value)] = v.Value
		}
		return vs
	}
	find := func(vs []api.FacetValue, v string) api.FacetValue {
		for _, f := range vs {
			if f.Value == v {
				return f
			}
		}
		t.Fatalf("%q not listed in %v", v, vs)
		return api.FacetValue{}
	}
	r := mustSearch(t, s, api.SearchParams{Categories: []string{"Printing"}})
	if f := find(facet(r), "Yellow"); f.Count != want || f.Selected {
		t.Fatalf("Yellow: %+v, want count %d, not selected", f, want)
	}
	// Every facet of the answer, not only the one above.
	for name, vs := range r.Facets.Attributes {
		seen := map[string]bool{}
		for _, v := range vs {
			if seen[strings.ToLower(v.Value)] {
				t.Errorf("facet %q lists %q twice in case", name, v.Value)
			}
			seen[strings.ToLower(v.Value)] = true
		}
	}
	for _, sel := range [][]string{{"yellow"}, {"Yellow"}, {"YELLOW", "yellow"}} {
		r := mustSearch(t, s, api.SearchParams{Categories: []string{"Printing"}, Attributes: map[string][]string{attr: sel}})
		if r.Total != want {
			t.Fatalf("attr %v: total %d, want %d", sel, r.Total, want)
		}
		if f := find(facet(r), "Yellow"); f.Count != want || !f.Selected {
			t.Fatalf("attr %v: Yellow %+v, want count %d, selected", sel, f, want)
		}
	}
	// Through the handler, where the filter comes from the query string.
	ctx := get(s.HandleSearch, "/v1/search?category=Printing&attr.printing+colours=yellow&per_page=1")
	if ctx.Response.StatusCode() != 200 || !strings.Contains(string(ctx.Response.Body()), `{"value":"Yellow","count":`) {
		t.Fatalf("handler: %d %.300s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	// A feed event with another spelling joins the value.
	var p api.Product
	for _, q := range ps {
		if slices.Contains(q.Categories, "Printing") && q.Attributes[attr] == "Cyan" {
			p = *q
			break
		}
	}
	p.Attributes = map[string]string{attr: "YELLOW"}
	s.Apply(&api.Event{Seq: 2, Type: api.EventUpsert, Product: &p})
	r = mustSearch(t, s, api.SearchParams{Categories: []string{"Printing"}})
	if f := find(facet(r), "Yellow"); f.Count != want+1 {
		t.Fatalf("after a YELLOW upsert: Yellow %+v, want count %d", f, want+1)
	}
}
