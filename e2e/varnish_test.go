package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
	"shopedge/internal/proctest"
	"shopedge/internal/varnish"
)

// purgeSource is the loopback address the core sends purges from, the only
// one the generated VCL's purge ACL allows; the test's own requests come
// from 127.0.0.1.
const purgeSource = "127.0.0.2"

// varnishCluster is a core, edges and Varnish in front of the edges, all
// real processes on loopback.
type varnishCluster struct {
	t        *testing.T
	core     *proctest.Process
	coreAddr string
	edges    []*proctest.Process
	edgeAddr []string
	varnish  *proctest.Process
	front    string // http://varnish
	products []api.Product
}

// startVarnishCluster starts a core that purges Varnish from purgeSource,
// n edges with edgeEnv added, imports the first 20 demo products and
// starts Varnish with the VCL `make cluster` generates. Without varnishd
// or the xkey vmod the test fails, naming the Debian packages.
func startVarnishCluster(t *testing.T, n int, edgeEnv ...string) *varnishCluster {
	t.Helper()
	varnishd, err := varnish.Find()
	if err != nil {
		t.Fatal(err)
	}
	coreBin, edgeBin := binaries(t)
	dir := t.TempDir()
	c := &varnishCluster{t: t, coreAddr: proctest.FreeAddr(t)}
	vAddr := proctest.FreeAddr(t)
	c.front = "http://" + vAddr
	c.core = startProc(t, "core", coreBin, append(varnishCoreEnv(c.coreAddr, dir),
		"SHOPEDGE_API_CDN_PURGE_URLS="+c.front+"/",
		"SHOPEDGE_API_CDN_SOURCE_ADDR="+purgeSource,
		"SHOPEDGE_API_CDN_BACKOFF_MAX=200ms"))
	waitStatus(t, "http://"+c.coreAddr+"/readyz", 200, 30*time.Second)
	lines, products := demoProducts(t, 20)
	c.products = products
	importAt(t, c.coreAddr, lines)
	for i := 0; i < n; i++ {
		addr := proctest.FreeAddr(t)
		c.edges = append(c.edges, startProc(t, fmt.Sprintf("edge%d", i), edgeBin, append([]string{
			"SHOPEDGE_ADMIN_TOKEN=" + adminToken,
			"SHOPEDGE_INTERNAL_TOKEN=" + internalToken,
			"SHOPEDGE_SERVER_ADDR=" + addr,
			"SHOPEDGE_CORE_ADDRS=" + c.coreAddr,
			"SHOPEDGE_PAGES_CACHE_BYTES=" + strconv.Itoa(64<<20),
			"SHOPEDGE_FOLLOW_DISCONNECT_AFTER=500ms",
			"SHOPEDGE_FOLLOW_BACKOFF_MAX=200ms",
			"SHOPEDGE_LOG_LEVEL=warn",
		}, edgeEnv...)))
		c.edgeAddr = append(c.edgeAddr, addr)
	}
	for _, a := range c.edgeAddr {
		waitStatus(t, "http://"+a+"/readyz", 200, 30*time.Second)
	}

	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	vcl, err := varnish.WriteVCL(dir, varnish.Options{Root: root, Edges: c.edgeAddr, Purgers: []string{purgeSource},
		ProbeInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "varnish")
	if err := varnish.Check(varnishd, work, vcl); err != nil {
		t.Fatal(err)
	}
	c.varnish = proctest.Start(t, "varnish", varnishd, proctest.CleanEnv(), varnish.Args(work, vAddr, vcl, "32m")...)
	t.Cleanup(func() { c.varnish.Stop(10 * time.Second) }) // before the kill at cleanup
	waitStatus(t, c.front+"/readyz", 200, 30*time.Second)
	// The core's first purge of a cache new to it is a purge-all; wait for
	// it (and its settle twin) so it does not blur what follows.
	l := `{cache="` + c.front + `/"}`
	eventually(t, 10*time.Second, func() string {
		if v := coreMetric(t, c.coreAddr, "shopedge_cdn_purges_sent_total"+l); v < 2 {
			return fmt.Sprintf("%v purges acknowledged, want the first purge-all twice", v)
		}
		if v := coreMetric(t, c.coreAddr, "shopedge_cdn_purge_pending_events"+l); v != 0 {
			return fmt.Sprintf("%v events pending", v)
		}
		return ""
	})
	return c
}

// varnishCoreEnv configures a core on addr with its store under dataDir.
// These tests make no checkout: the key is there only for configurations
// whose payment gateway reads one from TESTPAY_SECRET_KEY.
func varnishCoreEnv(addr, dataDir string) []string {
	return []string{
		"SHOPEDGE_ADMIN_TOKEN=" + adminToken,
		"SHOPEDGE_INTERNAL_TOKEN=" + internalToken,
		"SHOPEDGE_SERVER_ADDR=" + addr,
		"SHOPEDGE_STORE_PATH=" + filepath.Join(dataDir, "core.db"),
		"SHOPEDGE_LOG_LEVEL=warn",
		"TESTPAY_SECRET_KEY=sk_test_e2e_varnish",
	}
}

func importAt(t *testing.T, coreAddr string, lines [][]byte) {
	t.Helper()
	var body []byte
	for _, l := range lines {
		body = append(append(body, l...), '\n')
	}
	st, _, b := do(t, "POST", "http://"+coreAddr+"/admin/v1/import", body, bearer()...)
	if st != 200 || !contains(b, fmt.Sprintf(`"imported":%d`, len(lines))) {
		t.Fatalf("import: %d %s", st, b)
	}
}

// coreMetric reads one sample of the core's /metrics (0 when absent).
func coreMetric(t *testing.T, coreAddr, name string) float64 {
	t.Helper()
	_, _, b := do(t, "GET", "http://"+coreAddr+"/metrics", nil, bearer()...)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// cached is one answer through Varnish: status, the body, whether Varnish
// answered from its cache, and the id of the cached object it used
// (X-Varnish's second number on a hit), which changes when the object was
// fetched again.
type cached struct {
	status int
	body   []byte
	hit    bool
	obj    string
	xcache string
	age    int
	hdr    http.Header
}

func (c *varnishCluster) get(path string) cached {
	c.t.Helper()
	st, h, b := do(c.t, "GET", c.front+path, nil)
	r := cached{status: st, body: b, xcache: h.Get("X-Cache"), hdr: h}
	r.hit = strings.HasPrefix(r.xcache, "HIT")
	if f := strings.Fields(h.Get("X-Varnish")); len(f) == 2 {
		r.obj = f[1]
	}
	r.age, _ = strconv.Atoi(h.Get("Age"))
	return r
}

// warm requests path until Varnish answers it from its cache and returns
// that answer.
func (c *varnishCluster) warm(path string) cached {
	c.t.Helper()
	var r cached
	eventually(c.t, 5*time.Second, func() string {
		if r = c.get(path); r.status != 200 || !r.hit {
			return fmt.Sprintf("%s: %d %s", path, r.status, r.xcache)
		}
		return ""
	})
	return r
}

// refreshedWithin polls path until Varnish answers with an object other
// than before's and returns how long that took; it fails past within.
func (c *varnishCluster) refreshedWithin(path string, before cached, within time.Duration, start time.Time) time.Duration {
	c.t.Helper()
	eventually(c.t, within, func() string {
		r := c.get(path)
		if r.status == 200 && (!r.hit || r.obj != before.obj) {
			return ""
		}
		return fmt.Sprintf("%s still served from object %s (%s)", path, before.obj, r.xcache)
	})
	return time.Since(start)
}

func priceOf(t *testing.T, body []byte) int64 {
	t.Helper()
	var p api.Product
	if err := json.Unmarshal(body, &p); err != nil || len(p.SKUs) == 0 || p.SKUs[0].Price == nil {
		t.Fatalf("not a product with a price: %v: %s", err, body)
	}
	return p.SKUs[0].Price.Amount
}

// purgeFrom sends a PURGE to Varnish from the local address src.
func purgeFrom(t *testing.T, front, src string, hdr ...string) (int, string) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
	defer cl.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(context.Background(), "PURGE", front+"/", nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestClusterVarnishPurges runs Varnish (Debian's varnishd with the xkey
// vmod, the VCL `make cluster` generates) in front of two edges and a core
// that purges it. A product page cached in Varnish is refreshed within 1 s
// of a price change through the admin API (JSON and HTML), of a purge by
// surrogate key and of a purge-all; a keyed purge leaves other pages
// cached; a PURGE from an address outside the VCL's ACL gets 405 and
// purges nothing, while the core's, from the allowed address, work. It
// proves the VCL and the purger together; it does not prove the purge is
// durable (core/httpapi's tests do), nor which of the two purges (first or
// settle) refreshed a page. Seen failing with the Surrogate-Key → xkey copy
// removed, with the ACL check disabled, with Host in the hash and with the
// query kept in a product's cache key.
func TestClusterVarnishPurges(t *testing.T) {
	c := startVarnishCluster(t, 2)
	p, other := c.products[0], c.products[1]
	for _, q := range c.products[1:] {
		if q.Brand != p.Brand && q.Brand != "" {
			other = q
			break
		}
	}
	if other.Brand == p.Brand {
		t.Fatal("demo products share one brand")
	}
	jsonPath, htmlPath, otherPath := "/v1/products/"+p.ID, "/products/"+p.Slug, "/v1/products/"+other.ID

	// The cache key is the path alone: a query, a Host or a cookie does
	// not make another object.
	first := c.warm(jsonPath)
	for _, h := range [][]string{{"Host", "evil.example"}, {"Cookie", "a=b"}, {"X-Forwarded-Host", "evil.example"},
		{"Accept-Encoding", "gzip"}, {"Authorization", "Bearer x"}} {
		req, _ := http.NewRequest("GET", c.front+jsonPath+"?utm_source=x&q=1", nil)
		req.Header.Set(h[0], h[1])
		if h[0] == "Host" {
			req.Host = h[1]
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if f := strings.Fields(resp.Header.Get("X-Varnish")); resp.StatusCode != 200 || len(f) != 2 || f[1] != first.obj {
			t.Fatalf("GET with %s: %d X-Varnish %q, want a hit on object %s", h[0], resp.StatusCode, resp.Header.Get("X-Varnish"), first.obj)
		}
	}

	// A price change through the admin API.
	jsonBefore, htmlBefore := c.warm(jsonPath), c.warm(htmlPath)
	p.SKUs[0].Price = &api.Money{Amount: priceOf(t, jsonBefore.body) + 1234, Currency: p.SKUs[0].Price.Currency}
	for i := range p.SKUs {
		p.SKUs[i].Availability = ""
	}
	body, _ := json.Marshal(p)
	start := time.Now()
	if st, _, b := do(t, "PUT", "http://"+c.coreAddr+"/admin/v1/products/"+p.ID, body, bearer()...); st != 200 {
		t.Fatalf("price change: %d %s", st, b)
	}
	want := p.SKUs[0].Price.Amount
	eventually(t, time.Second, func() string {
		if r := c.get(jsonPath); r.status != 200 || priceOf(t, r.body) != want {
			return fmt.Sprintf("Varnish serves price %d (%s), want %d", priceOf(t, r.body), r.xcache, want)
		}
		if r := c.get(htmlPath); r.status != 200 || bytes.Equal(r.body, htmlBefore.body) {
			return fmt.Sprintf("Varnish serves the old HTML page (%s)", r.xcache)
		}
		return ""
	})
	t.Logf("price change served by Varnish %v after the admin call", time.Since(start))
	if r := c.get(htmlPath); r.obj == htmlBefore.obj && r.hit {
		t.Fatal("the HTML page was not fetched again")
	}

	// A PURGE from outside the ACL: 405, nothing purged.
	jsonBefore, otherBefore := c.warm(jsonPath), c.warm(otherPath)
	if st, b := purgeFrom(t, c.front, "127.0.0.1", "xkey", api.ProductKey(p.ID)); st != 405 || !strings.Contains(b, "method_not_allowed") {
		t.Fatalf("PURGE from 127.0.0.1: %d %s, want 405", st, b)
	}
	if st, _ := purgeFrom(t, c.front, "127.0.0.1", "X-Shopedge-Purge-All", "1"); st != 405 {
		t.Fatalf("purge-all from 127.0.0.1: %d, want 405", st)
	}
	if r := c.get(jsonPath); !r.hit || r.obj != jsonBefore.obj {
		t.Fatalf("a refused PURGE dropped the page (%s, object %s → %s)", r.xcache, jsonBefore.obj, r.obj)
	}

	// A purge by surrogate key (the brand) through the admin API refreshes
	// the brand's pages and leaves the other brand's cached.
	start = time.Now()
	if st, _, b := do(t, "POST", "http://"+c.coreAddr+"/admin/v1/purge",
		[]byte(`{"keys":["`+api.BrandKey(p.Brand)+`"]}`), bearer()...); st != 200 {
		t.Fatalf("purge: %d %s", st, b)
	}
	t.Logf("purge by key refreshed Varnish's page after %v", c.refreshedWithin(jsonPath, jsonBefore, time.Second, start))
	time.Sleep(400 * time.Millisecond) // past the settle purge too
	if r := c.get(otherPath); !r.hit || r.obj != otherBefore.obj {
		t.Fatalf("a purge of %s dropped a page of %s (%s)", api.BrandKey(p.Brand), other.Brand, r.xcache)
	}

	// A purge-all refreshes everything.
	jsonBefore, otherBefore = c.warm(jsonPath), c.warm(otherPath)
	start = time.Now()
	if st, _, b := do(t, "POST", "http://"+c.coreAddr+"/admin/v1/purge", []byte(`{"all":true}`), bearer()...); st != 200 {
		t.Fatalf("purge-all: %d %s", st, b)
	}
	t.Logf("purge-all refreshed Varnish's pages after %v",
		max(c.refreshedWithin(jsonPath, jsonBefore, time.Second, start), c.refreshedWithin(otherPath, otherBefore, time.Second, start)))
}

// TestClusterVarnishServesStale checks that Varnish honours the edge's
// Cache-Control when the tiers behind it fail (edges here send s-maxage=1,
// stale-while-revalidate=1, stale-if-error=4). With the core killed the
// edges keep answering (marked X-Shopedge-Stale) and so does Varnish; with
// the edges killed too, Varnish serves its copy once it is past
// s-maxage + stale-while-revalidate, as long as stale-if-error allows, and
// a 503 after that. Seen failing with the VCL's two ways to stale removed
// (vcl_hit's "no edge is healthy" and vcl_synth's restart after a failed
// fetch) and with stale-if-error ignored; either way alone keeps it
// passing, so it does not tell which of the two served. It does not test
// long outages (stale-if-error is a day by default).
func TestClusterVarnishServesStale(t *testing.T) {
	c := startVarnishCluster(t, 2,
		"SHOPEDGE_API_S_MAXAGE=1s", "SHOPEDGE_API_STALE_WHILE_REVALIDATE=1s", "SHOPEDGE_API_STALE_IF_ERROR=4s")
	p := c.products[0]
	path := "/v1/products/" + p.ID
	fresh := c.warm(path)

	// Core failure: the edges serve what they hold, marked stale, and
	// Varnish passes that on.
	c.core.Kill()
	eventually(t, 5*time.Second, func() string {
		r := c.get(path)
		if r.status != 200 || priceOf(t, r.body) != priceOf(t, fresh.body) {
			return fmt.Sprintf("%d %s", r.status, r.body)
		}
		if r.hdr.Get("X-Shopedge-Stale") != "1" {
			return "no X-Shopedge-Stale yet (" + r.xcache + ")"
		}
		return ""
	})

	// Edge failure too. Leave the page alone past s-maxage +
	// stale-while-revalidate, so the next request fetches it in the
	// foreground (a MISS) and its age is known, then kill both edges.
	time.Sleep(2200 * time.Millisecond)
	if r := c.get(path); r.status != 200 || r.hit {
		t.Fatalf("after 2.2 s: %d %s, want a fresh fetch (MISS)", r.status, r.xcache)
	}
	fetched := time.Now()
	for _, e := range c.edges {
		e.Kill()
	}
	// Past s-maxage + stale-while-revalidate (2 s), within stale-if-error (4 s).
	time.Sleep(time.Until(fetched.Add(2500 * time.Millisecond)))
	r := c.get(path)
	if r.status != 200 || priceOf(t, r.body) != priceOf(t, fresh.body) || !strings.Contains(r.xcache, "stale-if-error") {
		t.Fatalf("with every edge down: %d %q %s, want the stale page", r.status, r.xcache, r.body)
	}
	// Past s-maxage + stale-if-error (5 s): nothing to serve.
	time.Sleep(time.Until(fetched.Add(5500 * time.Millisecond)))
	if r := c.get(path); r.status != 503 || !strings.Contains(string(r.body), `"unavailable"`) {
		t.Fatalf("past stale-if-error: %d %s, want 503", r.status, r.body)
	}
}
