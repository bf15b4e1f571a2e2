package suggest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"shopedge/core/api"
)

// FuzzLookupMatches looks queries up in a small index with a short prefix
// cap and a small budget, and checks that an answer without corrections
// lists distinct products each having, for every query word, a word that
// starts with it.
func FuzzLookupMatches(f *testing.F) {
	for _, q := range []string{"sam", "galaxy s2", "zzzzzzzzzzzzzzlongx", "samsnug", "café cafetière", "s s s"} {
		f.Add(q, uint8(4))
	}
	cfg := propConfig()
	rng := rand.New(rand.NewPCG(7, 7))
	var ps []*api.Product
	for i := range 300 {
		ps = append(ps, propProduct(rng, fmt.Sprint("p", i)))
	}
	s := newLoaded(f, cfg, ps)
	x := s.idx.Load()
	words := map[uint32][]string{} // ordinal → normalised words of name, brand, category
	n := NewNormalizer()
	for o := range x.recs {
		r := &x.recs[o]
		b := x.tx.blob(r)
		for _, text := range []string{b.text[fName], x.tx.text(r, &b, fBrand), x.tx.categoryOf(r)} {
			if n.Normalize(text) == nil {
				words[uint32(o)] = append(words[uint32(o)], strings.Fields(string(n.Text))...)
			}
		}
	}
	f.Fuzz(func(t *testing.T, q string, limit uint8) {
		if limit < 1 || int(limit) > cfg.MaxLimit {
			return
		}
		st := newState()
		if st.q.ParseQuery(q, cfg.MaxQueryBytes, cfg.MaxQueryWords) != nil {
			return
		}
		x.mu.RLock()
		x.lookup(st, int(limit))
		x.mu.RUnlock()
		if len(st.hits) > int(limit) {
			t.Fatalf("%d hits for limit %d", len(st.hits), limit)
		}
		sorted := slices.Clone(st.hits)
		slices.Sort(sorted)
		if len(slices.Compact(sorted)) != len(st.hits) {
			t.Fatalf("duplicate hits %v", st.hits)
		}
		if st.typo {
			return
		}
		for _, o := range st.hits {
			for i := range st.q.Words {
				w := string(st.q.Word(i))
				if !slices.ContainsFunc(words[o], func(pw string) bool { return strings.HasPrefix(pw, w) }) {
					t.Fatalf("%q: product %s %v has no word starting with %q", q, x.tx.id(&x.recs[o]), words[o], w)
				}
			}
		}
	})
}

// FuzzOneEdit compares oneEdit with the optimal string alignment
// distance.
func FuzzOneEdit(f *testing.F) {
	f.Add("abc", "acb")
	f.Add("supercal", "supercla")
	f.Fuzz(func(t *testing.T, a, b string) {
		if len(a) > 32 || len(b) > 32 {
			return
		}
		if got, want := oneEdit(a, b), osaDistance(a, b) == 1; got != want {
			t.Fatalf("oneEdit(%q, %q) = %v, want %v", a, b, got, want)
		}
	})
}

func osaDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

func FuzzParseQuery(f *testing.F) {
	f.Add("sam tv", 10)
	f.Add("galaxy s2", 20)
	s := newLoaded(f, testConfig(), demoProducts(f)[:500])
	f.Fuzz(func(t *testing.T, q string, limit int) {
		a, err := s.Suggest(q, limit)
		if err != nil {
			return
		}
		if len(a.Products) > limit {
			t.Fatalf("%d products for limit %d", len(a.Products), limit)
		}
		for _, p := range a.Products {
			for _, h := range p.Highlights {
				if h[0] < 0 || h[0] >= h[1] || h[1] > len(p.Name) {
					t.Fatalf("bad highlight %v in %q", h, p.Name)
				}
			}
		}
	})
}
