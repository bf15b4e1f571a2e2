package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
)

// ProductsConfig configures the products scenario: Zipf-distributed
// product reads through an edge, JSON and HTML, against the baseline.
type ProductsConfig struct {
	Cluster ClusterConfig `yaml:"cluster"`
	Options Options       `yaml:"options"`
	// Catalog is the NDJSON(.gz) catalog imported into the core.
	Catalog string `yaml:"catalog"`
	// Gen adds that many generated products (GenFunc over Catalog).
	Gen  int   `yaml:"gen"`
	Seed int64 `yaml:"seed"`
	// ZipfS is the Zipf exponent of product popularity.
	ZipfS float64 `yaml:"zipf_s"`
	// HTML also measures GET /products/{slug}.
	HTML bool `yaml:"html"`
	// HitsTop, when > 0, also measures JSON over the HitsTop most popular
	// products only, after reading each of them once: with a catalog
	// larger than the edge's page cache, that run is (almost) all hits,
	// which the Zipf run over the whole catalog is not. The share of hits
	// of every run is reported as a fact.
	HitsTop int `yaml:"hits_top"`
	// ImportBatchBytes bounds one import request body: the core's server
	// caps request bodies (64 MB by default), so large catalogs go in
	// batches.
	ImportBatchBytes int `yaml:"import_batch_bytes"`
	// GenFunc generates products; required when Gen > 0.
	GenFunc GenFunc `yaml:"-"`
}

// DefaultProductsConfig returns the demo catalog, s=1.1, JSON and HTML.
func DefaultProductsConfig() ProductsConfig {
	return ProductsConfig{
		Cluster: DefaultClusterConfig(), Options: DefaultOptions(),
		Catalog: "scripts/demo/catalog.ndjson.gz", Seed: 1, ZipfS: 1.1, HTML: true,
		ImportBatchBytes: 16 << 20,
	}
}

// Validate reports the first invalid field of c.
func (c *ProductsConfig) Validate() error {
	if err := c.Cluster.Validate(); err != nil {
		return fmt.Errorf("cluster.%w", err)
	}
	if err := c.Options.Validate(); err != nil {
		return fmt.Errorf("options.%w", err)
	}
	switch {
	case c.Catalog == "":
		return errors.New("catalog: required")
	case c.Gen < 0:
		return fmt.Errorf("gen: must be >= 0, got %d", c.Gen)
	case c.Gen > 0 && c.GenFunc == nil:
		return errors.New("gen: no product generator available")
	case c.ZipfS <= 0:
		return fmt.Errorf("zipf_s: must be > 0, got %g", c.ZipfS)
	case c.HitsTop < 0:
		return fmt.Errorf("hits_top: must be >= 0, got %d", c.HitsTop)
	case c.ImportBatchBytes < 1:
		return fmt.Errorf("import_batch_bytes: must be >= 1, got %d", c.ImportBatchBytes)
	}
	return nil
}

// RunProducts starts a core and an edge, imports the catalog (and the
// generated products), and measures the baseline, GET /v1/products/{id}
// and GET /products/{slug} with the same options. Progress goes to log.
func RunProducts(ctx context.Context, cfg ProductsConfig, log io.Writer) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cannot run products: %w", err)
	}
	src, err := ReadCatalog(cfg.Catalog)
	if err != nil {
		return nil, err
	}
	r := NewReport("products", cfg.Options)
	cl, err := NewCluster(ctx, cfg.Cluster)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	if err := cl.StartCore(ctx); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "core ready on %s; importing %d + %d generated products\n", cl.Core.Addr, len(src), cfg.Gen)
	t0 := time.Now()
	refs, batches, err := importProducts(ctx, cl, src, cfg)
	if err != nil {
		return nil, err
	}
	r.Fact("products", float64(len(refs)))
	r.Fact("import_requests", float64(batches))
	r.Fact("import_seconds", time.Since(t0).Seconds())
	cold, err := cl.StartEdge(ctx)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "edge ready on %s after %s\n", cl.Edge.Addr, cold.Round(time.Millisecond))
	r.Fact("edge_cold_start_ms", float64(cold.Milliseconds()))
	if rss, err := cl.Edge.RSSBytes(); err == nil {
		r.Fact("edge_rss_mb_ready", mb(rss))
	}

	ByPopularity(refs)
	jsonPaths, htmlPaths := make([]string, len(refs)), make([]string, len(refs))
	for i, p := range refs {
		jsonPaths[i] = "/v1/products/" + p.ID
		htmlPaths[i] = "/products/" + p.Slug
	}
	z, err := NewZipf(len(refs), cfg.ZipfS)
	if err != nil {
		return nil, err
	}
	o := cfg.Options
	ec := NewClient(cl.Edge.Addr, o.Concurrency, o.Timeout)
	if _, err := probe(ec, "edge", "GET", jsonPaths[0], nil, nil, 200); err != nil {
		return nil, err
	}
	if cfg.HTML {
		if _, err := probe(ec, "edge", "GET", htmlPaths[0], nil, nil, 200); err != nil {
			return nil, err
		}
	}
	if err := measureBaseline(ctx, r, o, log); err != nil {
		return nil, err
	}
	hits := hitCounter{ctx: ctx, edge: cl.Edge}
	fmt.Fprintf(log, "edge GET /v1/products/{id}, Zipf s=%g over %d products\n", cfg.ZipfS, len(refs))
	s, err := hits.run(r, "json_hit_share", o, ZipfPaths(ec, o.Timeout, jsonPaths, z))
	if err != nil {
		return nil, err
	}
	r.Add(fmt.Sprintf("edge product JSON (Zipf %g, %d products)", cfg.ZipfS, len(refs)), "GET /v1/products/{id}", s)
	if cfg.HTML {
		fmt.Fprintf(log, "edge GET /products/{slug}\n")
		s, err := hits.run(r, "html_hit_share", o, ZipfPaths(ec, o.Timeout, htmlPaths, z))
		if err != nil {
			return nil, err
		}
		r.Add("edge product HTML", "GET /products/{slug}", s)
	}
	if n := cfg.HitsTop; n > 0 && n < len(refs) {
		top := jsonPaths[:n]
		fmt.Fprintf(log, "edge GET /v1/products/{id}: reading the %d most popular once, then Zipf s=%g over them\n", n, cfg.ZipfS)
		warm := o
		warm.Rate, warm.Warmup, warm.Duration, warm.MaxRequests = 0, 0, time.Hour, int64(n)
		if _, err := Run(ctx, warm, SeqPaths(ec, o.Timeout, top)); err != nil {
			return nil, err
		}
		zt, err := NewZipf(n, cfg.ZipfS)
		if err != nil {
			return nil, err
		}
		s, err := hits.run(r, "top_json_hit_share", o, ZipfPaths(ec, o.Timeout, top, zt))
		if err != nil {
			return nil, err
		}
		r.Add(fmt.Sprintf("edge product JSON, %d most popular (Zipf %g)", n, cfg.ZipfS), "GET /v1/products/{id}", s)
	} else if n > 0 {
		fmt.Fprintf(log, "hits_top %d: the catalog has only %d products, so the Zipf run over it is the hits-only run\n", n, len(refs))
	}
	if rss, err := cl.Edge.RSSBytes(); err == nil {
		r.Fact("edge_rss_mb", mb(rss))
	}
	if rss, err := cl.Core.RSSBytes(); err == nil {
		r.Fact("core_rss_mb", mb(rss))
	}
	r.Note("catalog %s; ids ranked by popularity, rank k drawn with P ∝ 1/(k+1)^%g", cfg.Catalog, cfg.ZipfS)
	return r, cl.Stop()
}

// importProducts imports src and cfg.Gen generated products as NDJSON
// through the core's import, in batches of at most importBatchBytes, and
// returns every product's ref and the number of import requests.
func importProducts(ctx context.Context, cl *Cluster, src []*api.Product, cfg ProductsConfig) ([]ProductRef, int, error) {
	refs := make([]ProductRef, 0, len(src)+cfg.Gen)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	batches := 0
	flush := func() error {
		if buf.Len() == 0 {
			return nil
		}
		batches++
		_, err := cl.Import(ctx, bytes.NewReader(buf.Bytes()))
		buf.Reset()
		return err
	}
	put := func(p *api.Product) error {
		refs = append(refs, ProductRef{ID: p.ID, Slug: p.Slug, Popularity: p.Popularity})
		if err := enc.Encode(p); err != nil {
			return fmt.Errorf("cannot encode product %s: %w", p.ID, err)
		}
		if buf.Len() >= cfg.ImportBatchBytes {
			return flush()
		}
		return nil
	}
	for _, p := range src {
		if err := put(p); err != nil {
			return nil, batches, err
		}
	}
	if cfg.Gen > 0 {
		if err := cfg.GenFunc(cfg.Gen, cfg.Seed, src, put); err != nil {
			return nil, batches, fmt.Errorf("cannot import generated products: %w", err)
		}
	}
	if err := flush(); err != nil {
		return nil, batches, err
	}
	return refs, batches, nil
}

// hitCounter reports the share of an edge's product requests answered from
// its page store (shopedge_edge_product_hits_total against
// shopedge_edge_product_misses_total) during a run.
type hitCounter struct {
	ctx  context.Context
	edge *Proc
}

const (
	metricHits   = "shopedge_edge_product_hits_total"
	metricMisses = "shopedge_edge_product_misses_total"
)

// run runs op as o says and adds the share of hits during it (warm-up
// included) to r as fact.
func (h hitCounter) run(r *Report, fact string, o Options, op Op) (*Summary, error) {
	before, err := Metrics(h.ctx, h.edge, metricHits, metricMisses)
	if err != nil {
		return nil, err
	}
	s, err := Run(h.ctx, o, op)
	if err != nil {
		return nil, err
	}
	after, err := Metrics(h.ctx, h.edge, metricHits, metricMisses)
	if err != nil {
		return nil, err
	}
	hit := after[metricHits] - before[metricHits]
	miss := after[metricMisses] - before[metricMisses]
	if hit+miss > 0 {
		r.Fact(fact, hit/(hit+miss))
	}
	return s, nil
}
