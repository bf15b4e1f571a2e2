package suggest

import (
	"math/rand/v2"
	"strings"
	"testing"

	"shopedge/core/api"
)

// TestDerivedSlug: derivedSlug and appendSlug agree with api.Slug, on the demo catalog
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
		if got := string(appendSlug([]byte("x"), name, id)); got != "x"+s {
			t.Fatalf("appendSlug(%q, %q) = %q, want %q", name, id, got[1:], s)
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
