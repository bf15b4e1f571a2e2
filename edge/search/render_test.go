package search

import (
	"reflect"
	"strings"
	"testing"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
)

// TestAnswerProductsRendered checks every listed product's fields
// against the product loaded (not against the index's own state): URL
// from the slug or, without one, api.AppendSlug; image, price and
// currency as given; availability by band; highlights never null in the
// JSON and each one spanning a name word that the query matches. It
// guards the rendering against changes made for speed (seen failing
// when a product without highlights encoded "null"); it does not check
// the ranking.
func TestAnswerProductsRendered(t *testing.T) {
	ps := []*api.Product{
		{ID: "p1", Name: "Galaxy Phone Case", Slug: "galaxy-case", Brand: "Acme", Image: "https://img.example/a/1.jpg",
			Categories: []string{"Phones", "Cases"}, Popularity: 9,
			SKUs: []api.SKU{{SKU: "s1", Price: &api.Money{Amount: 1999, Currency: "USD"}, Availability: api.InStock}}},
		{ID: "p2", Name: "Phone Charger", Brand: "Acme", Categories: []string{"Phones"}, Popularity: 8,
			SKUs: []api.SKU{{SKU: "s2", Price: &api.Money{Amount: 2500, Currency: "EUR"}, Availability: api.LowStock}}},
		{ID: "p3", Name: "Cable", Brand: "Phone Co", Image: "https://img.example/b/3.png", Categories: []string{"Phones"}, Popularity: 7,
			SKUs: []api.SKU{{SKU: "s3", Availability: api.OutOfStock}}},
	}
	byID := map[string]*api.Product{}
	for _, p := range ps {
		byID[p.ID] = p
	}
	s := newLoaded(t, DefaultConfig(), ps)
	for _, q := range []string{"phone", "", "acme"} {
		r := mustSearch(t, s, api.SearchParams{Query: q, Sort: api.SortPopularity, Page: 1, PerPage: 10})
		if len(r.Products) == 0 {
			t.Fatalf("%q: no products", q)
		}
		for _, sp := range r.Products {
			p := byID[sp.ID]
			wantURL := "/products/" + p.Slug
			if p.Slug == "" {
				wantURL = string(api.AppendSlug([]byte("/products/"), p.Name, p.ID))
			}
			if sp.Name != p.Name || sp.URL != wantURL || sp.Image != p.Image {
				t.Errorf("%q: %s: name %q url %q image %q, want %q %q %q", q, p.ID, sp.Name, sp.URL, sp.Image, p.Name, wantURL, p.Image)
			}
			sku := p.SKUs[0]
			switch {
			case sku.Price == nil && sp.Price != nil:
				t.Errorf("%q: %s: price %+v, want none", q, p.ID, *sp.Price)
			case sku.Price != nil && (sp.Price == nil || *sp.Price != *sku.Price):
				t.Errorf("%q: %s: price %v, want %+v", q, p.ID, sp.Price, sku.Price)
			}
			if sp.Availability != sku.Availability {
				t.Errorf("%q: %s: availability %q, want %q", q, p.ID, sp.Availability, sku.Availability)
			}
			if sp.Highlights == nil {
				t.Errorf("%q: %s: nil highlights", q, p.ID)
			}
			for _, h := range sp.Highlights {
				if w := strings.ToLower(p.Name[h[0]:h[1]]); q == "" || !strings.HasPrefix(w, q) {
					t.Errorf("%q: %s: highlight %q", q, p.ID, w)
				}
			}
		}
		body, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(body), `"highlights":null`) {
			t.Errorf("%q: %s", q, body)
		}
	}
}

// TestHighlightFilterChangesNothing: the highlights with the name words
// mayMatch rules out skipped equal those of a lookup of every word, over
// the Best Buy queries (and their prefixes, as typed) at the demo
// catalog. Seen failing: mayMatch without the stem test, or without the
// typo test (corrections no longer marked). It proves nothing about
// catalogs whose
// words the demo lacks.
func TestHighlightFilterChangesNothing(t *testing.T) {
	s := newLoaded(t, DefaultConfig(), demoProducts(t))
	defer func() { highlightFilter = true }()
	n := 0
	for _, q := range benchQueries(t) {
		for _, qq := range []string{q, strings.ToValidUTF8(q[:len(q)/2], "")} {
			p := api.SearchParams{Query: qq, PerPage: 20}
			highlightFilter = true
			got := mustSearch(t, s, p)
			highlightFilter = false
			want := mustSearch(t, s, p)
			for i := range want.Products {
				if !reflect.DeepEqual(got.Products[i].Highlights, want.Products[i].Highlights) {
					t.Fatalf("%q: %q: highlights %v, want %v", qq, want.Products[i].Name, got.Products[i].Highlights, want.Products[i].Highlights)
				}
				n += len(want.Products[i].Highlights)
			}
		}
	}
	if n == 0 {
		t.Fatal("no highlights at all")
	}
}
