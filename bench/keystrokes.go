package bench

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Query is one real search query and how often it was searched.
type Query struct {
	Text       string
	Popularity int64
}

// LoadQueries reads a TSV of queries with a header line naming a "query"
// column and optionally a "popularity" column (bestbuy-queries.tsv,
// wands-queries.tsv). Empty queries are skipped.
func LoadQueries(path string) ([]Query, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open queries: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	if !sc.Scan() {
		return nil, fmt.Errorf("cannot read queries from %s: no header line", path)
	}
	qcol, pcol := -1, -1
	for i, h := range strings.Split(sc.Text(), "\t") {
		switch strings.TrimSpace(h) {
		case "query":
			qcol = i
		case "popularity":
			pcol = i
		}
	}
	if qcol < 0 {
		return nil, fmt.Errorf("cannot read queries from %s: no \"query\" column", path)
	}
	var qs []Query
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if qcol >= len(cols) {
			continue
		}
		q := Query{Text: strings.TrimSpace(cols[qcol])}
		if q.Text == "" {
			continue
		}
		if pcol >= 0 && pcol < len(cols) {
			q.Popularity, _ = strconv.ParseInt(strings.TrimSpace(cols[pcol]), 10, 64)
		}
		qs = append(qs, q)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read queries from %s: %w", path, err)
	}
	return qs, nil
}

// LoadQueryTexts is LoadQueries without the popularity: the query texts
// in file order.
func LoadQueryTexts(path string) ([]string, error) {
	qs, err := LoadQueries(path)
	if err != nil {
		return nil, err
	}
	texts := make([]string, len(qs))
	for i, q := range qs {
		texts[i] = q.Text
	}
	return texts, nil
}

// Keystrokes returns what a search box sends while q is typed: every
// prefix of q, one rune longer each time ("tv" → "t", "tv"). Spaces count
// as keystrokes.
func Keystrokes(q string) []string {
	out := make([]string, 0, len(q))
	for i := range q {
		if i > 0 {
			out = append(out, q[:i])
		}
	}
	if q != "" {
		out = append(out, q)
	}
	return out
}

// SuggestPaths returns the request URIs of a keystroke-by-keystroke replay
// of qs against GET /v1/suggest, in order.
func SuggestPaths(qs []Query, limit int) []string {
	var paths []string
	for _, q := range qs {
		for _, p := range Keystrokes(q.Text) {
			u := "/v1/suggest?q=" + url.QueryEscape(p)
			if limit > 0 {
				u += "&limit=" + strconv.Itoa(limit)
			}
			paths = append(paths, u)
		}
	}
	return paths
}
