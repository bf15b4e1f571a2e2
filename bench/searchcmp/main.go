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
	"cmp"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
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
	flag.BoolVar(&verbose, "v", false, "print each pass's queries/s")
	flag.IntVar(&slowest, "slowest", 0, "list the slowest queries of shopedge's last pass, this many")
	flag.StringVar(&prof.cpu, "cpuprofile", "", "write a CPU profile of shopedge's replay (after its first pass) to this file")
	flag.StringVar(&prof.first, "firstprofile", "", "write a CPU profile of shopedge's first pass (about 0.1 s: merge several runs' profiles) to this file")
	flag.StringVar(&prof.mem, "memprofile", "", "write an allocation profile of shopedge's replay (after its first pass) to this file")
	flag.StringVar(&prof.build, "buildprofile", "", "write a CPU profile of shopedge's index build (with generating the products) to this file")
	flag.StringVar(&prof.heap, "heapprofile", "", "write a heap profile (in use) after shopedge's index build to this file")
	flag.Parse()
	if prof.mem != "" {
		runtime.MemProfileRate = 0 // sampled from the replay on (startProfiles)
	}
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

// verbose prints each pass's queries/s.
var verbose bool

// slowest is how many of the slowest queries of a replay to list.
var slowest int

// prof names the profiles of shopedge's replay (empty: none).
var prof struct{ cpu, first, mem, build, heap string }

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
	// Per search, and the collections during the replay.
	allocs, bytes float64
	gcs           uint32
	cpu           time.Duration // the process's CPU time (every thread, the collector's too)
}

// cpuTime returns the CPU time the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
		rs, rg, err := runShopedge(n, seed, src, qs, rounds)
		if err != nil {
			return err
		}
		ranges = rg
		if strings.Contains(engines, "shopedge") {
			results = append(results, rs...)
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
	fmt.Fprintf(w, "| engine | build | heap after build | searches | queries/s | p50 | p99 | p99 (queries with results) | max | mean total | CPU/search | allocs/search | B/search | GCs |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		fmt.Fprintf(w, "| %s | %.1f s | %d MB | %d | %.0f | %v | %v | %v | %v | %.0f | %v | %.0f | %.0f | %d |\n", r.engine, r.build.Seconds(), r.heap>>20,
			r.searches, r.qps, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.p99Hits.Round(time.Microsecond),
			r.max.Round(time.Microsecond), r.meanTotal, r.cpu.Round(time.Microsecond), r.allocs, r.bytes, r.gcs)
	}
	fmt.Fprintln(w)
	for _, s := range results {
		if !strings.HasPrefix(s.engine, "shopedge") {
			continue
		}
		for _, r := range results {
			if !strings.HasPrefix(r.engine, "shopedge") {
				fmt.Fprintf(w, "%s / %s: %.1f × the queries/s, p99 %.1f × lower\n", s.engine, r.engine, s.qps/r.qps,
					float64(r.p99)/float64(s.p99))
			}
		}
	}
	return nil
}

// runShopedge loads the products into edge/search and replays the
// queries: a first pass (the typo corrections not yet cached), then
// rounds-1 more, reported apart. It also returns the price facet's
// ranges, which Bleve uses.
func runShopedge(n int, seed int64, src []*api.Product, qs []string, rounds int) ([]result, []int64, error) {
	first := result{engine: "shopedge (edge/search), first pass"}
	log := zerolog.Nop()
	if verbose {
		log = zerolog.New(os.Stderr) // the index build's steps
	}
	svc := search.New(search.DefaultConfig(), log, metrics.NewSet())
	runtime.GC()
	stopBuild, err := cpuProfile(prof.build)
	if err != nil {
		return nil, nil, err
	}
	t := time.Now()
	svc.BeginLoad()
	if err := gen.Products(n, seed, src, func(p *api.Product) error { svc.Load(p); return nil }); err != nil {
		return nil, nil, err
	}
	svc.EndLoad(1)
	first.build = time.Since(t) // includes generating the products
	if err := stopBuild(); err != nil {
		return nil, nil, err
	}
	first.heap = heapAlloc()
	if prof.heap != "" {
		f, err := os.Create(prof.heap)
		if err != nil {
			return nil, nil, err
		}
		err = pprof.Lookup("heap").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, nil, err
		}
	}
	all, err := svc.Search(api.SearchParams{PerPage: 1})
	if err != nil {
		return nil, nil, err
	}
	var ranges []int64
	for _, b := range all.Facets.Price {
		ranges = append(ranges, b.Min)
	}
	search := func(q string) (int, error) {
		r, err := svc.Search(api.SearchParams{Query: q, PerPage: 10})
		if err != nil {
			return 0, err
		}
		return r.Total, nil
	}
	stopFirst, err := cpuProfile(prof.first)
	if err != nil {
		return nil, nil, err
	}
	if err := replay(&first, qs, 1, search); err != nil {
		return nil, nil, err
	}
	if err := stopFirst(); err != nil {
		return nil, nil, err
	}
	out := []result{first}
	if rounds < 2 {
		return out, ranges, nil
	}
	again := result{engine: fmt.Sprintf("shopedge (edge/search), %d more passes", rounds-1), build: first.build, heap: first.heap}
	stop, err := startProfiles()
	if err != nil {
		return nil, nil, err
	}
	err = replay(&again, qs, rounds-1, search)
	if perr := stop(); err == nil {
		err = perr
	}
	return append(out, again), ranges, err
}

// cpuProfile starts a CPU profile into path (none when empty); stop
// writes it.
func cpuProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// startProfiles starts the profiles prof names; stop writes them.
func startProfiles() (stop func() error, err error) {
	var cpu *os.File
	if prof.cpu != "" {
		if cpu, err = os.Create(prof.cpu); err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			return nil, err
		}
	}
	if prof.mem != "" {
		runtime.MemProfileRate = 4096
	}
	return func() error {
		if cpu != nil {
			pprof.StopCPUProfile()
			if err := cpu.Close(); err != nil {
				return err
			}
		}
		if prof.mem != "" {
			f, err := os.Create(prof.mem)
			if err != nil {
				return err
			}
			defer f.Close()
			runtime.GC() // the profile shows allocations as of the last GC; a replay may run none
			return pprof.Lookup("allocs").WriteTo(f, 0)
		}
		return nil
	}, nil
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
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := cpuTime()
	start := time.Now()
	type timed struct {
		q     string
		d     time.Duration
		total int
	}
	var last []timed
	for round := range rounds {
		rt := time.Now()
		for _, q := range qs {
			t := time.Now()
			total, err := search(q)
			d := time.Since(t).Nanoseconds()
			if round == rounds-1 && slowest > 0 {
				last = append(last, timed{q, time.Duration(d), total})
			}
			if err != nil {
				return fmt.Errorf("%s: %q: %w", res.engine, q, err)
			}
			_ = hist.RecordValue(d)
			if total > 0 {
				_ = hits.RecordValue(d)
			}
			totals += int64(total)
		}
		if verbose {
			fmt.Fprintf(os.Stderr, "%s: pass %d: %.0f queries/s\n", res.engine, round+1, float64(len(qs))/time.Since(rt).Seconds())
		}
	}
	took := time.Since(start)
	res.cpu = (cpuTime() - cpu0) / time.Duration(hist.TotalCount())
	runtime.ReadMemStats(&m1)
	res.searches = hist.TotalCount()
	res.qps = float64(res.searches) / took.Seconds()
	res.allocs = float64(m1.Mallocs-m0.Mallocs) / float64(res.searches)
	res.bytes = float64(m1.TotalAlloc-m0.TotalAlloc) / float64(res.searches)
	res.gcs = m1.NumGC - m0.NumGC
	res.p50 = time.Duration(hist.ValueAtQuantile(50))
	res.p99 = time.Duration(hist.ValueAtQuantile(99))
	res.p99Hits = time.Duration(hits.ValueAtQuantile(99))
	res.max = time.Duration(hist.Max())
	if slowest > 0 {
		slices.SortFunc(last, func(a, b timed) int { return cmp.Compare(b.d, a.d) })
		fmt.Fprintf(os.Stderr, "%s: the %d slowest queries of the last pass\n", res.engine, slowest)
		for _, t := range last[:min(slowest, len(last))] {
			fmt.Fprintf(os.Stderr, "  %8v  total %7d  %q\n", t.d, t.total, t.q)
		}
	}
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
