package bench

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestExpandAndSplitExtra(t *testing.T) {
	got := expand([]string{"A={addr}", "-store.path={data}/core.db", "T={token}{token}"},
		map[string]string{"addr": "127.0.0.1:1", "data": "/d", "token": "x"})
	if want := []string{"A=127.0.0.1:1", "-store.path=/d/core.db", "T=xx"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("expand = %q, want %q", got, want)
	}
	env, args := SplitExtra([]string{"SHOPEDGE_CHECKOUT_GROUP_COMMIT=false", "-checkout.group-commit=false", ""})
	if !reflect.DeepEqual(env, []string{"SHOPEDGE_CHECKOUT_GROUP_COMMIT=false"}) || !reflect.DeepEqual(args, []string{"-checkout.group-commit=false"}) {
		t.Fatalf("SplitExtra: env %q args %q", env, args)
	}
}

func TestParseVmRSS(t *testing.T) {
	f := func(status string, want int64, wantErr bool) {
		t.Helper()
		p := filepath.Join(t.TempDir(), "status")
		if err := os.WriteFile(p, []byte(status), 0o644); err != nil {
			t.Fatal(err)
		}
		fh, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		got, err := parseVmRSS(fh)
		if (err != nil) != wantErr || got != want {
			t.Fatalf("parseVmRSS(%q) = %d, %v; want %d (error %v)", status, got, err, want, wantErr)
		}
	}
	f("Name:\tedge\nVmPeak:\t  9000 kB\nVmRSS:\t   2048 kB\n", 2048<<10, false)
	f("Name:\tedge\n", 0, true)
	f("VmRSS:\t12 MB\n", 0, true)
}

func TestReadRSSOfSelf(t *testing.T) {
	rss, err := ReadRSS(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Fatalf("own RSS %d: %v", rss, err)
	}
}

func TestRouteError(t *testing.T) {
	err := RouteError("edge", "GET", "/v1/suggest?q=a", 404, []byte(`{"error":{"code":"not_found"}}`))
	if !strings.Contains(err.Error(), "route missing") || !strings.Contains(err.Error(), "GET /v1/suggest?q=a") {
		t.Fatal(err)
	}
	if err := RouteError("core", "POST", "/x", 500, nil); strings.Contains(err.Error(), "route missing") {
		t.Fatal(err)
	}
}

func TestParseMetrics(t *testing.T) {
	text := "# HELP x\nshopedge_checkout_batch_size_bucket{vmrange=\"1.0e0...1.2e0\"} 3\n" +
		"shopedge_checkout_batch_size_sum 42\nshopedge_checkout_batch_size_count 7\n" +
		"shopedge_checkouts_total{result=\"paid\"} 5\nshopedge_checkouts_total{result=\"out_of_stock\"} 2\n"
	got := parseMetrics([]byte(text), []string{"shopedge_checkout_batch_size_sum", "shopedge_checkout_batch_size_count", "shopedge_checkouts_total"})
	want := map[string]float64{"shopedge_checkout_batch_size_sum": 42, "shopedge_checkout_batch_size_count": 7, "shopedge_checkouts_total": 7}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
