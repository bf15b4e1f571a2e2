package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// SuggestConfig configures the suggest scenario: a keystroke-by-keystroke
// replay of real queries against the edge's GET /v1/suggest.
type SuggestConfig struct {
	Cluster ClusterConfig `yaml:"cluster"`
	Options Options       `yaml:"options"`
	Catalog string        `yaml:"catalog"`
	// Queries is a TSV with a "query" column.
	Queries string `yaml:"queries"`
	// Limit is the limit parameter sent (0 leaves the edge's default).
	Limit int `yaml:"limit"`
}

// DefaultSuggestConfig returns the demo catalog and the Best Buy queries.
func DefaultSuggestConfig() SuggestConfig {
	return SuggestConfig{
		Cluster: DefaultClusterConfig(), Options: DefaultOptions(),
		Catalog: "scripts/demo/catalog.ndjson.gz",
		Queries: "../shared/data/queries/bestbuy-queries.tsv", Limit: 10,
	}
}

// Validate reports the first invalid field of c.
func (c *SuggestConfig) Validate() error {
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
	case c.Limit < 0:
		return fmt.Errorf("limit: must be >= 0, got %d", c.Limit)
	}
	return nil
}

// RunSuggest starts a core and an edge with the catalog and replays every
// prefix of every query, in order, against the edge, after the baseline.
func RunSuggest(ctx context.Context, cfg SuggestConfig, log io.Writer) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cannot run suggest: %w", err)
	}
	qs, err := LoadQueries(cfg.Queries)
	if err != nil {
		return nil, err
	}
	paths := SuggestPaths(qs, cfg.Limit)
	src, err := ReadCatalog(cfg.Catalog)
	if err != nil {
		return nil, err
	}
	r := NewReport("suggest", cfg.Options)
	cl, err := NewCluster(ctx, cfg.Cluster)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	if err := cl.StartCore(ctx); err != nil {
		return nil, err
	}
	if _, _, err := importProducts(ctx, cl, src, ProductsConfig{ImportBatchBytes: 16 << 20}); err != nil {
		return nil, err
	}
	cold, err := cl.StartEdge(ctx)
	if err != nil {
		return nil, err
	}
	r.Fact("edge_cold_start_ms", float64(cold.Milliseconds()))
	o := cfg.Options
	ec := NewClient(cl.Edge.Addr, o.Concurrency, o.Timeout)
	if _, err := probe(ec, "edge", "GET", paths[0], nil, nil, 200); err != nil {
		return nil, err
	}
	if err := measureBaseline(ctx, r, o, log); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "edge GET /v1/suggest: %d queries, %d keystrokes\n", len(qs), len(paths))
	s, err := Run(ctx, o, ReplayPaths(ec, o.Timeout, paths))
	if err != nil {
		return nil, err
	}
	r.Add(fmt.Sprintf("edge suggest (keystroke replay, %d prefixes)", len(paths)), "GET /v1/suggest?q=…", s)
	r.Fact("queries", float64(len(qs)))
	r.Fact("keystrokes", float64(len(paths)))
	r.Fact("replays_of_all_keystrokes", float64(s.Requests)/float64(len(paths)))
	if rss, err := cl.Edge.RSSBytes(); err == nil {
		r.Fact("edge_rss_mb", mb(rss))
	}
	const products, bytes, build = "shopedge_suggest_products", "shopedge_suggest_index_bytes", "shopedge_suggest_build_seconds"
	if m, err := Metrics(ctx, cl.Edge, products, bytes, build); err == nil && m[products] > 0 {
		r.Fact("suggest_index_bytes_per_product", m[bytes]/m[products])
		r.Fact("suggest_index_build_s", m[build])
	}
	r.Note("queries %s, every prefix of each query in file order, cycled", cfg.Queries)
	return r, cl.Stop()
}
