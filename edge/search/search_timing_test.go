package search

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"shopedge/core/api"
)

const queriesPath = "/work/shared/data/queries/bestbuy-queries.tsv"

// benchQueries returns the Best Buy queries (or a few when the shared data
// is absent).
func benchQueries(tb testing.TB) []string {
	f, err := os.Open(queriesPath)
	if err != nil {
		return []string{"iphone case", "samsung tv", "laptop", "printer ink", "headphones", "cooktop", ""}
	}
	defer f.Close()
	var qs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if q, _, _ := strings.Cut(sc.Text(), "\t"); q != "query" && q != "" {
			qs = append(qs, q)
		}
	}
	return qs
}

// BenchmarkSearch answers the Best Buy queries over the demo catalog
// (top 10 and the category, brand and price facets, no answer cache), one
// query per op. The 1M-product figures come from scripts/searcheval
// -generate and bench/searchcmp (beside Bleve and PostgreSQL).
//
//	go test ./edge/search -run - -bench 'Search(Baseline)?$' -benchtime 200x
//
// Measured: 34 µs and 69 allocations per query, against 362 ms for the
// baseline (a linear scan with vocabulary, per query). With pooled
// scratch and fewer roaring sets (bench/results/searchcmp-20261207-alloc.md):
// 12.4–14.8 µs, 36 allocations, 2,899 B per query, against 18.6 µs, 62
// allocations, 5,480 B before, same run (-benchtime 3000x).
func BenchmarkSearch(b *testing.B) {
	s := newLoaded(b, DefaultConfig(), demoProducts(b))
	qs := benchQueries(b)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := s.Search(api.SearchParams{Query: qs[i%len(qs)], PerPage: 10}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkSearchBaseline is BenchmarkSearch's twin: the same answers by
// the property test's oracle, a linear scan of every product per query.
func BenchmarkSearchBaseline(b *testing.B) {
	ps := demoProducts(b)
	cfg := DefaultConfig()
	o := newOracle(cfg, ps)
	qs := benchQueries(b)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		o.search(api.SearchParams{Query: qs[i%len(qs)], Sort: api.SortRelevance, Page: 1, PerPage: 10})
		i++
	}
}
