package catalog

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"shopedge/core/api"
)

func validProduct() *api.Product {
	return &api.Product{
		ID: "p-1", Slug: "acme-phone-p-1", Name: "Acme Phone", Brand: "Acme",
		Categories:  []string{"Phones", "Smartphones"},
		Description: "Line one\n\tindented", Image: "https://img.example/p1.jpg",
		Popularity: 5, Attributes: map[string]string{"color": "Black"},
		SKUs: []api.SKU{
			{SKU: "p-1-a", Price: &api.Money{Amount: 1999, Currency: "USD"}},
			{SKU: "p-1-b", Attributes: map[string]string{"size": "L"}},
		},
	}
}

func TestValidateOK(t *testing.T) {
	p := validProduct()
	if err := Validate(p); err != nil {
		t.Fatal(err)
	}
	p.SKUs[0].Availability = "whatever" // ignored
	p.Image = ""
	p.SKUs[0].Price.Amount = MaxAmount
	p.ID = strings.Repeat("a", MaxIDLen)
	p.Name = strings.Repeat("é", MaxNameLen/2)
	if err := Validate(p); err != nil {
		t.Fatal(err)
	}
}

func TestValidateLimits(t *testing.T) {
	f := func(field string, mut func(p *api.Product)) {
		t.Helper()
		p := validProduct()
		mut(p)
		err := Validate(p)
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Code != api.ECodeInvalid {
			t.Fatalf("%s: got %v, want invalid", field, err)
		}
		if ae.Field != field {
			t.Fatalf("got field %q (%s), want %q", ae.Field, ae.Message, field)
		}
	}
	long := func(n int) string { return strings.Repeat("x", n) }
	attrs := func(n int) map[string]string {
		m := map[string]string{}
		for i := 0; i < n; i++ {
			m[fmt.Sprint("k", i)] = "v"
		}
		return m
	}
	f("id", func(p *api.Product) { p.ID = "" })
	f("id", func(p *api.Product) { p.ID = long(MaxIDLen + 1) })
	f("id", func(p *api.Product) { p.ID = "a/b" })
	f("id", func(p *api.Product) { p.ID = "a b" })
	f("id", func(p *api.Product) { p.ID = ".hidden" })
	f("id", func(p *api.Product) { p.ID = "a..b" })
	f("id", func(p *api.Product) { p.ID = "é" })
	f("slug", func(p *api.Product) { p.Slug = "" })
	f("slug", func(p *api.Product) { p.Slug = "a?b" })
	f("name", func(p *api.Product) { p.Name = "" })
	f("name", func(p *api.Product) { p.Name = long(MaxNameLen + 1) })
	f("name", func(p *api.Product) { p.Name = "a\nb" })
	f("name", func(p *api.Product) { p.Name = "bad \xff utf8" })
	f("brand", func(p *api.Product) { p.Brand = long(MaxBrandLen + 1) })
	f("brand", func(p *api.Product) { p.Brand = "a\x00" })
	f("categories", func(p *api.Product) { p.Categories = strings.Split(long(MaxCategories+1), "") })
	f("categories[1]", func(p *api.Product) { p.Categories[1] = long(MaxCategoryLen + 1) })
	f("categories[0]", func(p *api.Product) { p.Categories[0] = "" })
	f("description", func(p *api.Product) { p.Description = long(MaxDescriptionLen + 1) })
	f("description", func(p *api.Product) { p.Description = "bell\a" })
	f("image", func(p *api.Product) { p.Image = "ftp://x/y.jpg" })
	f("image", func(p *api.Product) { p.Image = "/relative.jpg" })
	f("image", func(p *api.Product) { p.Image = "https://x/" + long(MaxImageLen) })
	f("popularity", func(p *api.Product) { p.Popularity = -1 })
	f("attributes", func(p *api.Product) { p.Attributes = attrs(MaxAttributes + 1) })
	f("attributes", func(p *api.Product) { p.Attributes = map[string]string{long(MaxAttrKeyLen + 1): "v"} })
	f("attributes.color", func(p *api.Product) { p.Attributes["color"] = long(MaxAttrValueLen + 1) })
	f("skus", func(p *api.Product) { p.SKUs = nil })
	f("skus", func(p *api.Product) {
		p.SKUs = nil
		for i := 0; i <= MaxSKUs; i++ {
			p.SKUs = append(p.SKUs, api.SKU{SKU: fmt.Sprint("s", i)})
		}
	})
	f("skus[1].sku", func(p *api.Product) { p.SKUs[1].SKU = p.SKUs[0].SKU })
	f("skus[1].sku", func(p *api.Product) { p.SKUs[1].SKU = "" })
	f("skus[0].price.amount", func(p *api.Product) { p.SKUs[0].Price.Amount = -1 })
	f("skus[0].price.amount", func(p *api.Product) { p.SKUs[0].Price.Amount = MaxAmount + 1 })
	f("skus[0].price.currency", func(p *api.Product) { p.SKUs[0].Price.Currency = "usd" })
	f("skus[0].price.currency", func(p *api.Product) { p.SKUs[0].Price.Currency = "USDX" })
	f("skus[1].attributes", func(p *api.Product) { p.SKUs[1].Attributes = attrs(MaxAttributes + 1) })
	f("skus[1].attributes.size", func(p *api.Product) { p.SKUs[1].Attributes["size"] = "\x1b[31m" })
}

func TestDecodeStrict(t *testing.T) {
	f := func(in, field string) {
		t.Helper()
		var p api.Product
		err := DecodeStrict([]byte(in), &p)
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Code != api.ECodeInvalid || !strings.Contains(ae.Field, field) {
			t.Fatalf("DecodeStrict(%s) = %v, want invalid naming %q", in, err, field)
		}
	}
	f(`{"id":"a","bogus":1}`, "bogus")
	f(`{"id":"a","skus":[{"sku":"x","extra":true}]}`, "extra")
	f(`{"id":5}`, "id")
	f(`{"skus":[{"sku":"x","price":{"amount":"1"}}]}`, "amount")
	f(`{"popularity":1.5}`, "popularity")
	f(`{"id":"a"} {"id":"b"}`, "body")
	f(`{"id":"a"`, "body")
	f(`{"skus":[{"sku":"x"},{"sku":"y","price":{"amount":1,"currency":"USD","cents":1}}]}`, "skus[1].price.cents")
	f(`{"\u0069d":"a","n\u0061me2":1}`, "name2")
	f(`{"skus":[{"SKU":"x","Colour":1}]}`, "skus[0].Colour") // keys fold as in encoding/json; the path keeps the input's case
	ok := func(in string) {
		t.Helper()
		var l importLine
		if err := decodeStrict([]byte(in), &l, importSchema); err != nil {
			t.Fatalf("decodeStrict(%s) = %v", in, err)
		}
	}
	ok(` {"id":"a","skus":[]} `)
	ok(`{"ID":"a","Skus":[{"SKU":"s"}]}`) // keys match fields as encoding/json matches them
	ok(`{"\u0069d":"a","attributes":{"any key":"v","x\"y":"z","{":"}"},"skus":[{"sku":"s","price":null,"attributes":{"colour":"red"}}],"stock":{"s":3}}`)
	ok(`{"description":"brace } and ] and \" inside","popularity":12,"categories":["a","b"]}`)
	var p api.Product
	if err := DecodeStrict([]byte(`{"id":"a","stock":{}}`), &p); err == nil {
		t.Fatal("stock accepted outside an import line")
	}
}
