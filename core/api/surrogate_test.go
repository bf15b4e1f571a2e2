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
	f("Café", "caf")
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
