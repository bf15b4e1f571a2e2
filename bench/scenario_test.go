package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"shopedge/core/api"
)

// fakeClusterConfig runs this test binary as the core and the edge (see
// TestMain).
func fakeClusterConfig(t *testing.T, extraCore ...string) ClusterConfig {
	t.Helper()
	cfg := DefaultClusterConfig()
	cfg.CoreBin, cfg.EdgeBin = os.Args[0], os.Args[0]
	cfg.NoTestpay = true
	cfg.CoreEnv = append(cfg.CoreEnv, "BENCH_FAKE=core")
	cfg.CoreEnv = append(cfg.CoreEnv, extraCore...)
	cfg.EdgeEnv = append(cfg.EdgeEnv, "BENCH_FAKE=edge")
	cfg.AdminToken = "test-token"
	cfg.ReadyTimeout = 10 * time.Second
	cfg.WorkDir = t.TempDir()
	return cfg
}

// smallOptions runs 300 requests: the duration only bounds a stuck run, so
// a loaded machine (make test runs packages in parallel under -race) still
// completes all of them.
func smallOptions() Options {
	return Options{Concurrency: 4, Duration: 20 * time.Second, MaxRequests: 300, Timeout: 2 * time.Second}
}

func TestClusterStartsStopsAndMeasures(t *testing.T) {
	ctx := context.Background()
	cl, err := NewCluster(ctx, fakeClusterConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.StartCore(ctx); err != nil {
		t.Fatal(err)
	}
	cold, err := cl.StartEdge(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cold <= 0 {
		t.Fatalf("cold start %s", cold)
	}
	rss, err := cl.Edge.RSSBytes()
	if err != nil || rss < 1<<20 {
		t.Fatalf("edge RSS %d: %v", rss, err)
	}
	if err := cl.SetStock(ctx, "sku-1", 7); err != nil {
		t.Fatal(err)
	}
	st, err := cl.Stock(ctx, "sku-1")
	if err != nil || st.OnHand != 7 {
		t.Fatalf("stock %+v: %v", st, err)
	}
	if _, err := cl.Stock(ctx, "absent"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("missing stock: %v", err)
	}
	core, edge := cl.Core, cl.Edge
	if err := cl.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*Proc{core, edge} {
		if done, _ := p.Exited(); !done {
			t.Fatalf("%s still running after Stop", p.Name)
		}
	}
}

func TestClusterReportsEarlyExit(t *testing.T) {
	cfg := fakeClusterConfig(t)
	cfg.CoreBin = "/bin/false"
	cl, err := NewCluster(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.StartCore(context.Background()); err == nil || !strings.Contains(err.Error(), "exited before ready") {
		t.Fatalf("error %v", err)
	}
}

func writeCatalog(t *testing.T, ps []*api.Product) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "catalog.ndjson")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := WriteNDJSON(f, ps); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProductsScenarioOnFakes(t *testing.T) {
	cfg := DefaultProductsConfig()
	cfg.Cluster = fakeClusterConfig(t)
	cfg.Options = smallOptions()
	cfg.Catalog = writeCatalog(t, FlashCatalog(30))
	r, err := RunProducts(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if r.Baseline == nil || len(r.Runs) != 2 || r.Facts["products"] != 31 || r.Facts["edge_rss_mb"] <= 0 {
		t.Fatalf("report %+v", r)
	}
	for _, run := range r.Runs {
		if run.Summary.OK != 300 || run.Ratio == nil || run.Ratio.RPS <= 0 {
			t.Fatalf("run %s: %+v ratio %+v", run.Name, run.Summary, run.Ratio)
		}
	}
	if r.Facts["json_hit_share"] != 1 || r.Facts["html_hit_share"] != 1 {
		t.Fatalf("hit shares: %v", r.Facts)
	}
}

// TestProductsScenarioHitsTop: with hits_top the scenario reads the most
// popular products once, then measures a third run over them only, and
// reports each run's share of hits from the edge's counters.
func TestProductsScenarioHitsTop(t *testing.T) {
	cfg := DefaultProductsConfig()
	cfg.Cluster = fakeClusterConfig(t)
	cfg.Options = smallOptions()
	cfg.HTML = false
	// The least popular product is dropped by the fake core: the Zipf run
	// over the whole catalog meets some misses, the run over the top
	// products none.
	cfg.Catalog = writeCatalog(t, append(FlashCatalog(30), &api.Product{ID: "zz", Slug: "zz", Popularity: -1}))
	cfg.Cluster.CoreEnv = append(cfg.Cluster.CoreEnv, "BENCH_FAKE_DROP=zz")
	cfg.ZipfS = 0.1 // nearly uniform: the last product is drawn
	cfg.HitsTop = 10
	r, err := RunProducts(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Runs) != 2 || !strings.Contains(r.Runs[1].Name, "10 most popular") {
		t.Fatalf("runs %+v", r.Runs)
	}
	if sh := r.Facts["json_hit_share"]; sh <= 0 || sh >= 1 {
		t.Fatalf("json_hit_share %v: want some misses", sh)
	}
	if sh := r.Facts["top_json_hit_share"]; sh != 1 {
		t.Fatalf("top_json_hit_share %v", sh)
	}
	if s := r.Runs[1].Summary; s.OK != s.Requests {
		t.Fatalf("top run %+v", s)
	}
	cfg.HitsTop = -1
	if _, err := RunProducts(context.Background(), cfg, io.Discard); err == nil || !strings.Contains(err.Error(), "hits_top") {
		t.Fatalf("negative hits_top: %v", err)
	}
}

func TestProductsScenarioImportsGeneratedInBatches(t *testing.T) {
	cfg := DefaultProductsConfig()
	cfg.Cluster = fakeClusterConfig(t)
	cfg.Options = smallOptions()
	cfg.HTML = false
	cfg.Catalog = writeCatalog(t, FlashCatalog(2))
	cfg.ImportBatchBytes = 4 << 10
	cfg.Gen, cfg.Seed = 200, 7
	cfg.GenFunc = func(n int, seed int64, src []*api.Product, fn func(*api.Product) error) error {
		for i := 0; i < n; i++ {
			p := *src[i%len(src)]
			p.ID, p.Slug, p.Popularity = fmt.Sprintf("gen-%d-%d", seed, i), fmt.Sprintf("gen-slug-%d", i), int64(n-i)
			if err := fn(&p); err != nil {
				return err
			}
		}
		return nil
	}
	r, err := RunProducts(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if r.Facts["products"] != 203 || r.Facts["import_requests"] < 5 {
		t.Fatalf("facts %v", r.Facts)
	}
	// Every product the Zipf draw asked for was imported: no 404s.
	if s := r.Runs[0].Summary; s.OK != s.Requests {
		t.Fatalf("summary %+v", s)
	}
}

func TestProductsScenarioNamesMissingRoute(t *testing.T) {
	cfg := DefaultProductsConfig()
	cfg.Cluster = fakeClusterConfig(t)
	cfg.Options = smallOptions()
	// The most popular product is one the fake core drops on import, so the
	// edge answers 404: the scenario must stop with a clear message rather
	// than measure errors.
	cfg.Catalog = writeCatalog(t, append(FlashCatalog(2), &api.Product{ID: "zz", Slug: "zz", Popularity: 1e9}))
	cfg.Cluster.CoreEnv = append(cfg.Cluster.CoreEnv, "BENCH_FAKE_DROP=zz")
	_, err := RunProducts(context.Background(), cfg, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "route missing") || !strings.Contains(err.Error(), "/v1/products/zz") {
		t.Fatalf("error %v", err)
	}
}

func TestSuggestScenarioOnFakes(t *testing.T) {
	cfg := DefaultSuggestConfig()
	cfg.Cluster = fakeClusterConfig(t)
	cfg.Options = smallOptions()
	cfg.Catalog = writeCatalog(t, FlashCatalog(3))
	q := filepath.Join(t.TempDir(), "q.tsv")
	if err := os.WriteFile(q, []byte("query\tpopularity\nipad\t3\nsam tv\t2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Queries = q
	r, err := RunSuggest(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if r.Facts["keystrokes"] != 10 || len(r.Runs) != 1 || r.Runs[0].Summary.OK != 300 {
		t.Fatalf("report facts %v runs %+v", r.Facts, r.Runs)
	}
}

func flashConfig(t *testing.T, extraCore ...string) FlashsaleConfig {
	cfg := DefaultFlashsaleConfig()
	cfg.Cluster = fakeClusterConfig(t, extraCore...)
	cfg.Concurrency, cfg.Buyers, cfg.Units, cfg.MixedSKUs, cfg.MixedUnits = 8, 60, 10, 4, 5
	cfg.MaxDuration = 20 * time.Second
	return cfg
}

func TestFlashsaleOnFakes(t *testing.T) {
	r, err := RunFlashsale(context.Background(), flashConfig(t), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Runs) != 6 {
		t.Fatalf("%d runs", len(r.Runs))
	}
	if r.Facts["hot_testpay_process_vs_in_process"] <= 0 || r.Facts["mixed_testpay_process_vs_in_process"] <= 0 {
		t.Fatalf("no process vs in-process ratio: %v", r.Facts)
	}
	for _, mode := range []string{"group_commit_on", "in_process_gateway", "group_commit_off"} {
		if got := r.Facts["hot_"+mode+"_paid_orders"]; got != 10 {
			t.Fatalf("%s: %v paid orders on 10 units", mode, got)
		}
		if got := r.Facts["hot_"+mode+"_sold_out_answers"]; got != 50 {
			t.Fatalf("%s: %v sold-out answers", mode, got)
		}
		for _, sale := range []string{"hot_", "mixed_"} {
			if r.Facts[sale+mode+"_oversell"] != 0 || r.Facts[sale+mode+"_skus_sold_ne_paid"] != 0 {
				t.Fatalf("%s%s: facts %v", sale, mode, r.Facts)
			}
		}
	}
}

func TestFlashsaleCatchesOversell(t *testing.T) {
	cfg := flashConfig(t, "BENCH_FAKE_OVERSELL=1")
	cfg.MixedSKUs = 0
	r, err := RunFlashsale(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Facts["hot_group_commit_on_oversell"]; got < 50 {
		t.Fatalf("oversell %v, want ≥ 50 (60 buyers, 10 units, stock ignored)", got)
	}
}

// TestFloodScenario runs the flood scenario briefly against the fake core
// and edge: the shoppers' runs and the flooder's are reported, with the
// p99 ratio.
func TestFloodScenario(t *testing.T) {
	cfg := DefaultFloodConfig()
	cfg.Cluster = fakeClusterConfig(t)
	cfg.Clients, cfg.ClientRate, cfg.CartsPerClient = 3, 20, 2
	cfg.FloodFactor, cfg.FloodConcurrency = 2, 4
	cfg.Duration, cfg.Timeout = 500*time.Millisecond, 2*time.Second
	r, err := RunFlood(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Runs) != 3 || r.Runs[0].Summary.OK == 0 || r.Runs[1].Summary.OK == 0 || r.Runs[2].Summary.Requests == 0 {
		t.Fatalf("runs: %+v", r.Runs)
	}
	if _, ok := r.Facts["shoppers_p99_flood_over_quiet"]; !ok {
		t.Fatalf("facts: %v", r.Facts)
	}
	if md := r.Markdown(); !strings.Contains(md, "under the flood") {
		t.Fatal(md)
	}
	if err := (&FloodConfig{Cluster: cfg.Cluster, Clients: 0}).Validate(); err == nil || !strings.Contains(err.Error(), "clients") {
		t.Fatalf("Validate: %v", err)
	}
}
