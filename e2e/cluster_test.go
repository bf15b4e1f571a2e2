package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
	"shopedge/internal/proctest"
)

// cluster is one core and its edges on loopback.
type cluster struct {
	t        *testing.T
	coreBin  string
	edgeBin  string
	coreAddr string
	payAddr  string
	dataDir  string
	core     *proctest.Process
	edges    []*proctest.Process
	edgeAddr []string
	// coreExtra are settings added to the core's environment.
	coreExtra []string
}

// coreEnv configures a core on addr with its store under dataDir, charging
// through the testpay at payAddr.
func coreEnv(addr, dataDir, payAddr string) []string {
	return append([]string{
		"SHOPEDGE_ADMIN_TOKEN=" + adminToken,
		"SHOPEDGE_INTERNAL_TOKEN=" + internalToken,
		"SHOPEDGE_CART_DIGEST_KEY=" + cartDigestKey,
		"SHOPEDGE_SERVER_ADDR=" + addr,
		"SHOPEDGE_STORE_PATH=" + filepath.Join(dataDir, "core.db"),
		"SHOPEDGE_LOG_LEVEL=warn",
	}, paymentEnv(payAddr)...)
}

func startCluster(t *testing.T, edges int) *cluster {
	t.Helper()
	return startClusterEnv(t, edges, nil, nil)
}

// startClusterEnv is startCluster with extra settings for the core and the
// edges (NAME=value, later ones win).
func startClusterEnv(t *testing.T, edges int, coreExtra, edgeExtra []string) *cluster {
	t.Helper()
	coreBin, edgeBin := binaries(t)
	c := &cluster{t: t, coreBin: coreBin, edgeBin: edgeBin, coreAddr: proctest.FreeAddr(t), dataDir: t.TempDir(), coreExtra: coreExtra}
	_, c.payAddr = startTestpay(t, c.dataDir)
	c.startCore()
	for i := 0; i < edges; i++ {
		c.startEdge(fmt.Sprintf("edge%d", i), edgeExtra...)
	}
	return c
}

// startEdge starts one more edge following the core, with extra settings.
func (c *cluster) startEdge(name string, extra ...string) (*proctest.Process, string) {
	c.t.Helper()
	addr := proctest.FreeAddr(c.t)
	p := startProc(c.t, name, c.edgeBin, append([]string{
		"SHOPEDGE_ADMIN_TOKEN=" + adminToken,
		"SHOPEDGE_INTERNAL_TOKEN=" + internalToken,
		"SHOPEDGE_CART_DIGEST_KEY=" + cartDigestKey,
		"SHOPEDGE_SERVER_ADDR=" + addr,
		"SHOPEDGE_CORE_ADDRS=" + c.coreAddr,
		"SHOPEDGE_PAGES_CACHE_BYTES=" + strconv.Itoa(64<<20),
		"SHOPEDGE_FOLLOW_DISCONNECT_AFTER=500ms",
		"SHOPEDGE_FOLLOW_BACKOFF_MAX=200ms",
		"SHOPEDGE_LOG_LEVEL=warn",
	}, extra...))
	c.edges = append(c.edges, p)
	c.edgeAddr = append(c.edgeAddr, addr)
	return p, addr
}

func (c *cluster) startCore() {
	c.t.Helper()
	c.core = startProc(c.t, "core", c.coreBin, append(coreEnv(c.coreAddr, c.dataDir, c.payAddr), c.coreExtra...))
	waitStatus(c.t, "http://"+c.coreAddr+"/readyz", 200, 30*time.Second)
}

func (c *cluster) waitEdgesReady() {
	c.t.Helper()
	for _, a := range c.edgeAddr {
		waitStatus(c.t, "http://"+a+"/readyz", 200, 30*time.Second)
	}
}

// demoProducts returns the first n products of the committed demo catalog,
// as import lines.
func demoProducts(t *testing.T, n int) (lines [][]byte, products []api.Product) {
	t.Helper()
	f, err := os.Open("../scripts/demo/catalog.ndjson.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 8<<20)
	for sc.Scan() && len(lines) < n {
		var p api.Product
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
		products = append(products, p)
	}
	return lines, products
}

func (c *cluster) importLines(lines [][]byte) {
	c.t.Helper()
	body := append(bytes.Join(lines, []byte("\n")), '\n')
	st, _, b := do(c.t, "POST", "http://"+c.coreAddr+"/admin/v1/import", body, bearer()...)
	if st != 200 || !contains(b, fmt.Sprintf(`"imported":%d`, len(lines))) {
		c.t.Fatalf("import: %d %s", st, b)
	}
}

// metric reads one sample from a /metrics page (0 when absent).
func metric(t *testing.T, base, name string) float64 {
	t.Helper()
	_, _, b := do(t, "GET", base+"/metrics", nil, bearer()...)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, name+" ") {
			v, _ := strconv.ParseFloat(strings.TrimPrefix(l, name+" "), 64)
			return v
		}
	}
	return 0
}

func productPrice(t *testing.T, base, id string) (price int64, ok bool, stale string) {
	t.Helper()
	st, h, b := do(t, "GET", base+"/v1/products/"+id, nil)
	if st != 200 {
		return 0, false, h.Get("X-Shopedge-Stale")
	}
	var p api.Product
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("product %s: %v: %s", id, err, b)
	}
	if len(p.SKUs) == 0 || p.SKUs[0].Price == nil {
		return 0, true, h.Get("X-Shopedge-Stale")
	}
	return p.SKUs[0].Price.Amount, true, h.Get("X-Shopedge-Stale")
}

// TestClusterCoreTwoEdges runs one core and two edges as real processes:
// a price change reaches both edges within a second, a purge by surrogate
// key reaches both, both keep serving every product with the core killed,
// and after the core restarts they resume from their sequence without
// reloading the snapshot.
func TestClusterCoreTwoEdges(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	c := startCluster(t, 2)
	lines, products := demoProducts(t, 200)
	c.importLines(lines)
	c.waitEdgesReady()

	// Every product is served by both edges.
	for _, e := range c.edgeAddr {
		for _, p := range products {
			if _, ok, _ := productPrice(t, "http://"+e, p.ID); !ok {
				t.Fatalf("edge %s does not serve %s", e, p.ID)
			}
		}
	}

	// A price change through the admin API is served by both edges within 1 s.
	p := products[0]
	oldETags := map[string]string{}
	for _, e := range c.edgeAddr {
		_, h, _ := do(t, "GET", "http://"+e+"/v1/products/"+p.ID, nil)
		oldETags[e] = h.Get("ETag")
	}
	p.SKUs[0].Price = &api.Money{Amount: 123457, Currency: "USD"}
	for i := range p.SKUs {
		p.SKUs[i].Availability = ""
	}
	body, _ := json.Marshal(p)
	start := time.Now()
	if st, _, b := do(t, "PUT", "http://"+c.coreAddr+"/admin/v1/products/"+p.ID, body, bearer()...); st != 200 {
		t.Fatalf("price change: %d %s", st, b)
	}
	eventually(t, time.Second, func() string {
		for _, e := range c.edgeAddr {
			if got, _, _ := productPrice(t, "http://"+e, p.ID); got != 123457 {
				return fmt.Sprintf("edge %s still serves price %d", e, got)
			}
		}
		return ""
	})
	t.Logf("price change served by both edges %v after the admin call returned", time.Since(start))
	// A client revalidating with the ETag it had gets the new page, not
	// 304 (issue 13: an ETag over part of a page passed every test).
	for e, old := range oldETags {
		st, h, b := do(t, "GET", "http://"+e+"/v1/products/"+p.ID, nil, "If-None-Match", old)
		if st != 200 || h.Get("ETag") == old || !contains(b, "123457") {
			t.Fatalf("edge %s with the old ETag %s: %d ETag %s", e, old, st, h.Get("ETag"))
		}
	}

	// A purge by surrogate key reaches both edges: the next request for each
	// product of that brand is fetched from the core again.
	brand := p.Brand
	if brand == "" {
		t.Fatal("demo product without brand")
	}
	var ofBrand []string
	for _, q := range products {
		if q.Brand == brand {
			ofBrand = append(ofBrand, q.ID)
		}
	}
	before := make([]float64, len(c.edgeAddr))
	for i, e := range c.edgeAddr {
		before[i] = metric(t, "http://"+e, "shopedge_edge_product_fetches_total")
	}
	purge := []byte(`{"keys":["` + api.BrandKey(brand) + `"]}`)
	if st, _, b := do(t, "POST", "http://"+c.coreAddr+"/admin/v1/purge", purge, bearer()...); st/100 != 2 {
		t.Fatalf("purge: %d %s", st, b)
	}
	eventually(t, 5*time.Second, func() string {
		for i, e := range c.edgeAddr {
			for _, id := range ofBrand {
				if _, ok, _ := productPrice(t, "http://"+e, id); !ok {
					return "product " + id + " not served after purge"
				}
			}
			if got := metric(t, "http://"+e, "shopedge_edge_product_fetches_total"); got < before[i]+float64(len(ofBrand)) {
				return fmt.Sprintf("edge %s fetched %v products after the purge, want >= %d", e, got-before[i], len(ofBrand))
			}
		}
		return ""
	})

	loads := make([]float64, len(c.edgeAddr))
	for i, e := range c.edgeAddr {
		loads[i] = metric(t, "http://"+e, "shopedge_edge_feed_snapshot_loads_total")
	}

	// With the core killed, both edges keep serving every product and say
	// the copy may be stale; writes fail fast with 503 + Retry-After.
	c.core.Kill()
	eventually(t, 10*time.Second, func() string {
		for _, e := range c.edgeAddr {
			if _, _, stale := productPrice(t, "http://"+e, products[1].ID); stale != "1" {
				return "edge " + e + " does not flag stale pages yet"
			}
		}
		return ""
	})
	for _, e := range c.edgeAddr {
		for _, q := range products {
			if _, ok, stale := productPrice(t, "http://"+e, q.ID); !ok || stale != "1" {
				t.Fatalf("edge %s with the core down: product %s ok=%v stale=%q", e, q.ID, ok, stale)
			}
		}
		t0 := time.Now()
		st, h, b := do(t, "POST", "http://"+e+"/v1/carts", nil)
		if st != 503 || h.Get("Retry-After") == "" || !contains(b, `"error"`) {
			t.Fatalf("cart write with the core down: %d %v %s", st, h, b)
		}
		t.Logf("edge %s: write with the core down answered 503 in %v", e, time.Since(t0))
	}

	// The core comes back on the same data: the edges resume from their
	// sequence (no snapshot reload) and see new changes again.
	c.startCore()
	p.SKUs[0].Price = &api.Money{Amount: 99, Currency: "USD"}
	body, _ = json.Marshal(p)
	if st, _, b := do(t, "PUT", "http://"+c.coreAddr+"/admin/v1/products/"+p.ID, body, bearer()...); st != 200 {
		t.Fatalf("price change after restart: %d %s", st, b)
	}
	eventually(t, 10*time.Second, func() string {
		for _, e := range c.edgeAddr {
			got, _, stale := productPrice(t, "http://"+e, p.ID)
			if got != 99 || stale != "" {
				return fmt.Sprintf("edge %s serves price %d stale=%q after the core restarted", e, got, stale)
			}
		}
		return ""
	})
	for i, e := range c.edgeAddr {
		if got := metric(t, "http://"+e, "shopedge_edge_feed_snapshot_loads_total"); got != loads[i] {
			t.Fatalf("edge %s reloaded the snapshot after the core restart (%v → %v loads)", e, loads[i], got)
		}
	}

	for _, e := range c.edges {
		if code := e.Stop(5 * time.Second); code != 0 {
			t.Fatalf("edge exit code %d after SIGTERM", code)
		}
	}
	if code := c.core.Stop(5 * time.Second); code != 0 {
		t.Fatalf("core exit code %d after SIGTERM", code)
	}
}
