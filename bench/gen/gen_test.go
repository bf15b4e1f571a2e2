package gen

import (
	"errors"
	"reflect"
	"testing"

	"shopedge/core/api"
	"shopedge/core/catalog"
)

func source() []*api.Product {
	return []*api.Product{
		{ID: "a", Name: "Samsung Galaxy Phone Case", Brand: "Samsung", Categories: []string{"Phones", "Cases"},
			Image: "https://img/a.jpg", SKUs: []api.SKU{{SKU: "a", Price: &api.Money{Amount: 1999, Currency: "USD"}}}},
		{ID: "b", Name: "HP LaserJet Toner Cartridge Black", Brand: "HP", Categories: []string{"Printing", "Ink & Toner"},
			SKUs: []api.SKU{{SKU: "b"}}},
		{ID: "c", Name: "Apple iPhone Charger Cable", Brand: "Apple", Categories: []string{"Phones"},
			SKUs: []api.SKU{{SKU: "c", Price: &api.Money{Amount: 2999, Currency: "USD"}}}},
	}
}

func generate(t *testing.T, n int, seed int64) []*api.Product {
	t.Helper()
	var out []*api.Product
	if err := Products(n, seed, source(), func(p *api.Product) error { out = append(out, p); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestProductsDeterministicAndValid(t *testing.T) {
	a, b := generate(t, 500, 7), generate(t, 500, 7)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different products")
	}
	if c := generate(t, 500, 8); reflect.DeepEqual(a, c) {
		t.Fatal("different seeds gave the same products")
	}
	ids, skus := map[string]bool{}, map[string]bool{}
	brands := map[string]bool{"Samsung": true, "HP": true, "Apple": true}
	for _, p := range a {
		if err := catalog.Validate(p); err != nil {
			t.Fatalf("invalid product %+v: %v", p, err)
		}
		if ids[p.ID] {
			t.Fatalf("duplicate id %s", p.ID)
		}
		ids[p.ID] = true
		for _, s := range p.SKUs {
			if skus[s.SKU] {
				t.Fatalf("duplicate SKU %s", s.SKU)
			}
			skus[s.SKU] = true
		}
		if !brands[p.Brand] {
			t.Fatalf("brand %q not from the source", p.Brand)
		}
		if p.Categories[0] != "Phones" && p.Categories[0] != "Printing" {
			t.Fatalf("category %v not from the source", p.Categories)
		}
		if p.Categories[0] == "Printing" && p.SKUs[0].Price != nil {
			t.Fatalf("unpriced template gave a price: %+v", p)
		}
	}
	if len(a) != 500 {
		t.Fatalf("%d products", len(a))
	}
}

func TestProductsErrors(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := Products(10, 1, source(), func(*api.Product) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("fn error: %v after %d", err, n)
	}
	if err := Products(1, 1, nil, func(*api.Product) error { return nil }); err == nil {
		t.Fatal("empty source accepted")
	}
}
