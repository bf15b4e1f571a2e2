package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"shopedge/core/api"
)

// SearchConfig configures the search scenario: real queries against the
// edge's GET /v1/search, answered from the edge's answer cache (every
// query read once first), then uncached (each request a distinct search,
// as many as the run makes), after the baseline.
type SearchConfig struct {
	Cluster ClusterConfig `yaml:"cluster"`
	Options Options       `yaml:"options"`
	Catalog string        `yaml:"catalog"`
	// Gen adds that many products generated from Catalog (GenFunc).
	Gen     int                                                                            `yaml:"gen"`
	Seed    int64                                                                          `yaml:"seed"`
	GenFunc func(n int, seed int64, src []*api.Product, fn func(*api.Product) error) error `yaml:"-"`
	// Queries is a TSV with a "query" column.
	Queries string `yaml:"queries"`
	// PerPage is the per_page parameter sent.
	PerPage int `yaml:"per_page"`
	// UncachedConcurrency is the number of workers of the uncached run
	// (few, so that its latencies are the server's, not a queue's).
	UncachedConcurrency int `yaml:"uncached_concurrency"`
}

// DefaultSearchConfig returns the demo catalog, the Best Buy queries, 10
// products per page and 2 uncached workers.
func DefaultSearchConfig() SearchConfig {
	return SearchConfig{
		Cluster: DefaultClusterConfig(), Options: DefaultOptions(),
		Catalog: "scripts/demo/catalog.ndjson.gz", Seed: 1,
		Queries: "../shared/data/queries/bestbuy-queries.tsv", PerPage: 10, UncachedConcurrency: 2,
	}
}

// Validate reports the first invalid field of c.
func (c *SearchConfig) Validate() error {
	if err := c.Cluster.Validate(); err != nil {
		return fmt.Errorf("cluster.%w", err)
	}
	if err := c.Options.Validate(); err != nil {
		return fmt.Errorf("options.%w", err)
	}
	switch {
	case c.Catalog == "":
		return errors.New("catalog: required")
	case c.Queries == "":
		return errors.New("queries: required")
	case c.Gen < 0:
		return fmt.Errorf("gen: must be >= 0, got %d", c.Gen)
	case c.Gen > 0 && c.GenFunc == nil:
		return errors.New("gen_func: required with gen")
	case c.PerPage < 1 || c.PerPage > 100:
		return fmt.Errorf("per_page: must be in 1..100, got %d", c.PerPage)
	case c.UncachedConcurrency < 1:
		return fmt.Errorf("uncached_concurrency: must be >= 1, got %d", c.UncachedConcurrency)
	}
	return nil
}

// searchSorts and the in_stock switch make distinct searches of one
// query: 8 per query, and as many pages of 10..19 products.
var searchSorts = []string{"relevance", "popularity", "price_asc", "price_desc"}

// SearchPaths returns /v1/search paths of the queries: cached, one per
// query; uncached, the queries under distinct sorts, in_stock and page
// sizes, query-major so that consecutive requests differ in query.
func SearchPaths(qs []Query, perPage int) (cached, uncached []string) {
	for _, q := range qs {
		cached = append(cached, fmt.Sprintf("/v1/search?q=%s&per_page=%d", url.QueryEscape(q.Text), perPage))
	}
	for v := range 8 * 10 {
		for _, q := range qs {
			p := fmt.Sprintf("/v1/search?q=%s&sort=%s&per_page=%d", url.QueryEscape(q.Text), searchSorts[v%4], perPage+v/8)
			if v/4%2 == 1 {
				p += "&in_stock=1"
			}
			uncached = append(uncached, p)
		}
	}
	return cached, uncached
}

// RunSearch starts a core and an edge with the catalog (and generated
// products) and measures cached, then uncached searches, after the
// baseline.
func RunSearch(ctx context.Context, cfg SearchConfig, log io.Writer) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cannot run search: %w", err)
	}
	qs, err := LoadQueries(cfg.Queries)
	if err != nil {
		return nil, err
	}
	cached, uncached := SearchPaths(qs, cfg.PerPage)
	src, err := ReadCatalog(cfg.Catalog)
	if err != nil {
		return nil, err
	}
	r := NewReport("search", cfg.Options)
	cl, err := NewCluster(ctx, cfg.Cluster)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	if err := cl.StartCore(ctx); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "core ready on %s; importing %d + %d generated products\n", cl.Core.Addr, len(src), cfg.Gen)
	refs, _, err := importProducts(ctx, cl, src, ProductsConfig{Gen: cfg.Gen, Seed: cfg.Seed, GenFunc: cfg.GenFunc, ImportBatchBytes: 16 << 20})
	if err != nil {
		return nil, err
	}
	r.Fact("products", float64(len(refs)))
	cold, err := cl.StartEdge(ctx)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "edge ready on %s after %s\n", cl.Edge.Addr, cold.Round(time.Millisecond))
	r.Fact("edge_cold_start_ms", float64(cold.Milliseconds()))
	if rss, err := cl.Edge.RSSBytes(); err == nil {
		r.Fact("edge_rss_mb_ready", mb(rss))
	}
	o := cfg.Options
	ec := NewClient(cl.Edge.Addr, o.Concurrency, o.Timeout)
	if _, err := probe(ec, "edge", "GET", cached[0], nil, nil, 200); err != nil {
		return nil, err
	}
	if err := measureBaseline(ctx, r, o, log); err != nil {
		return nil, err
	}
	// Every query once, so that the measured run reads cached answers.
	fmt.Fprintf(log, "edge GET /v1/search: reading %d queries once\n", len(cached))
	once := o
	once.Duration, once.MaxRequests, once.Warmup, once.Rate = 10*time.Minute, int64(len(cached)), 0, 0
	if _, err := Run(ctx, once, SeqPaths(ec, o.Timeout, cached)); err != nil {
		return nil, err
	}
	s, err := Run(ctx, o, ReplayPaths(ec, o.Timeout, cached))
	if err != nil {
		return nil, err
	}
	r.Add(fmt.Sprintf("edge search, cached answers (%d queries)", len(cached)), "GET /v1/search?q=…", s)
	u := o
	u.Concurrency, u.Warmup, u.Rate = cfg.UncachedConcurrency, 0, 0
	u.MaxRequests = int64(len(uncached))
	uc := NewClient(cl.Edge.Addr, u.Concurrency, o.Timeout)
	fmt.Fprintf(log, "edge GET /v1/search: uncached, %d workers, up to %d distinct searches\n", u.Concurrency, len(uncached))
	s, err = Run(ctx, u, SeqPaths(uc, o.Timeout, uncached))
	if err != nil {
		return nil, err
	}
	r.Add(fmt.Sprintf("edge search, uncached (distinct searches, %d workers)", u.Concurrency), "GET /v1/search?q=…&sort=…", s)
	if rss, err := cl.Edge.RSSBytes(); err == nil {
		r.Fact("edge_rss_mb_after", mb(rss))
	}
	const products, bytes, build = "shopedge_search_products", "shopedge_search_index_bytes", "shopedge_search_build_seconds"
	if m, err := Metrics(ctx, cl.Edge, products, bytes, build); err == nil && m[products] > 0 {
		r.Fact("search_index_bytes_per_product", m[bytes]/m[products])
		r.Fact("search_index_finish_s", m[build])
	}
	r.Note("queries %s; cached: each query once first, then replayed in file order; uncached: the queries under 4 sorts, in_stock on and off and per_page %d..%d, each search once", cfg.Queries, cfg.PerPage, cfg.PerPage+9)
	return r, cl.Stop()
}
