package api

import "testing"

func TestKeyToken(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := KeyToken(in); got != want {
			t.Fatalf("KeyToken(%q) = %q, want %q", in, got, want)
		}
	}
	f("Car Electronics & GPS", "car-electronics-gps")
	f("  TomTom ", "tomtom")
	f("Café", "cafe")
	f("Crème Brûlée", "creme-brulee")
	f("Cre\u0300me", "creme") // a combining accent
	f("Straße Øre Łódź", "strasse-ore-lodz")
	f("ﬁne ½ m²", "fine-1-2-m2")
	f("Galaxy S10™ Москва", "galaxy-s10")
	f("", "")
	f("a--b", "a-b")
}

func TestSurrogateKeys(t *testing.T) {
	p := &Product{ID: "42", Brand: "Samsung", Categories: []string{"TV & Video", "TVs"}}
	got := SurrogateKeys(p)
	want := []string{"product-42", "category-tv-video", "category-tvs", "brand-samsung"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestSlug(t *testing.T) {
	f := func(name, id, want string) {
		t.Helper()
		if got := Slug(name, id); got != want {
			t.Fatalf("Slug(%q, %q) = %q, want %q", name, id, got, want)
		}
	}
	f(`TomTom - GO 500 5" GPS`, "1502983", "tomtom-go-500-5-gps-1502983")
	f("™ ©", "ic-1", "ic-1")
	f("Crème Brûlée", "p1", "creme-brulee-p1")
	f("Привет", "p2", "p2")
	f("", "x", "x")
	long := Slug(string(make([]byte, 0))+"abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij", "9")
	if len(long) > 82 || long[len(long)-2:] != "-9" {
		t.Fatalf("long slug %q", long)
	}
}
