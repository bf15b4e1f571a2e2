// Command suggesteval replays search queries keystroke by keystroke
// against an in-process suggest index over a catalog and reports answer
// quality and lookup latency:
//
//   - recall@10: among queries whose every word is a word of some product's
//     normalised name ("answerable"), the share whose full query lists such
//     a product in its top 10;
//   - keystrokes: the mean number of characters typed before such a product
//     first appears in the top 10;
//   - lookup p50/p99/max of the uncached answer (index walk, highlights,
//     answer structs) over every keystroke.
//
// With -generate N the index is built over N products generated from the
// catalog (bench/gen) and only build time, memory and latency are reported.
//
//	go run ./scripts/suggesteval -catalog scripts/demo/catalog.ndjson.gz
//	go run ./scripts/suggesteval -generate 1000000
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/VictoriaMetrics/metrics"
	json "github.com/goccy/go-json"
	"github.com/rs/zerolog"

	"shopedge/bench"
	"shopedge/bench/gen"
	"shopedge/core/api"
	"shopedge/edge/suggest"
	"shopedge/edge/suggest/demodata"
)

// Result is the JSON report.
type Result struct {
	Catalog         string  `json:"catalog"`
	Products        int     `json:"products"`
	BuildSeconds    float64 `json:"build_seconds"`
	BuildCPUSeconds float64 `json:"build_cpu_seconds"`
	BytesPerProduct int     `json:"bytes_per_product"`
	Prefixes        int     `json:"prefixes"`
	Queries         int     `json:"queries"`
	Answerable      int     `json:"answerable"`
	RecallAt10      float64 `json:"recall_at_10"`
	MeanKeystrokes  float64 `json:"mean_keystrokes"`
	MeanQueryChars  float64 `json:"mean_query_chars"`
	Lookups         int64   `json:"lookups"`
	P50Micros       float64 `json:"lookup_p50_us"`
	P99Micros       float64 `json:"lookup_p99_us"`
	MaxMicros       float64 `json:"lookup_max_us"`
}

func main() {
	catalog := flag.String("catalog", "scripts/demo/catalog.ndjson.gz", "catalog: NDJSON of api.Product (.ndjson[.gz]), bestbuy-phones.json or icecat .jsonl.gz")
	queries := flag.String("queries", "../shared/data/queries/bestbuy-queries.tsv", "queries, TSV with the query in the first column")
	generate := flag.Int("generate", 0, "index this many products generated from the catalog instead (quality is not measured)")
	seed := flag.Int64("seed", 1, "generator seed")
	limit := flag.Int("limit", 10, "answer size")
	jsonOut := flag.String("json", "", "also write the JSON report to this file")
	misses := flag.Bool("misses", false, "list answerable queries missing from their top 10 (on stderr)")
	flag.Parse()
	var missLog io.Writer = io.Discard
	if *misses {
		missLog = os.Stderr
	}
	if err := run(*catalog, *queries, *generate, *seed, *limit, *jsonOut, os.Stdout, missLog); err != nil {
		fmt.Fprintln(os.Stderr, "suggesteval:", err)
		os.Exit(1)
	}
}

func run(catalog, queriesPath string, generate int, seed int64, limit int, jsonOut string, w, missLog io.Writer) error {
	products, err := demodata.LoadCatalog(catalog)
	if err != nil {
		return err
	}
	qs, err := bench.LoadQueryTexts(queriesPath)
	if err != nil {
		return err
	}
	res := Result{Catalog: catalog, Queries: len(qs)}
	svc := suggest.New(suggest.DefaultConfig(), zerolog.Nop(), metrics.NewSet())
	cpu0, t0 := cpuTime(), time.Now()
	svc.BeginLoad()
	if generate > 0 {
		res.Catalog = fmt.Sprintf("%d generated from %s (seed %d)", generate, catalog, seed)
		err = gen.Products(generate, seed, products, func(p *api.Product) error { svc.Load(p); return nil })
		if err != nil {
			return err
		}
		products = nil
		runtime.GC()
		cpu0, t0 = cpuTime(), time.Now() // generation is not build time
	} else {
		for _, p := range products {
			svc.Load(p)
		}
	}
	svc.EndLoad(1)
	res.BuildSeconds = time.Since(t0).Seconds()
	res.BuildCPUSeconds = (cpuTime() - cpu0).Seconds()
	st := svc.Stats()
	res.Products, res.BytesPerProduct, res.Prefixes = st.Products, st.BytesPerProduct(), st.Prefixes

	hist := hdrhistogram.New(1, int64(time.Second/time.Nanosecond), 3)
	lookup := func(q string) (*api.Suggest, error) {
		t := time.Now()
		a, err := svc.Suggest(q, limit)
		_ = hist.RecordValue(time.Since(t).Nanoseconds())
		return a, err
	}
	rel := newRelevance(products)
	var recalled, keyTotal, charTotal, keyFound int
	for _, q := range qs {
		words := normWords(q)
		answerable := generate == 0 && len(words) > 0 && rel.any(words)
		if answerable {
			res.Answerable++
		}
		runes := []rune(q)
		first := 0
		for k := 1; k <= len(runes); k++ {
			a, err := lookup(string(runes[:k]))
			if err != nil || !answerable || first > 0 {
				continue
			}
			for _, p := range a.Products {
				if rel.matches(p.Name, words) {
					first = k
					break
				}
			}
		}
		if answerable && first > 0 {
			keyTotal += first
			charTotal += len(runes)
			keyFound++
		}
		if answerable {
			a, err := svc.Suggest(q, 10)
			hit := false
			if err == nil {
				for _, p := range a.Products {
					if rel.matches(p.Name, words) {
						hit = true
						break
					}
				}
			}
			if hit {
				recalled++
			} else if err == nil {
				fmt.Fprintf(missLog, "miss %q: %d answers, first %q\n", q, len(a.Products), firstName(a))
			}
		}
	}
	if res.Answerable > 0 {
		res.RecallAt10 = float64(recalled) / float64(res.Answerable)
	}
	if keyFound > 0 {
		res.MeanKeystrokes = float64(keyTotal) / float64(keyFound)
		res.MeanQueryChars = float64(charTotal) / float64(keyFound)
	}
	res.Lookups = hist.TotalCount()
	res.P50Micros = float64(hist.ValueAtQuantile(50)) / 1e3
	res.P99Micros = float64(hist.ValueAtQuantile(99)) / 1e3
	res.MaxMicros = float64(hist.Max()) / 1e3
	printTable(w, &res)
	body, err := json.MarshalIndent(&res, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot encode the report: %w", err)
	}
	fmt.Fprintf(w, "%s\n", body)
	if jsonOut != "" {
		if err := os.WriteFile(jsonOut, append(body, '\n'), 0o644); err != nil {
			return fmt.Errorf("cannot write %s: %w", jsonOut, err)
		}
	}
	return nil
}

func printTable(w io.Writer, r *Result) {
	fmt.Fprintf(w, "| metric | value |\n|---|---|\n")
	fmt.Fprintf(w, "| catalog | %s |\n", r.Catalog)
	fmt.Fprintf(w, "| products | %d |\n| prefixes | %d |\n", r.Products, r.Prefixes)
	fmt.Fprintf(w, "| build (wall / CPU) | %.2f s / %.2f s |\n", r.BuildSeconds, r.BuildCPUSeconds)
	fmt.Fprintf(w, "| index bytes per product | %d |\n", r.BytesPerProduct)
	if r.Answerable > 0 {
		fmt.Fprintf(w, "| queries (answerable) | %d (%d) |\n", r.Queries, r.Answerable)
		fmt.Fprintf(w, "| recall@10 | %.3f |\n", r.RecallAt10)
		fmt.Fprintf(w, "| mean keystrokes to first hit (of mean query length) | %.2f (%.2f) |\n", r.MeanKeystrokes, r.MeanQueryChars)
	}
	fmt.Fprintf(w, "| lookups | %d |\n", r.Lookups)
	fmt.Fprintf(w, "| lookup p50 / p99 / max | %.1f µs / %.1f µs / %.1f µs |\n", r.P50Micros, r.P99Micros, r.MaxMicros)
}

func normWords(s string) []string {
	n := suggest.NewNormalizer()
	if n.Normalize(s) != nil {
		return nil
	}
	return strings.Fields(string(n.Text))
}

// relevance knows the normalised words of every product name.
type relevance struct {
	names []map[string]bool
	norm  *suggest.Normalizer
}

func newRelevance(ps []*api.Product) *relevance {
	r := &relevance{norm: suggest.NewNormalizer()}
	for _, p := range ps {
		words := map[string]bool{}
		for _, w := range normWords(p.Name) {
			words[w] = true
		}
		r.names = append(r.names, words)
	}
	return r
}

func (r *relevance) any(words []string) bool {
	for _, name := range r.names {
		if containsAll(name, words) {
			return true
		}
	}
	return false
}

func (r *relevance) matches(name string, words []string) bool {
	set := map[string]bool{}
	for _, w := range normWords(name) {
		set[w] = true
	}
	return containsAll(set, words)
}

func containsAll(set map[string]bool, words []string) bool {
	for _, w := range words {
		if !set[w] {
			return false
		}
	}
	return true
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func firstName(a *api.Suggest) string {
	if len(a.Products) == 0 {
		return ""
	}
	return a.Products[0].Name
}
