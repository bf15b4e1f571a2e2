package search

import (
	"testing"

	"shopedge/core/api"
)

// typoWords returns the words of the Best Buy queries that a search
// corrects (no live term matches them otherwise), with whether each is
// its query's last word, over the demo catalog: 17,128 terms, about the
// vocabulary of bench/searchcmp's 1M generated products (22,211), which
// draws its words from the same catalog.
func typoWords(b *testing.B) (*Service, []string, []bool) {
	s := newLoaded(b, DefaultConfig(), demoProducts(b))
	x := s.idx.Load()
	var words []string
	var last []bool
	st := s.pool.Get().(*state)
	defer s.pool.Put(st)
	for _, q := range benchQueries(b) {
		if st.q.Normalize(q) != nil {
			continue
		}
		for i := range st.q.Words {
			var ws wordSet
			isLast := i == len(st.q.Words)-1
			x.match(&ws, string(st.q.Word(i)), isLast)
			if ws.typo {
				words, last = append(words, ws.w), append(last, isLast)
			}
		}
	}
	if len(words) == 0 {
		b.Skip("no corrected words")
	}
	return s, words, last
}

// BenchmarkTypos finds the corrections of the query log's corrected words
// with the vocabulary's trie, one word per op (uncached: what a first
// pass over the queries does).
//
//	go test ./edge/search -run - -bench 'Typos(Baseline)?$'
//
// Measured (demo catalog, 2 shared CPUs): 8.5–8.8 µs and no allocation a
// word against 89–100 µs and 15 allocations for the baseline; over
// searchcmp's 1M-product vocabulary 9.3 µs against 84 µs.
func BenchmarkTypos(b *testing.B) {
	s, words, last := typoWords(b)
	x := s.idx.Load()
	var dst []uint32
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		dst = x.typos(words[i%len(words)], last[i%len(words)], dst[:0])
		i++
	}
}

// BenchmarkTyposBaseline is BenchmarkTypos's twin: the walk over the
// sorted terms the trie replaced (typosRange, typo_test.go).
func BenchmarkTyposBaseline(b *testing.B) {
	s, words, last := typoWords(b)
	x := s.idx.Load()
	var dst []uint32
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		dst = x.typosRange(words[i%len(words)], last[i%len(words)], dst[:0])
		i++
	}
}

// BenchmarkSearchUncachedTypos is BenchmarkSearch with the typo cache
// emptied before each query: every query pays its corrections, as on a
// first pass over the queries.
func BenchmarkSearchUncachedTypos(b *testing.B) {
	s := newLoaded(b, DefaultConfig(), demoProducts(b))
	x := s.idx.Load()
	qs := benchQueries(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		x.typoCache.mu.Lock()
		x.typoCache.m = nil
		x.typoCache.mu.Unlock()
		if _, err := s.Search(api.SearchParams{Query: qs[i%len(qs)], PerPage: 10}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
