package search

import (
	"fmt"
	"testing"
)

// TestHotAnswersKeepDistinctQueries puts 1,070 distinct queries (the
// Best Buy log's size) once each into a table of 4,096 entries, the
// default, and reads them back: at least 98 % must be served from it.
// It proves that colliding queries find room in their set (with one slot
// per query, as before, ~88 % were kept: seen failing at 0.88); it does
// not prove which of two queries competing for a full set wins. The
// hash seed is random per table, so the count varies: over 3,000 tables
// 1,055–1,070 were kept (median 1,065, 1 % of tables under 1,058), so
// the bound sits below the worst seen, not at 99 % (1,059), which about
// one run in thirty missed.
func TestHotAnswersKeepDistinctQueries(t *testing.T) {
	h := newHotAnswers(4096, 1<<20)
	const n = 1070
	for i := range n {
		q := []byte(fmt.Sprintf("q=query+%d", i))
		h.put(1, q, []byte(fmt.Sprintf("answer %d", i)))
	}
	kept := 0
	for i := range n {
		v, ok := h.get(1, []byte(fmt.Sprintf("q=query+%d", i)))
		if ok {
			kept++
			if string(v) != fmt.Sprintf("answer %d", i) {
				t.Fatalf("query %d: answer %q", i, v)
			}
		}
		if _, ok := h.get(2, []byte(fmt.Sprintf("q=query+%d", i))); ok {
			t.Fatalf("query %d served at another generation", i)
		}
	}
	if kept < n*98/100 {
		t.Fatalf("kept %d of %d distinct queries", kept, n)
	}
	// A new generation takes the slots of the old one.
	for i := range n {
		h.put(2, []byte(fmt.Sprintf("q=query+%d", i)), []byte("new"))
	}
	for i := range n {
		if v, ok := h.get(2, []byte(fmt.Sprintf("q=query+%d", i))); ok && string(v) != "new" {
			t.Fatalf("query %d: answer %q at generation 2", i, v)
		}
	}
}
