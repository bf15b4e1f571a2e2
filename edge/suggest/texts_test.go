package suggest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"shopedge/core/api"
)

// TestDerivedSlug: derivedSlug and api.AppendSlug agree with api.Slug, on the demo catalog
// and on random names (long ones, punctuation, non-ASCII), for the real
// slug and for slugs one edit away.
func TestDerivedSlug(t *testing.T) {
	check := func(slug, name, id string) {
		t.Helper()
		want := slug != "" && slug == api.Slug(name, id)
		if got := derivedSlug(slug, name, id); got != want {
			t.Fatalf("derivedSlug(%q, %q, %q) = %v, want %v", slug, name, id, got, want)
		}
	}
	variants := func(name, id string) {
		t.Helper()
		s := api.Slug(name, id)
		if got := string(api.AppendSlug([]byte("x"), name, id)); got != "x"+s {
			t.Fatalf("AppendSlug(%q, %q) = %q, want %q", name, id, got[1:], s)
		}
		check(s, name, id)
		check("", name, id)
		check(s+"x", name, id)
		check("-"+s, name, id)
		if len(s) > 1 {
			check(s[:len(s)-1], name, id)
			check(s[1:], name, id)
			check(s[:len(s)/2]+"-"+s[len(s)/2:], name, id)
		}
	}
	for _, p := range demoProducts(t) {
		variants(p.Name, p.ID)
		check(p.Slug, p.Name, p.ID)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "aZ09 -_.,/é™\\u00a0Ωx"
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(120) {
			r := []rune(alphabet)
			b.WriteRune(r[rng.IntN(len(r))])
		}
		id := []string{"", "1", "g42", "AB-7"}[rng.IntN(4)]
		variants(b.String(), id)
	}
}

// TestAnswerFieldsRoundTrip: whatever shape a product's fields have (long
// ids and names, images without a directory, slugs derived or not, no
// price), answers show them as given, after a load and after updates.
func TestAnswerFieldsRoundTrip(t *testing.T) {
	long := strings.Repeat("x", 300)
	ps := []*api.Product{
		{ID: "a1", Name: "Quokkaone Phone", Slug: api.Slug("Quokkaone Phone", "a1"), Brand: "Acme", Image: "https://img.example/p/a1.jpg",
			SKUs: []api.SKU{{SKU: "a1", Price: &api.Money{Amount: 1999, Currency: "USD"}}}},
		{ID: "b2-" + long, Name: "Quokkatwo " + long, Slug: "hand-made-slug", Image: "a2.png",
			SKUs: []api.SKU{{SKU: "b2"}}},
		{ID: "c3", Name: "Quokkathree ™ Été", Slug: api.Slug("Quokkathree ™ Été", "c3"), Brand: long, Image: "",
			SKUs: []api.SKU{{SKU: "c3", Price: &api.Money{Amount: 5, Currency: "EUR"}}}},
		{ID: "d4", Name: "Quokkafour", Slug: "", Image: "/only/dir/"},
	}
	s := newLoaded(t, testConfig(), ps)
	check := func(p *api.Product, word string) {
		t.Helper()
		a := mustSuggest(t, s, word, 5)
		if len(a.Products) != 1 {
			t.Fatalf("%q: %d products", word, len(a.Products))
		}
		got := a.Products[0]
		var price *api.Money
		for _, k := range p.SKUs {
			if k.Price != nil {
				price = k.Price
			}
		}
		if got.ID != p.ID || got.Name != p.Name || got.URL != "/products/"+p.Slug || got.Image != p.Image || fmt.Sprint(got.Price) != fmt.Sprint(price) {
			t.Fatalf("%q: got %+v, want id %q name %q slug %q image %q price %v", word, got, p.ID, p.Name, p.Slug, p.Image, price)
		}
	}
	words := []string{"quokkaone", "quokkatwo", "quokkathree", "quokkafour"}
	for i, p := range ps {
		check(p, words[i])
	}
	// Updates: the slug stops being derived, the image moves, the price
	// and the brand change; then the other way round.
	seq := uint64(1)
	for round := range 2 {
		for i, p := range ps {
			q := *p
			if round == 0 {
				q.Slug, q.Image, q.Brand = "custom-"+p.ID, "https://cdn.example/x/"+p.ID+".webp", "Other"
				q.SKUs = []api.SKU{{SKU: p.ID, Price: &api.Money{Amount: int64(i), Currency: "GBP"}}}
			}
			seq++
			s.Apply(&api.Event{Seq: seq, Type: api.EventUpsert, Product: &q})
			check(&q, words[i])
		}
	}
}

// TestTextsWhenInternTableFull: once maxInterned strings are interned,
// new brands, image directories and currencies stay in the blobs.
func TestTextsWhenInternTableFull(t *testing.T) {
	tx := newTexts()
	for i := range maxInterned {
		if tx.intern(fmt.Sprint("s", i)) == 0 {
			t.Fatalf("intern %d refused", i)
		}
	}
	p := &api.Product{ID: "p1", Name: "Name", Slug: "p-1", Brand: "NewBrand", Image: "https://new.example/dir/p1.jpg",
		SKUs: []api.SKU{{SKU: "p1", Price: &api.Money{Amount: 7, Currency: "CHF"}}}}
	cfg := DefaultConfig()
	pr := productOf(&cfg, p)
	r := tx.record(&pr, 3, []uint32{2, 300, 70000}, true)
	if r.ids != [3]uint16{} {
		t.Fatalf("interned ids %v with a full table", r.ids)
	}
	b := tx.blob(&r)
	if got := [...]string{tx.text(&r, &b, fBrand), tx.text(&r, &b, fCurrency), string(tx.appendImage(nil, &r, &b)), string(tx.appendURL(nil, &r, &b))}; got != [...]string{"NewBrand", "CHF", p.Image, "/products/p-1"} {
		t.Fatalf("fields %q", got)
	}
	if got := decodeTerms(b.terms, nil); fmt.Sprint(got) != "[2 300 70000]" || tx.id(&r) != "p1" || !tx.sameText(&r, &b, &pr) {
		t.Fatalf("terms %v, id %q, same text %v", got, tx.id(&r), tx.sameText(&r, &b, &pr))
	}
}
