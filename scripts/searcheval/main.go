// Command searcheval measures the edge's search (edge/search) in process:
// answer quality over real queries, and latency, build time and memory
// over a catalog.
//
// Quality, over the queries (TSV, the query in the first column) against
// a catalog (by default the demo catalog and Best Buy's 1,070 queries):
//
//   - a product matches a query when every normalised word of the query
//     is a word of the product's normalised name (the query log's words
//     as the catalog spells them, the definition scripts/suggesteval
//     uses); a query is answerable when some product matches it;
//   - recall: among answerable queries, the share whose first page
//     (per_page 24, default sort) lists a matching product;
//   - zero results: the share of queries answered with total 0, over all
//     queries and over answerable ones.
//
// Latency: every query is searched as GET /v1/search?q=… would be without
// the answer cache (top per_page + the category, brand and price facets),
// on one goroutine, reported as queries/s and p50/p99/max.
//
// With -generate N the index is built over N products generated from the
// catalog (bench/gen) and only build time, memory and latency are
// reported.
//
//	go run ./scripts/searcheval
//	go run ./scripts/searcheval -generate 1000000 -per-page 10
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
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
	"shopedge/edge/search"
	"shopedge/edge/suggest/demodata"
	"shopedge/edge/textnorm"
)

var (
	profile string
	slowLog bool
)

// Result is the JSON report.
type Result struct {
	Catalog          string  `json:"catalog"`
	Products         int     `json:"products"`
	BuildSeconds     float64 `json:"build_seconds"`
	BuildCPUSeconds  float64 `json:"build_cpu_seconds"`
	BytesPerProduct  int     `json:"bytes_per_product"`
	HeapBytes        uint64  `json:"heap_bytes"`
	Terms            int     `json:"terms"`
	FacetAttributes  int     `json:"facet_attributes"`
	Queries          int     `json:"queries"`
	Answerable       int     `json:"answerable"`
	Recall           float64 `json:"recall"`
	ZeroResults      float64 `json:"zero_results"`
	ZeroAnswerable   float64 `json:"zero_results_answerable"`
	Searches         int64   `json:"searches"`
	QPS              float64 `json:"queries_per_second"`
	P50Micros        float64 `json:"p50_us"`
	P99Micros        float64 `json:"p99_us"`
	MaxMicros        float64 `json:"max_us"`
	MeanTotal        float64 `json:"mean_total"`
	PerPage          int     `json:"per_page"`
	Rounds           int     `json:"rounds"`
	NonEmptyP99Micro float64 `json:"nonempty_p99_us"`
}

func main() {
	catalog := flag.String("catalog", "scripts/demo/catalog.ndjson.gz", "catalog: NDJSON of api.Product (.ndjson[.gz]), bestbuy-phones.json or icecat .jsonl.gz")
	queries := flag.String("queries", "/work/shared/data/queries/bestbuy-queries.tsv", "queries, TSV with the query in the first column")
	generate := flag.Int("generate", 0, "index this many products generated from the catalog instead (quality is not measured)")
	seed := flag.Int64("seed", 1, "generator seed")
	perPage := flag.Int("per-page", 24, "page size")
	rounds := flag.Int("rounds", 3, "passes over the queries for latency")
	jsonOut := flag.String("json", "", "also write the JSON report to this file")
	misses := flag.Bool("misses", false, "list answerable queries without a matching product on their first page (on stderr)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the latency passes to this file")
	slow := flag.Bool("slow", false, "list the 20 slowest queries of the last latency pass (on stderr)")
	flag.Parse()
	profile, slowLog = *cpuProfile, *slow
	var missLog io.Writer = io.Discard
	if *misses {
		missLog = os.Stderr
	}
	if err := run(*catalog, *queries, *generate, *seed, *perPage, *rounds, *jsonOut, os.Stdout, missLog); err != nil {
		fmt.Fprintln(os.Stderr, "searcheval:", err)
		os.Exit(1)
	}
}

func run(catalog, queriesPath string, generate int, seed int64, perPage, rounds int, jsonOut string, w, missLog io.Writer) error {
	products, err := demodata.LoadCatalog(catalog)
	if err != nil {
		return err
	}
	qs, err := bench.LoadQueryTexts(queriesPath)
	if err != nil {
		return err
	}
	res := Result{Catalog: catalog, Queries: len(qs), PerPage: perPage, Rounds: rounds}
	svc := search.New(search.DefaultConfig(), zerolog.Nop(), metrics.NewSet())
	var m0 runtime.MemStats
	cpu0, t0 := cpuTime(), time.Now()
	svc.BeginLoad()
	if generate > 0 {
		res.Catalog = fmt.Sprintf("%d generated from %s (seed %d)", generate, catalog, seed)
		src := products
		products = nil
		runtime.GC()
		runtime.ReadMemStats(&m0)
		cpu0, t0 = cpuTime(), time.Now()
		err = gen.Products(generate, seed, src, func(p *api.Product) error { svc.Load(p); return nil })
		if err != nil {
			return err
		}
	} else {
		runtime.ReadMemStats(&m0)
		for _, p := range products {
			svc.Load(p)
		}
	}
	svc.EndLoad(1)
	res.BuildSeconds = time.Since(t0).Seconds()
	res.BuildCPUSeconds = (cpuTime() - cpu0).Seconds()
	if generate > 0 {
		fmt.Fprintf(w, "(build time includes generating the products)\n")
	}
	runtime.GC()
	debug.FreeOSMemory()
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	res.HeapBytes = m1.HeapAlloc - min(m0.HeapAlloc, m1.HeapAlloc)
	st := svc.Stats()
	res.Products, res.BytesPerProduct, res.Terms, res.FacetAttributes = st.Products, st.BytesPerProduct(), st.Terms, st.FacetAttributes

	// Quality.
	if generate == 0 {
		rel := newRelevance(products)
		zero, zeroAns, recalled := 0, 0, 0
		for _, q := range qs {
			words := normWords(q)
			r, err := svc.Search(api.SearchParams{Query: q, PerPage: perPage})
			if err != nil {
				return fmt.Errorf("search %q: %w", q, err)
			}
			if r.Total == 0 {
				zero++
			}
			if len(words) == 0 || !rel.any(words) {
				continue
			}
			res.Answerable++
			if r.Total == 0 {
				zeroAns++
			}
			hit := slices.ContainsFunc(r.Products, func(p api.SearchProduct) bool { return rel.matches(p.Name, words) })
			if hit {
				recalled++
			} else {
				first := ""
				if len(r.Products) > 0 {
					first = r.Products[0].Name
				}
				fmt.Fprintf(missLog, "miss %q: total %d, first %q\n", q, r.Total, first)
			}
		}
		res.ZeroResults = float64(zero) / float64(len(qs))
		if res.Answerable > 0 {
			res.Recall = float64(recalled) / float64(res.Answerable)
			res.ZeroAnswerable = float64(zeroAns) / float64(res.Answerable)
		}
	}

	// Latency, on this goroutine.
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	type timed struct {
		q     string
		d     time.Duration
		total int
	}
	var last []timed
	hist := hdrhistogram.New(1, int64(time.Second), 3)
	nonEmpty := hdrhistogram.New(1, int64(time.Second), 3)
	var totals int64
	start := time.Now()
	for range rounds {
		for _, q := range qs {
			t := time.Now()
			r, err := svc.Search(api.SearchParams{Query: q, PerPage: perPage})
			d := time.Since(t).Nanoseconds()
			if err != nil {
				return err
			}
			_ = hist.RecordValue(d)
			last = append(last, timed{q, time.Duration(d), r.Total})
			if r.Total > 0 {
				_ = nonEmpty.RecordValue(d)
			}
			totals += int64(r.Total)
		}
	}
	elapsed := time.Since(start)
	if slowLog {
		slices.SortFunc(last, func(a, b timed) int { return int(b.d - a.d) })
		for _, t := range last[:min(20, len(last))] {
			fmt.Fprintf(os.Stderr, "slow %8.1f µs  total %7d  %q\n", float64(t.d)/1e3, t.total, t.q)
		}
	}
	res.Searches = hist.TotalCount()
	res.QPS = float64(res.Searches) / elapsed.Seconds()
	res.P50Micros = float64(hist.ValueAtQuantile(50)) / 1e3
	res.P99Micros = float64(hist.ValueAtQuantile(99)) / 1e3
	res.MaxMicros = float64(hist.Max()) / 1e3
	res.NonEmptyP99Micro = float64(nonEmpty.ValueAtQuantile(99)) / 1e3
	res.MeanTotal = float64(totals) / float64(res.Searches)
	printTable(w, &res, generate == 0)
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

func printTable(w io.Writer, r *Result, quality bool) {
	fmt.Fprintf(w, "| metric | value |\n|---|---|\n")
	fmt.Fprintf(w, "| catalog | %s |\n", r.Catalog)
	fmt.Fprintf(w, "| products | %d |\n| terms | %d |\n| facet attributes | %d |\n", r.Products, r.Terms, r.FacetAttributes)
	fmt.Fprintf(w, "| build (wall / CPU) | %.2f s / %.2f s |\n", r.BuildSeconds, r.BuildCPUSeconds)
	fmt.Fprintf(w, "| index bytes per product (counted / live heap) | %d / %d |\n", r.BytesPerProduct, int(r.HeapBytes)/max(r.Products, 1))
	if quality {
		fmt.Fprintf(w, "| queries (answerable) | %d (%d) |\n", r.Queries, r.Answerable)
		fmt.Fprintf(w, "| recall, first page of %d | %.3f |\n", r.PerPage, r.Recall)
		fmt.Fprintf(w, "| zero results: all queries / answerable | %.3f / %.3f |\n", r.ZeroResults, r.ZeroAnswerable)
	}
	fmt.Fprintf(w, "| searches (top %d + category, brand, price facets; one goroutine) | %d |\n", r.PerPage, r.Searches)
	fmt.Fprintf(w, "| queries/s | %.0f |\n", r.QPS)
	fmt.Fprintf(w, "| p50 / p99 / max | %.1f µs / %.1f µs / %.1f µs |\n", r.P50Micros, r.P99Micros, r.MaxMicros)
	fmt.Fprintf(w, "| p99 of queries with results | %.1f µs |\n", r.NonEmptyP99Micro)
	fmt.Fprintf(w, "| mean total | %.0f |\n", r.MeanTotal)
}

func normWords(s string) []string {
	n := textnorm.NewNormalizer()
	if n.Normalize(s) != nil {
		return nil
	}
	return strings.Fields(string(n.Text))
}

// relevance knows the normalised words of every product name.
type relevance struct{ names []map[string]bool }

func newRelevance(ps []*api.Product) *relevance {
	r := &relevance{}
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
	return slices.ContainsFunc(r.names, func(name map[string]bool) bool { return containsAll(name, words) })
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
