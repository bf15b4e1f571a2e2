package textnorm

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	n := NewNormalizer()
	f := func(in, want string) {
		t.Helper()
		if err := n.Normalize(in); err != nil {
			t.Fatalf("Normalize(%q): %v", in, err)
		}
		if got := string(n.Text); got != want {
			t.Fatalf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
	f("", "")
	f("   ", "")
	f("iPhone 15", "iphone 15")
	f("iphone-15", "iphone 15")
	f("  iPhone   15  ", "iphone 15")
	f("Café", "cafe")
	f("Cafe\u0301", "cafe")           // NFD
	f("ｉＰｈｏｎｅ　１５", "iphone 15")       // full-width letters and space
	f("i\u200bphone", "iphone")       // zero-width space inside a word
	f("\u202eiphone\u202c", "iphone") // RTL override
	f("iphone\u00ad15", "iphone15")   // soft hyphen is dropped
	f("tab\tnew\nline\x00nul", "tab new line nul")
	f("Straße", "strasse")
	f("ÆØÅ", "æøa")
	f("ǅemal", "dzemal")
	f("½ cup", "1 2 cup")
	f("TomTom - GO 500 5\" GPS", "tomtom go 500 5 gps")
	f("AT&T GoPhone", "at t gophone")
	f("ΣΊΣΥΦΟΣ", "σισυφοσ")
	f("Ⅻ", "xii")
	f("x²", "x2")
	f("ﬁne", "fine")
	f("İstanbul", "istanbul")
	f("Insignia™ Cable", "insignia cable")
	f("Apple® iPhone®", "apple iphone")
	f("㎏", "")
}

func TestNormalizeEquivalentForms(t *testing.T) {
	forms := []string{
		"Ça va iPhone-15",
		"C\u0327a va iphone 15",
		"ÇA   VA\tIPHONE__15",
		"ｃａ ｖａ ｉｐｈｏｎｅ－１５",
		"ça\u200b va\u2060 iphone\u200d 15\ufeff",
	}
	n := NewNormalizer()
	want := ""
	for i, f := range forms {
		if err := n.Normalize(f); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			want = string(n.Text)
			continue
		}
		if got := string(n.Text); got != want {
			t.Fatalf("Normalize(%q) = %q, want %q as for %q", f, got, want, forms[0])
		}
	}
}

func TestNormalizeOffsets(t *testing.T) {
	n := NewNormalizer()
	f := func(in string, want ...string) {
		t.Helper()
		if err := n.Normalize(in); err != nil {
			t.Fatal(err)
		}
		if len(n.Words) != len(want) {
			t.Fatalf("Normalize(%q): %d words, want %d", in, len(n.Words), len(want))
		}
		for i, w := range n.Words {
			if got := in[w.OStart:w.OEnd]; got != want[i] {
				t.Fatalf("Normalize(%q): word %d from %q, want %q", in, i, got, want[i])
			}
		}
	}
	f("Samsung - Galaxy S7", "Samsung", "Galaxy", "S7")
	f("Cafe\u0301 au lait", "Cafe\u0301", "au", "lait")
	f("ｉＰｈｏｎｅ 7", "ｉＰｈｏｎｅ", "7")
	f("  Straße!", "Straße")
}

func TestParseQueryLimits(t *testing.T) {
	n := NewNormalizer()
	f := func(q string, want error) {
		t.Helper()
		if err := n.ParseQuery(q, 100, 10); !errors.Is(err, want) {
			t.Fatalf("ParseQuery(%q) = %v, want %v", q, err, want)
		}
	}
	f("sam tv", nil)
	f(strings.Repeat("a", 100), nil)
	f(strings.Repeat("a", 101), ErrQueryTooLong)
	f("a b c d e f g h i j", nil)
	f("a b c d e f g h i j k", ErrTooManyWords)
	f("sam\xfftv", ErrInvalidUTF8)
	f("\xc3", ErrInvalidUTF8)
	f("a"+strings.Repeat("\u0301", 10000), ErrQueryTooLong)
}

func checkNormalized(t *testing.T, in string) {
	n := NewNormalizer()
	if err := n.Normalize(in); err != nil {
		if utf8.ValidString(in) {
			t.Fatalf("Normalize(%q): %v on valid UTF-8", in, err)
		}
		return
	}
	out := string(n.Text)
	if len(out) > 18*len(in) {
		t.Fatalf("Normalize(%q): output of %d bytes", in, len(out))
	}
	if !utf8.ValidString(out) || strings.Contains(out, "  ") || strings.HasPrefix(out, " ") || strings.HasSuffix(out, " ") {
		t.Fatalf("Normalize(%q) = %q: not valid UTF-8 words", in, out)
	}
	for i, w := range n.Words {
		if w.OStart < 0 || w.OStart >= w.OEnd || int(w.OEnd) > len(in) || w.Start >= w.End {
			t.Fatalf("Normalize(%q): bad word %d %+v", in, i, w)
		}
	}
	n2 := NewNormalizer()
	if err := n2.Normalize(out); err != nil || string(n2.Text) != out {
		t.Fatalf("Normalize is not idempotent: %q → %q → %q (%v)", in, out, n2.Text, err)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"iPhone-15", "Café", "ｉＰｈｏｎｅ", "ǅ", "ß", "İ", "\u0301", "½", "\u202e", "a\u200bb", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(checkNormalized)
}
