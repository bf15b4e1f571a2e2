package search

import (
	"os"
	"testing"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"

	"shopedge/core/api"
	"shopedge/edge/suggest/demodata"
)

const demoCatalog = "../../scripts/demo/catalog.ndjson.gz"

// demoProducts returns the demo catalog (22,697 products: Best Buy phones
// and Icecat electronics with attributes).
func demoProducts(tb testing.TB) []*api.Product {
	tb.Helper()
	ps, err := demodata.LoadCatalog(demoCatalog)
	if err != nil {
		tb.Fatal(err)
	}
	return ps
}

// newLoaded returns a Service loaded with products at sequence 1.
func newLoaded(tb testing.TB, cfg Config, products []*api.Product) *Service {
	tb.Helper()
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	s := New(cfg, zerolog.New(os.Stderr).Level(zerolog.WarnLevel), metrics.NewSet())
	s.BeginLoad()
	for _, p := range products {
		s.Load(p)
	}
	s.EndLoad(1)
	return s
}

func mustSearch(tb testing.TB, s *Service, p api.SearchParams) *api.SearchResult {
	tb.Helper()
	r, err := s.Search(p)
	if err != nil {
		tb.Fatalf("Search(%+v): %v", p, err)
	}
	return r
}
