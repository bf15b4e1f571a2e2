package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
	"shopedge/internal/varnish"
)

// CDNPurgeConfig configures the cdnpurge scenario: price changes through
// the core's admin API while Varnish serves the product, timed until
// Varnish answers with the new price.
type CDNPurgeConfig struct {
	Cluster ClusterConfig `yaml:"cluster"`
	// Changes is the number of price changes of the main run.
	Changes int `yaml:"changes"`
	// Edges is the number of edges behind Varnish.
	Edges int `yaml:"edges"`
	// Readers keep requesting the product through Varnish, each pausing
	// ReaderPause between requests, as shoppers do: a request that reaches
	// Varnish right after a purge makes it fetch the page again, possibly
	// from an edge that has not applied the change yet.
	Readers     int           `yaml:"readers"`
	ReaderPause time.Duration `yaml:"reader_pause"`
	// Gap is the pause between one change being seen and the next. Keep
	// it above the core's cdn.settle, so that each change is refreshed by
	// its own purges, not by a late purge of the change before.
	Gap time.Duration `yaml:"gap"`
	// Timeout bounds the wait for one change; a change not seen by then
	// counts as stuck (Varnish would serve the old price until s-maxage).
	Timeout time.Duration `yaml:"timeout"`
	// CoreEnv are extra core settings of the main run (e.g.
	// SHOPEDGE_API_CDN_SETTLE=100ms); empty: the core's defaults.
	CoreEnv []string `yaml:"core_env"`
	// CompareChanges, when > 0, adds two runs of that many changes: one
	// without waiting for the edges (cdn.edge_wait=0) and one that also
	// sends each purge once (cdn.settle=0), to show what each is for.
	CompareChanges int `yaml:"compare_changes"`
	// VarnishMem is varnishd's malloc storage.
	VarnishMem string `yaml:"varnish_mem"`
}

// DefaultCDNPurgeConfig returns 200 changes behind two edges with four
// readers, and 50-change comparison runs.
func DefaultCDNPurgeConfig() CDNPurgeConfig {
	return CDNPurgeConfig{
		Cluster: DefaultClusterConfig(), Changes: 200, Edges: 2, Readers: 4, ReaderPause: time.Millisecond,
		Gap: 300 * time.Millisecond, Timeout: 2 * time.Second, CompareChanges: 50, VarnishMem: "64m",
	}
}

// Validate reports the first invalid field.
func (c *CDNPurgeConfig) Validate() error {
	switch {
	case c.Changes < 1:
		return fmt.Errorf("changes: must be >= 1, got %d", c.Changes)
	case c.Edges < 1:
		return fmt.Errorf("edges: must be >= 1, got %d", c.Edges)
	case c.Readers < 0:
		return fmt.Errorf("readers: must be >= 0, got %d", c.Readers)
	case c.Timeout <= 0:
		return fmt.Errorf("timeout: must be > 0, got %s", c.Timeout)
	case c.CompareChanges < 0:
		return fmt.Errorf("compare_changes: must be >= 0, got %d", c.CompareChanges)
	}
	for _, e := range c.CoreEnv {
		if !strings.HasPrefix(e, "SHOPEDGE_") || !strings.Contains(e, "=") {
			return fmt.Errorf("core_env: %q is not SHOPEDGE_NAME=value", e)
		}
	}
	return c.Cluster.Validate()
}

// cdnPurgeSource is the loopback address the core purges from; the VCL's
// ACL allows it alone.
const cdnPurgeSource = "127.0.0.2"

const cdnProductID = "cdn-bench-1"

// RunCDNPurge measures, for each price change, the time from the admin
// call to the first answer with the new price from the edges (directly)
// and from Varnish. The edges' time is the floor: Varnish cannot show a
// price before an edge has it.
func RunCDNPurge(ctx context.Context, cfg CDNPurgeConfig, log io.Writer) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cannot run cdnpurge: %w", err)
	}
	varnishd, err := varnish.Find()
	if err != nil {
		return nil, err
	}
	root, err := filepath.Abs(cfg.Cluster.ModuleDir)
	if err != nil {
		return nil, err
	}
	cl, err := NewCluster(ctx, cfg.Cluster)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	r := NewReport("cdnpurge", Options{Concurrency: cfg.Readers, Timeout: cfg.Timeout})
	type run struct {
		name    string
		env     []string
		changes int
	}
	name := "core defaults"
	if len(cfg.CoreEnv) > 0 {
		name = strings.Join(cfg.CoreEnv, " ")
	}
	runs := []run{{name, cfg.CoreEnv, cfg.Changes}}
	if cfg.CompareChanges > 0 {
		runs = append(runs,
			run{"edge_wait 0 (settle purge only)", []string{"SHOPEDGE_API_CDN_EDGE_WAIT=0s"}, cfg.CompareChanges},
			run{"edge_wait 0, settle 0 (one purge)", []string{"SHOPEDGE_API_CDN_EDGE_WAIT=0s", "SHOPEDGE_API_CDN_SETTLE=0s"}, cfg.CompareChanges})
	}
	for _, ru := range runs {
		if err := cdnPurgeRun(ctx, cl, cfg, r, varnishd, root, ru.name, ru.env, ru.changes, log); err != nil {
			return nil, fmt.Errorf("%s: %w", ru.name, err)
		}
	}
	r.Note("each change: PUT /admin/v1/products/%s with a new price; the time runs from sending it until the first answer with that price, polled every 1 ms (edges: the later of the %d edges)", cdnProductID, cfg.Edges)
	r.Note("%d readers request the product through Varnish every %s during the changes; %d edges; a change not seen within %s is stuck (Varnish would keep the old price until s-maxage)", cfg.Readers, cfg.ReaderPause, cfg.Edges, cfg.Timeout)
	r.Note("req/s column: changes per second of the run, not a throughput; \"admin answered → both edges\" is how far the edges trail a commit, the window in which a refetch by Varnish can cache the old page")
	return r, nil
}

// cdnPurgeRun starts a core with coreEnv added, the edges and Varnish,
// makes changes price changes and stops everything.
func cdnPurgeRun(ctx context.Context, cl *Cluster, cfg CDNPurgeConfig, r *Report, varnishd, root, name string, coreEnv []string, changes int, log io.Writer) error {
	defer cl.Stop()
	vAddr, err := FreeAddr()
	if err != nil {
		return err
	}
	extra := []string{"SHOPEDGE_API_CDN_PURGE_URLS=http://" + vAddr + "/", "SHOPEDGE_API_CDN_SOURCE_ADDR=" + cdnPurgeSource,
		"SHOPEDGE_API_CDN_BACKOFF_MAX=200ms"}
	if err := cl.StartCore(ctx, append(extra, coreEnv...)...); err != nil {
		return err
	}
	p := &api.Product{ID: cdnProductID, Slug: "cdn-bench-product-1", Name: "CDN bench product", Brand: "Bench",
		Categories: []string{"Bench"}, SKUs: []api.SKU{{SKU: cdnProductID, Price: &api.Money{Amount: 10000, Currency: "USD"}}}}
	var buf bytes.Buffer
	if err := WriteNDJSON(&buf, []*api.Product{p}); err != nil {
		return err
	}
	if _, err := cl.Import(ctx, &buf); err != nil {
		return err
	}
	edges, stopEdges, err := cdnStartEdges(ctx, cl, cfg.Edges)
	defer stopEdges()
	if err != nil {
		return err
	}
	vp, err := cdnStartVarnish(ctx, cl, varnishd, root, vAddr, edges, cfg.VarnishMem, name)
	if err != nil {
		return err
	}
	defer vp.Stop(15 * time.Second)
	if err := cdnWaitPurged(ctx, cl, "http://"+vAddr+"/"); err != nil {
		return err
	}
	fmt.Fprintf(log, "%s: %d price changes, Varnish on %s, %d edges\n", name, changes, vAddr, len(edges))

	hc := &http.Client{Timeout: cfg.Timeout, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Readers + 4}}
	defer hc.CloseIdleConnections()
	path := "/v1/products/" + cdnProductID
	rctx, stopReaders := context.WithCancel(ctx)
	var readers sync.WaitGroup
	var reads atomic.Int64
	for i := 0; i < cfg.Readers; i++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for rctx.Err() == nil {
				if _, err := cdnPrice(rctx, hc, "http://"+vAddr+path); err == nil {
					reads.Add(1)
				}
				time.Sleep(cfg.ReaderPause)
			}
		}()
	}
	defer func() { stopReaders(); readers.Wait() }()

	varnishRec, edgeRec, adminRec, lagRec := NewRecorder(), NewRecorder(), NewRecorder(), NewRecorder()
	stuck, slow := 0, 0
	started := time.Now()
	price := int64(10000)
	for i := 0; i < changes; i++ {
		price++
		p.SKUs[0].Price.Amount = price
		body, _ := json.Marshal(p)
		t0 := time.Now()
		if _, err := cl.admin(ctx, "PUT", "/admin/v1/products/"+cdnProductID, "application/json", bytes.NewReader(body),
			10*time.Second, http.StatusOK); err != nil {
			return err
		}
		committed := time.Since(t0)
		adminRec.Record(committed, "")
		var wg sync.WaitGroup
		edgeTimes := make([]time.Duration, len(edges))
		for j, e := range edges {
			wg.Add(1)
			go func() {
				defer wg.Done()
				edgeTimes[j] = cdnWaitPrice(ctx, hc, "http://"+e+path, price, t0, cfg.Timeout)
			}()
		}
		vt := cdnWaitPrice(ctx, hc, "http://"+vAddr+path, price, t0, cfg.Timeout)
		wg.Wait()
		var et time.Duration
		for _, d := range edgeTimes {
			et = max(et, d)
		}
		edgeRec.Record(et, "")
		lagRec.Record(max(et-committed, time.Microsecond), "")
		kind := ""
		if vt >= cfg.Timeout {
			stuck++
			kind = "stuck"
		} else if vt > 100*time.Millisecond {
			slow++
		}
		varnishRec.Record(vt, kind)
		time.Sleep(cfg.Gap)
	}
	elapsed := time.Since(started)
	r.Add(name+": admin call (commit)", "PUT /admin/v1/products/"+cdnProductID, adminRec.Summarize(elapsed))
	r.Add(name+": admin answered → both edges", "GET "+path+" at each edge", lagRec.Summarize(elapsed))
	r.Add(name+": admin → both edges", "GET "+path+" at each edge", edgeRec.Summarize(elapsed))
	r.Add(name+": admin → Varnish", "GET "+path+" through Varnish", varnishRec.Summarize(elapsed))
	key := slug(name)
	r.Fact(key+"_changes", float64(changes))
	r.Fact(key+"_stuck", float64(stuck))
	r.Fact(key+"_slower_than_100ms", float64(slow))
	r.Fact(key+"_reader_requests", float64(reads.Load()))
	if m, err := cdnCoreMetrics(ctx, cl); err == nil {
		for _, n := range []string{"shopedge_cdn_purges_sent_total", "shopedge_cdn_purge_errors_total", "shopedge_cdn_purge_edges_late_total"} {
			r.Fact(key+"_"+strings.TrimPrefix(n, "shopedge_cdn_"), m[n])
		}
	}
	return nil
}

// cdnStartEdges starts n edges following the core: the cluster's own edge,
// then more with the same settings. stop stops the extra ones.
func cdnStartEdges(ctx context.Context, cl *Cluster, n int) (addrs []string, stop func(), err error) {
	var extra []*Proc
	stop = func() {
		for _, p := range extra {
			_ = p.Stop(15 * time.Second)
		}
	}
	if _, err := cl.StartEdge(ctx); err != nil {
		return nil, stop, err
	}
	addrs = append(addrs, cl.Edge.Addr)
	for i := 1; i < n; i++ {
		addr, err := FreeAddr()
		if err != nil {
			return nil, stop, err
		}
		cl.n++
		vars := map[string]string{"addr": addr, "data": cl.dir, "token": cl.cfg.AdminToken, "core": cl.Core.Addr}
		p, err := StartProc(fmt.Sprintf("edge%d", i+1), cl.cfg.EdgeBin, expand(cl.cfg.EdgeArgs, vars), expand(cl.cfg.EdgeEnv, vars),
			filepath.Join(cl.dir, "edge-"+strconv.Itoa(cl.n)+".log"))
		if err != nil {
			return nil, stop, err
		}
		p.Addr = addr
		extra = append(extra, p)
		if _, err := cl.waitReady(ctx, p); err != nil {
			return nil, stop, err
		}
		addrs = append(addrs, addr)
	}
	return addrs, stop, nil
}

// cdnStartVarnish writes the VCL `make cluster` would for edges and starts
// varnishd on addr.
func cdnStartVarnish(ctx context.Context, cl *Cluster, varnishd, root, addr string, edges []string, mem, name string) (*Proc, error) {
	dir := filepath.Join(cl.dir, "varnish-"+slug(name))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	vcl, err := varnish.WriteVCL(dir, varnish.Options{Root: root, Edges: edges, Purgers: []string{cdnPurgeSource}})
	if err != nil {
		return nil, err
	}
	work := filepath.Join(dir, "work")
	if err := varnish.Check(varnishd, work, vcl); err != nil {
		return nil, err
	}
	p, err := StartProc("varnish", varnishd, varnish.Args(work, addr, vcl, mem), nil, filepath.Join(dir, "varnish.log"))
	if err != nil {
		return nil, err
	}
	p.Addr = addr
	if _, err := cl.waitReady(ctx, p); err != nil {
		_ = p.Stop(15 * time.Second)
		return nil, err
	}
	return p, nil
}

// cdnWaitPurged waits until the core's first purge of the new cache (a
// purge-all, and its settle twin when on) is acknowledged: nothing is
// pending then.
func cdnWaitPurged(ctx context.Context, cl *Cluster, cache string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		m, err := cdnCoreMetrics(ctx, cl)
		if err == nil && m["shopedge_cdn_purges_sent_total"] >= 1 && m["shopedge_cdn_purge_pending_events"] == 0 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("the core's first purge of %s was not acknowledged within 30s", cache)
}

func cdnCoreMetrics(ctx context.Context, cl *Cluster) (map[string]float64, error) {
	b, err := cl.admin(ctx, "GET", "/metrics", "", nil, 10*time.Second, http.StatusOK)
	if err != nil {
		return nil, err
	}
	return parseMetrics(b, []string{"shopedge_cdn_purges_sent_total", "shopedge_cdn_purge_errors_total",
		"shopedge_cdn_purge_edges_late_total", "shopedge_cdn_purge_pending_events"}), nil
}

// cdnWaitPrice polls url every millisecond until it answers with price and
// returns the time since t0, or timeout when it does not within timeout.
func cdnWaitPrice(ctx context.Context, hc *http.Client, url string, price int64, t0 time.Time, timeout time.Duration) time.Duration {
	for {
		if got, err := cdnPrice(ctx, hc, url); err == nil && got == price {
			return time.Since(t0)
		}
		if time.Since(t0) >= timeout || ctx.Err() != nil {
			return timeout
		}
		time.Sleep(time.Millisecond)
	}
}

// cdnPrice returns the first SKU's price in the product JSON at url.
func cdnPrice(ctx context.Context, hc *http.Client, url string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s answered %d", url, resp.StatusCode)
	}
	var p api.Product
	if err := json.Unmarshal(b, &p); err != nil {
		return 0, err
	}
	if len(p.SKUs) == 0 || p.SKUs[0].Price == nil {
		return 0, errors.New("no price")
	}
	return p.SKUs[0].Price.Amount, nil
}
