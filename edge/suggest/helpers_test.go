package suggest

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"

	"shopedge/core/api"
	"shopedge/edge/suggest/demodata"
)

var update = flag.Bool("update", false, "rewrite golden files and the demo fixture from /work/shared/data")

const (
	fixturePath = "testdata/catalog.ndjson.gz"
	sharedData  = "../../../shared/data"
)

// demoProducts returns the committed demo fixture: every Best Buy phone
// and a slice of Icecat products (all its TVs, then the first 3000). With
// -update it is rebuilt from the shared data.
func demoProducts(tb testing.TB) []*api.Product {
	tb.Helper()
	if *update {
		ps, err := demodata.LoadBestBuy(sharedData + "/catalog/bestbuy-phones.json")
		if err != nil {
			tb.Fatal(err)
		}
		tvs, err := demodata.LoadIcecat(sharedData+"/catalog/icecat-products.jsonl.gz", 0, func(t string) bool { return strings.Contains(t, " TV") })
		if err != nil {
			tb.Fatal(err)
		}
		rest, err := demodata.LoadIcecat(sharedData+"/catalog/icecat-products.jsonl.gz", 3000, nil)
		if err != nil {
			tb.Fatal(err)
		}
		seen := map[string]bool{}
		var all []*api.Product
		for _, group := range [][]*api.Product{ps, tvs, rest} {
			for _, p := range group {
				if !seen[p.ID] {
					seen[p.ID] = true
					all = append(all, p)
				}
			}
		}
		if err := demodata.WriteNDJSON(fixturePath, all); err != nil {
			tb.Fatal(err)
		}
	}
	ps, err := demodata.ReadNDJSON(fixturePath)
	if err != nil {
		tb.Fatal(err)
	}
	return ps
}

func testConfig() Config {
	cfg := DefaultConfig()
	return cfg
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

// ids returns the product ids of an answer.
func ids(a *api.Suggest) []string {
	out := make([]string, len(a.Products))
	for i, p := range a.Products {
		out[i] = p.ID
	}
	return out
}

func mustSuggest(tb testing.TB, s *Service, q string, limit int) *api.Suggest {
	tb.Helper()
	a, err := s.Suggest(q, limit)
	if err != nil {
		tb.Fatalf("Suggest(%q): %v", q, err)
	}
	return a
}
