package pages

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
	"shopedge/edge/storefront/theme"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// testProducts returns the real products of testdata/products.ndjson and
// the hostile one.
func testProducts(tb testing.TB) []*api.Product {
	tb.Helper()
	f, err := os.Open("testdata/products.ndjson")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []*api.Product
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		p := new(api.Product)
		if err := json.Unmarshal(sc.Bytes(), p); err != nil {
			tb.Fatal(err)
		}
		out = append(out, p)
	}
	b, err := os.ReadFile("testdata/hostile.json")
	if err != nil {
		tb.Fatal(err)
	}
	p := new(api.Product)
	if err := json.Unmarshal(b, p); err != nil {
		tb.Fatal(err)
	}
	return append(out, p)
}

func gunzip(tb testing.TB, b []byte) []byte {
	tb.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestRenderGolden(t *testing.T) {
	for _, p := range testProducts(t) {
		r, err := Render(p, 5)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			ext   string
			plain Variant
			gz    Variant
		}{{"json", JSON, JSONGzip}, {"html", HTML, HTMLGzip}} {
			path := filepath.Join("testdata", "golden", p.ID+"."+c.ext)
			// The theme's asset versions (content hashes) are masked, so a
			// stylesheet change does not rewrite every golden file.
			got := theme.MaskVersions(r.Bodies[c.plain])
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: rendering differs from the golden file (run with -update after checking)\n got: %s", path, got)
			}
			if !bytes.Equal(gunzip(t, r.Bodies[c.gz]), r.Bodies[c.plain]) {
				t.Errorf("%s: gzip body does not decompress to the plain body", path)
			}
			if bytes.Equal(r.ETags[c.plain], r.ETags[c.gz]) || !bytes.Equal(r.ETags[c.plain], theme.ETag(r.Bodies[c.plain])) {
				t.Errorf("%s: ETags must be strong hashes of each representation's bytes", path)
			}
		}
		var back api.Product
		if err := json.Unmarshal(r.Bodies[JSON], &back); err != nil {
			t.Fatal(err)
		}
		if back.ID != p.ID || len(back.SKUs) != len(p.SKUs) || back.SKUs[0].Availability != p.SKUs[0].Availability {
			t.Errorf("JSON round trip lost data: %+v", back)
		}
	}
}

func TestRenderEscapes(t *testing.T) {
	ps := testProducts(t)
	r, err := Render(ps[len(ps)-1], 5)
	if err != nil {
		t.Fatal(err)
	}
	html := string(r.Bodies[HTML])
	for _, bad := range []string{"<script>", "<img src=x", "javascript:", "</title><x>", "<b>C</b>", "<v>"} {
		if strings.Contains(html, bad) {
			t.Errorf("HTML contains unescaped %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;", `<link rel="canonical" href="/products/evil-1">`, "¥123,456,789", "0.005 KWD", "No price", "Only a few left"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if got := string(r.SurrogateKey); got != "product-evil-1 category-a-b category-b-c-b brand-brand-title-x" {
		t.Errorf("Surrogate-Key %q", got)
	}
}

func TestRenderRealPage(t *testing.T) {
	p := testProducts(t)[1]
	r, err := Render(p, 5)
	if err != nil {
		t.Fatal(err)
	}
	html := string(r.Bodies[HTML])
	for _, want := range []string{"<!DOCTYPE html>", "<h1>Motorola - MOTO G", "$199.99 – $219.99", `href="/products/` + p.Slug + `"`, `src="` + p.Image + `"`, "Out of stock", "color: Red"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

func TestFormatMoney(t *testing.T) {
	f := func(amount int64, cur, want string) {
		t.Helper()
		if got := FormatMoney(api.Money{Amount: amount, Currency: cur}); got != want {
			t.Fatalf("FormatMoney(%d %s) = %q, want %q", amount, cur, got, want)
		}
	}
	f(24999, "USD", "$249.99")
	f(5, "USD", "$0.05")
	f(0, "EUR", "€0.00")
	f(123456789, "USD", "$1,234,567.89")
	f(-150, "GBP", "-£1.50")
	f(500, "JPY", "¥500")
	f(12500, "KWD", "12.500 KWD")
	f(100, "CHF", "1.00 CHF")
}

func TestRenderRejectsMissingID(t *testing.T) {
	if _, err := Render(&api.Product{Slug: "x"}, 5); err == nil {
		t.Fatal("want an error for a product without id")
	}
}

// TestRenderForMatchesRender: a representation rendered alone (on a miss)
// is byte for byte the one Render makes (prerendered, or on another edge),
// so its ETag is the same wherever and however it was rendered.
func TestRenderForMatchesRender(t *testing.T) {
	for _, p := range testProducts(t) {
		all, err := Render(p, 5)
		if err != nil {
			t.Fatal(err)
		}
		for v := Variant(0); v < numVariants; v++ {
			r, err := renderFor(p, maskFor(v), 5)
			if err != nil {
				t.Fatal(err)
			}
			for w := Variant(0); w < numVariants; w++ {
				if maskFor(v)&(1<<w) == 0 {
					if r.Bodies[w] != nil || r.ETags[w] != nil {
						t.Fatalf("%s: asked for %d, also rendered %d", p.ID, v, w)
					}
					continue
				}
				if !bytes.Equal(r.Bodies[w], all.Bodies[w]) || !bytes.Equal(r.ETags[w], all.ETags[w]) {
					t.Fatalf("%s: variant %d rendered for %d differs from Render's", p.ID, w, v)
				}
			}
			if !bytes.Equal(r.SurrogateKey, all.SurrogateKey) || r.Slug != all.Slug {
				t.Fatalf("%s: names differ", p.ID)
			}
		}
	}
}
