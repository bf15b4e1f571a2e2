// Command bench is shopedge's load generator.
//
//	bench baseline -addr 127.0.0.1:8099             bare fasthttp server, fixed 2 KB JSON
//	bench baseline -addr :8098 -proxy 127.0.0.1:9090 bare fasthttp reverse proxy (floor of forwarded routes)
//	bench baseline -addr :8097 -catalog scripts/demo/catalog.ndjson.gz [-headers]
//	                                                 bare fasthttp serving each product's JSON from a map
//	bench run -url http://127.0.0.1:8080/v1/products/1 -c 64 -d 10s
//	bench run -urls urls.txt -rate 20000 -d 10s     open loop (no coordinated omission)
//	bench products [-gen 1000000]                    Zipf product reads through a real edge
//	bench suggest                                    keystroke replay of real queries
//	bench flashsale -buyers 2000 -units 100          checkout storm, group commit on and off
//	bench cdnpurge -changes 200                      admin price change → new body at Varnish (needs varnishd)
//	bench flood -clients 32 -factor 10               shoppers' cart writes, quiet and while one address floods
//	bench ids [-slugs] > ids.txt                     catalog ids by popularity (for wrk/products.lua)
//
// Every run measures the in-process baseline with the same client,
// concurrency and duration first, prints a Markdown table with ratios, and
// writes JSON and Markdown under -out (bench/results by default).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"shopedge/bench"
	"shopedge/bench/gen"
	edgepages "shopedge/edge/pages"
)

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "baseline":
		err = cmdBaseline(ctx, args)
	case "run":
		err = cmdRun(ctx, args)
	case "products":
		err = cmdProducts(ctx, args)
	case "suggest":
		err = cmdSuggest(ctx, args)
	case "search":
		err = cmdSearch(ctx, args)
	case "flashsale":
		err = cmdFlashsale(ctx, args)
	case "cdnpurge":
		err = cmdCDNPurge(ctx, args)
	case "flood":
		err = cmdFlood(ctx, args)
	case "ids":
		err = cmdIDs(args)
	case "-h", "-help", "--help", "help":
		usage(os.Stdout)
	default:
		fmt.Fprintf(os.Stderr, "bench: unknown command %q\n", cmd)
		usage(os.Stderr)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: bench baseline|run|products|suggest|search|flashsale|cdnpurge|flood|ids [flags]  (bench <command> -h for flags)")
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// output holds the flags every measuring command shares.
type output struct {
	jsonPath string
	outDir   string
}

func (o *output) register(fs *flag.FlagSet) {
	fs.StringVar(&o.jsonPath, "json", "", "also write the report as JSON to this file")
	fs.StringVar(&o.outDir, "out", "bench/results", "directory for <scenario>-<time>.json/.md (empty: none)")
}

func (o *output) write(r *bench.Report) error {
	fmt.Println(r.Markdown())
	if o.jsonPath != "" {
		if err := r.WriteJSON(o.jsonPath); err != nil {
			return err
		}
	}
	if o.outDir != "" {
		jp, mp, err := r.Save(o.outDir)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s and %s\n", jp, mp)
	}
	return nil
}

func registerOptions(fs *flag.FlagSet, o *bench.Options) {
	fs.IntVar(&o.Concurrency, "c", o.Concurrency, "workers and connections")
	fs.DurationVar(&o.Duration, "d", o.Duration, "measured duration of each run")
	fs.Float64Var(&o.Rate, "rate", o.Rate, "open loop at this many req/s (0: closed loop)")
	fs.Int64Var(&o.MaxRequests, "n", o.MaxRequests, "stop each run after this many requests (0: duration only)")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "per-request timeout")
	fs.DurationVar(&o.Warmup, "warmup", o.Warmup, "unmeasured closed-loop warmup before each run")
}

func registerCluster(fs *flag.FlagSet, c *bench.ClusterConfig) {
	fs.StringVar(&c.CoreBin, "core-bin", c.CoreBin, "core binary (empty: go build ./core)")
	fs.StringVar(&c.EdgeBin, "edge-bin", c.EdgeBin, "edge binary (empty: go build ./edge)")
	fs.StringVar(&c.TestpayBin, "testpay-bin", c.TestpayBin, "testpay binary (empty: go build ./core/payment/testpay/cmd/testpay)")
	fs.StringVar(&c.ModuleDir, "module", c.ModuleDir, "module root to build binaries from")
	fs.Var((*listFlag)(&c.CoreEnv), "core-env", "extra core NAME=value ({addr} {data} {token}); repeatable, later wins")
	fs.Var((*listFlag)(&c.EdgeEnv), "edge-env", "extra edge NAME=value ({addr} {core} {data} {token}); repeatable")
	fs.Var((*listFlag)(&c.CoreArgs), "core-arg", "extra core flag; repeatable")
	fs.Var((*listFlag)(&c.EdgeArgs), "edge-arg", "extra edge flag; repeatable")
	fs.StringVar(&c.AdminToken, "admin-token", c.AdminToken, "admin Bearer token given to the core (default $SHOPEDGE_ADMIN_TOKEN)")
	fs.StringVar(&c.WorkDir, "work-dir", c.WorkDir, "keep binaries, data and logs here (empty: temporary, removed)")
	fs.DurationVar(&c.ReadyTimeout, "ready-timeout", c.ReadyTimeout, "wait for /readyz")
}

func cmdBaseline(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("baseline", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8099", "listen address (port 0 picks one)")
	d := fs.Duration("d", 0, "stop after this long (0: until interrupted)")
	proxy := fs.String("proxy", "", "forward every request to this address instead (a bare reverse proxy)")
	catalog := fs.String("catalog", "", "answer GET /v1/products/{id} with this NDJSON(.gz) catalog's product JSON instead")
	headers := fs.Bool("headers", false, "with -catalog, also set the edge's ETag, Cache-Control, Surrogate-Key and Vary")
	_ = fs.Parse(args)
	var b *bench.Baseline
	var err error
	var n int
	switch {
	case *proxy != "":
		b, err = bench.StartProxyBaseline(*addr, *proxy)
	case *catalog != "":
		pages, rerr := catalogPages(*catalog)
		if rerr != nil {
			return rerr
		}
		n = len(pages)
		b, err = bench.StartCatalogBaseline(*addr, pages, *headers)
	default:
		b, err = bench.StartBaseline(*addr)
	}
	if err != nil {
		return err
	}
	switch {
	case *proxy != "":
		fmt.Printf("baseline: bare fasthttp reverse proxy on http://%s/ to %s\n", b.Addr(), *proxy)
	case *catalog != "":
		fmt.Printf("baseline: bare fasthttp serving the JSON of %d products (edge headers: %v) from a map on http://%s/\n", n, *headers, b.Addr())
	default:
		fmt.Printf("baseline: bare fasthttp serving %d bytes of JSON on http://%s/\n", bench.BaselineBodySize, b.Addr())
	}
	if *d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *d)
		defer cancel()
	}
	<-ctx.Done()
	return b.Close()
}

// catalogPages renders each product of the catalog file as the edge
// renders its JSON, for the catalog baseline.
func catalogPages(path string) ([]bench.CatalogPage, error) {
	ps, err := bench.ReadCatalog(path)
	if err != nil {
		return nil, err
	}
	pages := make([]bench.CatalogPage, 0, len(ps))
	for _, p := range ps {
		r, err := edgepages.RenderJSON(p)
		if err != nil {
			return nil, err
		}
		pages = append(pages, bench.CatalogPage{Path: []byte("/v1/products/" + p.ID),
			Body: r.Bodies[edgepages.JSON], ETag: r.ETags[edgepages.JSON], SurrogateKey: r.SurrogateKey})
	}
	return pages, nil
}

func cmdRun(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	o := bench.DefaultOptions()
	registerOptions(fs, &o)
	var urls listFlag
	fs.Var(&urls, "url", "target URL; repeatable (one host)")
	file := fs.String("urls", "", "file of target URLs, one per line (one host)")
	noBase := fs.Bool("no-baseline", false, "skip the in-process baseline")
	name := fs.String("name", "", "run name in the report (default: the host)")
	var out output
	out.register(fs)
	_ = fs.Parse(args)
	if *file != "" {
		more, err := readLines(*file)
		if err != nil {
			return err
		}
		urls = append(urls, more...)
	}
	host, paths, err := splitURLs(urls)
	if err != nil {
		return err
	}
	r := bench.NewReport("run", o)
	if !*noBase {
		b, err := bench.StartBaseline("127.0.0.1:0")
		if err != nil {
			return err
		}
		bc := bench.NewClient(b.Addr(), o.Concurrency, o.Timeout)
		s, err := bench.Run(ctx, o, bench.GetPaths(bc, o.Timeout, []string{"/"}))
		b.Close()
		if err != nil {
			return err
		}
		r.Baseline = s
	}
	c := bench.NewClient(host, o.Concurrency, o.Timeout)
	s, err := bench.Run(ctx, o, bench.GetPaths(c, o.Timeout, paths))
	if err != nil {
		return err
	}
	if *name == "" {
		*name = host
	}
	target := "GET " + paths[0]
	if len(paths) > 1 {
		target = fmt.Sprintf("GET %d URLs", len(paths))
	}
	r.Add(*name, target, s)
	return out.write(r)
}

// splitURLs checks that every URL names the same host and returns it with
// the request URIs.
func splitURLs(urls []string) (string, []string, error) {
	if len(urls) == 0 {
		return "", nil, errors.New("no target: give -url or -urls")
	}
	var host string
	paths := make([]string, 0, len(urls))
	for _, s := range urls {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || u.Scheme != "http" {
			return "", nil, fmt.Errorf("bad target URL %q: want http://host:port/path", s)
		}
		if host == "" {
			host = u.Host
		} else if u.Host != host {
			return "", nil, fmt.Errorf("targets name two hosts, %s and %s: run them separately", host, u.Host)
		}
		paths = append(paths, u.RequestURI())
	}
	return host, paths, nil
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

func cmdProducts(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("products", flag.ExitOnError)
	cfg := bench.DefaultProductsConfig()
	registerOptions(fs, &cfg.Options)
	registerCluster(fs, &cfg.Cluster)
	fs.StringVar(&cfg.Catalog, "catalog", cfg.Catalog, "NDJSON(.gz) catalog to import")
	fs.IntVar(&cfg.Gen, "gen", cfg.Gen, "also import this many generated products")
	fs.Int64Var(&cfg.Seed, "seed", cfg.Seed, "generator seed")
	fs.Float64Var(&cfg.ZipfS, "zipf", cfg.ZipfS, "Zipf exponent of product popularity")
	fs.BoolVar(&cfg.HTML, "html", cfg.HTML, "also measure GET /products/{slug}")
	fs.IntVar(&cfg.HitsTop, "hits-top", cfg.HitsTop, "also measure JSON over this many most popular products only, read once first (hits at a catalog larger than the page cache)")
	var out output
	out.register(fs)
	_ = fs.Parse(args)
	cfg.GenFunc = gen.Products
	r, err := bench.RunProducts(ctx, cfg, os.Stderr)
	if err != nil {
		return err
	}
	return out.write(r)
}

func cmdSuggest(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("suggest", flag.ExitOnError)
	cfg := bench.DefaultSuggestConfig()
	registerOptions(fs, &cfg.Options)
	registerCluster(fs, &cfg.Cluster)
	fs.StringVar(&cfg.Catalog, "catalog", cfg.Catalog, "NDJSON(.gz) catalog to import")
	fs.StringVar(&cfg.Queries, "queries", cfg.Queries, "TSV of queries (column \"query\")")
	fs.IntVar(&cfg.Limit, "limit", cfg.Limit, "limit parameter (0: edge default)")
	var out output
	out.register(fs)
	_ = fs.Parse(args)
	r, err := bench.RunSuggest(ctx, cfg, os.Stderr)
	if err != nil {
		return err
	}
	return out.write(r)
}

func cmdSearch(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("search", flag.ExitOnError)
	cfg := bench.DefaultSearchConfig()
	registerOptions(fs, &cfg.Options)
	registerCluster(fs, &cfg.Cluster)
	fs.StringVar(&cfg.Catalog, "catalog", cfg.Catalog, "NDJSON(.gz) catalog to import")
	fs.IntVar(&cfg.Gen, "gen", cfg.Gen, "also import this many generated products")
	fs.Int64Var(&cfg.Seed, "seed", cfg.Seed, "generator seed")
	fs.StringVar(&cfg.Queries, "queries", cfg.Queries, "TSV of queries (column \"query\")")
	fs.IntVar(&cfg.PerPage, "per-page", cfg.PerPage, "per_page parameter")
	fs.IntVar(&cfg.UncachedConcurrency, "uncached-c", cfg.UncachedConcurrency, "workers of the uncached run")
	var out output
	out.register(fs)
	_ = fs.Parse(args)
	cfg.GenFunc = gen.Products
	r, err := bench.RunSearch(ctx, cfg, os.Stderr)
	if err != nil {
		return err
	}
	return out.write(r)
}

func cmdFlashsale(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("flashsale", flag.ExitOnError)
	cfg := bench.DefaultFlashsaleConfig()
	registerCluster(fs, &cfg.Cluster)
	fs.IntVar(&cfg.Concurrency, "c", cfg.Concurrency, "buyers checking out at once")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "per-request timeout")
	fs.DurationVar(&cfg.MaxDuration, "max-d", cfg.MaxDuration, "bound on each phase")
	fs.IntVar(&cfg.Buyers, "buyers", cfg.Buyers, "buyers (one cart and one checkout each)")
	fs.Int64Var(&cfg.Units, "units", cfg.Units, "units of the hot SKU")
	fs.IntVar(&cfg.MixedSKUs, "mixed-skus", cfg.MixedSKUs, "SKUs of the mixed-cart sale (0: skip it)")
	fs.Int64Var(&cfg.MixedUnits, "mixed-units", cfg.MixedUnits, "units of each mixed SKU")
	fs.StringVar(&cfg.PaymentToken, "payment-token", cfg.PaymentToken, "testpay token")
	fs.StringVar(&cfg.Via, "via", cfg.Via, "edge (through an edge) or core (straight to the core)")
	if self, err := os.Executable(); err == nil {
		cfg.ProxyBin = self
	}
	fs.StringVar(&cfg.ProxyBin, "proxy-bin", cfg.ProxyBin, "bench binary run as a bare reverse proxy to compare the edge's CPU per replayed checkout with (empty: skip)")
	on := fs.String("group-commit-on", strings.Join(cfg.GroupCommitOn, " "), "core settings of the group-commit run (space-separated NAME=value or -flag)")
	off := fs.String("group-commit-off", strings.Join(cfg.GroupCommitOff, " "), "core settings of the run without group commit")
	inproc := fs.String("in-process", strings.Join(cfg.InProcess, " "), "core settings of the run with the in-process gateway")
	modes := fs.String("modes", strings.Join(cfg.Modes, ","), "runs, in order: on (group commit, testpay process), inprocess (group commit, in-process gateway), off")
	var out output
	out.register(fs)
	_ = fs.Parse(args)
	cfg.GroupCommitOn, cfg.GroupCommitOff = strings.Fields(*on), strings.Fields(*off)
	cfg.InProcess, cfg.Modes = splitSettings(*inproc), strings.Split(*modes, ",")
	r, err := bench.RunFlashsale(ctx, cfg, os.Stderr)
	if err != nil {
		return err
	}
	return out.write(r)
}

func cmdCDNPurge(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cdnpurge", flag.ExitOnError)
	cfg := bench.DefaultCDNPurgeConfig()
	registerCluster(fs, &cfg.Cluster)
	fs.IntVar(&cfg.Changes, "changes", cfg.Changes, "price changes of the main run")
	fs.IntVar(&cfg.Edges, "edges", cfg.Edges, "edges behind Varnish")
	fs.IntVar(&cfg.Readers, "readers", cfg.Readers, "clients requesting the product through Varnish meanwhile")
	fs.DurationVar(&cfg.ReaderPause, "reader-pause", cfg.ReaderPause, "pause between one reader's requests")
	fs.DurationVar(&cfg.Gap, "gap", cfg.Gap, "pause after each change was seen")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "wait for one change at most (beyond: stuck)")
	fs.Var((*listFlag)(&cfg.CoreEnv), "core-env-main", "core NAME=value of the main run (SHOPEDGE_API_CDN_SETTLE=100ms…); repeatable")
	fs.IntVar(&cfg.CompareChanges, "compare-changes", cfg.CompareChanges, "changes of each run without edge_wait, and without edge_wait and settle (0: skip them)")
	fs.StringVar(&cfg.VarnishMem, "varnish-mem", cfg.VarnishMem, "varnishd malloc storage")
	var out output
	out.register(fs)
	_ = fs.Parse(args)
	r, err := bench.RunCDNPurge(ctx, cfg, os.Stderr)
	if err != nil {
		return err
	}
	return out.write(r)
}

func cmdFlood(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("flood", flag.ExitOnError)
	cfg := bench.DefaultFloodConfig()
	registerCluster(fs, &cfg.Cluster)
	fs.IntVar(&cfg.Clients, "clients", cfg.Clients, "shoppers, each from its own loopback address 127.0.1.x")
	fs.Float64Var(&cfg.ClientRate, "client-rate", cfg.ClientRate, "cart writes a second per shopper")
	fs.IntVar(&cfg.CartsPerClient, "carts", cfg.CartsPerClient, "carts per shopper")
	fs.Float64Var(&cfg.FloodFactor, "factor", cfg.FloodFactor, "the flood's rate over the shoppers' total rate")
	fs.StringVar(&cfg.FloodAddr, "flood-addr", cfg.FloodAddr, "the flooder's source address")
	fs.IntVar(&cfg.FloodConcurrency, "flood-c", cfg.FloodConcurrency, "the flooder's connections")
	fs.BoolVar(&cfg.Limits, "limits", cfg.Limits, "run the edge with its default per-client budgets (false: none, to compare)")
	fs.DurationVar(&cfg.Duration, "d", cfg.Duration, "duration of each phase")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "per-request timeout")
	var out output
	out.register(fs)
	_ = fs.Parse(args)
	r, err := bench.RunFlood(ctx, cfg, os.Stderr)
	if err != nil {
		return err
	}
	return out.write(r)
}

func cmdIDs(args []string) error {
	fs := flag.NewFlagSet("ids", flag.ExitOnError)
	catalog := fs.String("catalog", "scripts/demo/catalog.ndjson.gz", "NDJSON(.gz) catalog")
	slugs := fs.Bool("slugs", false, "print slugs instead of ids")
	_ = fs.Parse(args)
	ps, err := bench.ReadCatalog(*catalog)
	if err != nil {
		return err
	}
	refs := make([]bench.ProductRef, len(ps))
	for i, p := range ps {
		refs[i] = bench.ProductRef{ID: p.ID, Slug: p.Slug, Popularity: p.Popularity}
	}
	bench.ByPopularity(refs)
	w := bufio.NewWriter(os.Stdout)
	for _, r := range refs {
		if *slugs {
			fmt.Fprintln(w, r.Slug)
		} else {
			fmt.Fprintln(w, r.ID)
		}
	}
	return w.Flush()
}

// splitSettings splits space-separated settings, keeping a value in
// brackets whole (SHOPEDGE_PAYMENT_GATEWAYS=[{name: a, kind: b}]).
func splitSettings(s string) []string {
	var out []string
	depth, start := 0, -1
	for i, c := range s {
		switch {
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		}
		if c == ' ' && depth == 0 {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}
