package suggest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goldenQueries are ranked against the demo fixture; testdata/golden holds
// the expected answers (rewrite with -update after a deliberate ranking
// change, and review the diff).
var goldenQueries = []string{
	"s", "sam", "samsung", "sam tv", "samsung galaxy", "galaxy s7", "iph", "iphone 7",
	"apple iphone", "motorola", "moto g", "lg", "xerox toner", "tv", "headphones",
	"samsnug", "iphnoe", "galxy", "case", "otterbox iphone", "unlocked", "prepaid phone",
	"café", "ｉＰｈｏｎｅ", "sony bravia", "zzz",
}

func TestGolden(t *testing.T) {
	s := newLoaded(t, testConfig(), demoProducts(t))
	var b strings.Builder
	for _, q := range goldenQueries {
		a := mustSuggest(t, s, q, 10)
		fmt.Fprintf(&b, "query %q → %q\n", q, a.Query)
		for _, p := range a.Products {
			fmt.Fprintf(&b, "  %s %q %v\n", p.ID, p.Name, p.Highlights)
		}
		for _, c := range a.Categories {
			fmt.Fprintf(&b, "  category %q %d\n", c.Name, c.Count)
		}
	}
	path := filepath.Join("testdata", "golden", "demo.txt")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if got := b.String(); got != string(want) {
		t.Fatalf("ranking differs from %s (rerun with -update and review the diff):\n%s", path, firstDiff(got, string(want)))
	}
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got  %s\n want %s", i+1, gl, wl)
		}
	}
	return ""
}
