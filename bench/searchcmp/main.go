// Command searchcmp measures shopedge's in-process search (edge/search)
// beside Bleve v2 (github.com/blevesearch/bleve/v2) in one run, on the same
// generated products (bench/gen over the demo catalog, fixed seed) and
// the same real queries, each engine on one goroutine:
//
//   - AND semantics: every query word must match the name, brand or a
//     category (Bleve: a conjunction over words of a disjunction over
//     fields; the last word also as a prefix, as shopedge takes it);
//   - top 10 by relevance, and 3 facets: category (20 values), brand (20
//     values), price (the same 6 ranges shopedge derives from the
//     catalog);
//   - no answer cache on either side.
//
// It is a module of its own so that Bleve stays out of the shipped
// binaries (replace shopedge => ../..).
//
//	cd bench/searchcmp && go run . -n 1000000
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/VictoriaMetrics/metrics"
	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/rs/zerolog"

	"shopedge/bench/gen"
	"shopedge/core/api"
	"shopedge/edge/search"
	"shopedge/edge/suggest/demodata"
	"shopedge/edge/textnorm"
)

func main() {
	n := flag.Int("n", 1_000_000, "products to generate")
	seed := flag.Int64("seed", 1, "generator seed")
	catalog := flag.String("catalog", "../../scripts/demo/catalog.ndjson.gz", "source catalog of the generator")
	queries := flag.String("queries", "/work/shared/data/queries/bestbuy-queries.tsv", "queries, TSV with the query in the first column")
	rounds := flag.Int("rounds", 2, "passes over the queries for shopedge")
	bleveRounds := flag.Int("bleve-rounds", 1, "passes over the queries for Bleve")
	engines := flag.String("engines", "shopedge,bleve", "engines to run, comma-separated")
	dir := flag.String("dir", "", "directory for Bleve's index (default: a temporary one, removed after)")
	pgDSN := flag.String("pg", "", "PostgreSQL to load and query (engine postgres), e.g. postgres://postgres@127.0.0.1:9640/search; see postgres.sh")
	pgRounds := flag.Int("pg-rounds", 1, "passes over the queries for PostgreSQL")
	pgLoad := flag.Bool("pg-load", true, "load the products into PostgreSQL first (false: query what a previous run loaded)")
	flag.Parse()
	pg = pgOptions{dsn: *pgDSN, rounds: *pgRounds, load: *pgLoad}
	if err := run(os.Stdout, *n, *seed, *catalog, *queries, *rounds, *bleveRounds, *engines, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "searchcmp:", err)
		os.Exit(1)
	}
}

// pgOptions are the PostgreSQL engine's flags.
type pgOptions struct {
	dsn    string
	rounds int
	load   bool
}

var pg pgOptions

// result is one engine's figures.
type result struct {
	engine       string
	build        time.Duration
	searches     int64
	qps          float64
	p50, p99     time.Duration
	p99Hits, max time.Duration
	heap         uint64
	meanTotal    float64
}

func run(w io.Writer, n int, seed int64, catalog, queriesPath string, rounds, bleveRounds int, engines, dir string) error {
	src, err := demodata.LoadCatalog(catalog)
	if err != nil {
		return err
	}
	qs, err := readQueries(queriesPath)
	if err != nil {
		return err
	}
	var results []result
	var ranges []int64
	fmt.Fprintf(w, "%d products generated from %s (seed %d), %d queries\n\n", n, catalog, seed, len(qs))
	if strings.Contains(engines, "shopedge") || strings.Contains(engines, "bleve") || strings.Contains(engines, "postgres") {
		r, rg, err := runShopedge(n, seed, src, qs, rounds)
		if err != nil {
			return err
		}
		ranges = rg
		if strings.Contains(engines, "shopedge") {
			results = append(results, r)
		}
	}
	if strings.Contains(engines, "bleve") {
		r, err := runBleve(n, seed, src, qs, bleveRounds, ranges, dir)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	if strings.Contains(engines, "postgres") {
		r, err := runPostgres(pg.dsn, n, seed, src, qs, pg.rounds, ranges, pg.load)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	fmt.Fprintf(w, "| engine | build | heap after build | searches | queries/s | p50 | p99 | p99 (queries with results) | max | mean total |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		fmt.Fprintf(w, "| %s | %.1f s | %d MB | %d | %.0f | %v | %v | %v | %v | %.0f |\n", r.engine, r.build.Seconds(), r.heap>>20,
			r.searches, r.qps, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.p99Hits.Round(time.Microsecond),
			r.max.Round(time.Microsecond), r.meanTotal)
	}
	for _, r := range results[1:] {
		if results[0].engine[:8] == "shopedge" {
			fmt.Fprintf(w, "\nshopedge / %s: %.1f × the queries/s, p99 %.1f × lower\n", r.engine, results[0].qps/r.qps,
				float64(r.p99)/float64(results[0].p99))
		}
	}
	return nil
}

// runShopedge loads the products into edge/search and replays the
// queries; it also returns the price facet's ranges, which Bleve uses.
func runShopedge(n int, seed int64, src []*api.Product, qs []string, rounds int) (result, []int64, error) {
	res := result{engine: "shopedge (edge/search)"}
	svc := search.New(search.DefaultConfig(), zerolog.Nop(), metrics.NewSet())
	runtime.GC()
	t := time.Now()
	svc.BeginLoad()
	if err := gen.Products(n, seed, src, func(p *api.Product) error { svc.Load(p); return nil }); err != nil {
		return res, nil, err
	}
	svc.EndLoad(1)
	res.build = time.Since(t) // includes generating the products
	res.heap = heapAlloc()
	all, err := svc.Search(api.SearchParams{PerPage: 1})
	if err != nil {
		return res, nil, err
	}
	var ranges []int64
	for _, b := range all.Facets.Price {
		ranges = append(ranges, b.Min)
	}
	err = replay(&res, qs, rounds, func(q string) (int, error) {
		r, err := svc.Search(api.SearchParams{Query: q, PerPage: 10})
		if err != nil {
			return 0, err
		}
		return r.Total, nil
	})
	return res, ranges, err
}

// bleveDoc is what Bleve indexes of a product.
type bleveDoc struct {
	Name       string   `json:"name"`
	Brand      string   `json:"brand"`
	BrandKW    string   `json:"brand_kw"`
	Categories []string `json:"categories"`
	CatKW      []string `json:"cat_kw"`
	Price      float64  `json:"price"`
	Popularity float64  `json:"popularity"`
}

func bleveMapping() mapping.IndexMapping {
	text := bleve.NewTextFieldMapping()
	text.Store, text.IncludeTermVectors = false, false
	kw := bleve.NewKeywordFieldMapping()
	kw.Store, kw.IncludeInAll = false, false
	kw.DocValues = true
	num := bleve.NewNumericFieldMapping()
	num.Store, num.IncludeInAll = false, false
	doc := bleve.NewDocumentStaticMapping()
	doc.AddFieldMappingsAt("name", text)
	doc.AddFieldMappingsAt("brand", text)
	doc.AddFieldMappingsAt("categories", text)
	doc.AddFieldMappingsAt("brand_kw", kw)
	doc.AddFieldMappingsAt("cat_kw", kw)
	doc.AddFieldMappingsAt("price", num)
	doc.AddFieldMappingsAt("popularity", num)
	m := bleve.NewIndexMapping()
	m.DefaultMapping = doc
	m.DefaultAnalyzer = "standard"
	return m
}

func runBleve(n int, seed int64, src []*api.Product, qs []string, rounds int, ranges []int64, dir string) (result, error) {
	res := result{engine: "Bleve v2.6.3 (scorch)"}
	if dir == "" {
		d, err := os.MkdirTemp("", "searchcmp-bleve-")
		if err != nil {
			return res, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	runtime.GC()
	t := time.Now()
	idx, err := bleve.New(filepath.Join(dir, "index"), bleveMapping())
	if err != nil {
		return res, err
	}
	defer idx.Close()
	batch := idx.NewBatch()
	err = gen.Products(n, seed, src, func(p *api.Product) error {
		d := bleveDoc{Name: p.Name, Brand: p.Brand, BrandKW: p.Brand, Categories: p.Categories, CatKW: p.Categories, Popularity: float64(p.Popularity)}
		d.Price = -1
		for _, s := range p.SKUs {
			if s.Price != nil && (d.Price < 0 || float64(s.Price.Amount) < d.Price) {
				d.Price = float64(s.Price.Amount)
			}
		}
		if err := batch.Index(p.ID, d); err != nil {
			return err
		}
		if batch.Size() >= 2000 {
			if err := idx.Batch(batch); err != nil {
				return err
			}
			batch.Reset()
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	if err := idx.Batch(batch); err != nil {
		return res, err
	}
	res.build = time.Since(t) // includes generating the products
	res.heap = heapAlloc()
	norm := textnorm.NewNormalizer()
	err = replay(&res, qs, rounds, func(q string) (int, error) {
		if norm.Normalize(q) != nil {
			return 0, nil
		}
		words := strings.Fields(string(norm.Text))
		var q0 query.Query = bleve.NewMatchAllQuery()
		if len(words) > 0 {
			var conj []query.Query
			for i, w := range words {
				var alts []query.Query
				for _, f := range []string{"name", "brand", "categories"} {
					m := bleve.NewMatchQuery(w)
					m.SetField(f)
					alts = append(alts, m)
					if i == len(words)-1 {
						pq := bleve.NewPrefixQuery(w)
						pq.SetField(f)
						alts = append(alts, pq)
					}
				}
				conj = append(conj, bleve.NewDisjunctionQuery(alts...))
			}
			q0 = bleve.NewConjunctionQuery(conj...)
		}
		req := bleve.NewSearchRequestOptions(q0, 10, 0, false)
		req.AddFacet("category", bleve.NewFacetRequest("cat_kw", 20))
		req.AddFacet("brand", bleve.NewFacetRequest("brand_kw", 20))
		pf := bleve.NewFacetRequest("price", len(ranges))
		for i, lo := range ranges {
			min := float64(lo)
			var max *float64
			if i+1 < len(ranges) {
				m := float64(ranges[i+1])
				max = &m
			}
			pf.AddNumericRange(fmt.Sprint(i), &min, max)
		}
		req.AddFacet("price", pf)
		r, err := idx.Search(req)
		if err != nil {
			return 0, err
		}
		return int(r.Total), nil
	})
	return res, err
}

// replay runs every query rounds times through search and records the
// latencies.
func replay(res *result, qs []string, rounds int, search func(string) (int, error)) error {
	hist := hdrhistogram.New(1, int64(10*time.Second), 3)
	hits := hdrhistogram.New(1, int64(10*time.Second), 3)
	var totals int64
	start := time.Now()
	for range rounds {
		for _, q := range qs {
			t := time.Now()
			total, err := search(q)
			d := time.Since(t).Nanoseconds()
			if err != nil {
				return fmt.Errorf("%s: %q: %w", res.engine, q, err)
			}
			_ = hist.RecordValue(d)
			if total > 0 {
				_ = hits.RecordValue(d)
			}
			totals += int64(total)
		}
	}
	res.searches = hist.TotalCount()
	res.qps = float64(res.searches) / time.Since(start).Seconds()
	res.p50 = time.Duration(hist.ValueAtQuantile(50))
	res.p99 = time.Duration(hist.ValueAtQuantile(99))
	res.p99Hits = time.Duration(hits.ValueAtQuantile(99))
	res.max = time.Duration(hist.Max())
	res.meanTotal = float64(totals) / float64(res.searches)
	return nil
}

func heapAlloc() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func readQueries(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, err)
	}
	defer f.Close()
	var qs []string
	sc := bufio.NewScanner(f)
	for first := true; sc.Scan(); first = false {
		q, _, _ := strings.Cut(sc.Text(), "\t")
		if first && q == "query" || q == "" {
			continue
		}
		qs = append(qs, q)
	}
	return qs, sc.Err()
}
