package httpapi

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/fasthttp/router"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"shopedge/bench"
	"shopedge/core/api"
	"shopedge/edge/coreclient"
	"shopedge/edge/follow"
	"shopedge/edge/follow/fakecore"
	"shopedge/edge/forward"
	"shopedge/edge/pages"
)

const testToken = "test-admin-token"

// realProducts returns the real test products of edge/pages.
func realProducts(tb testing.TB) []*api.Product {
	return readProducts(tb, "../pages/testdata/products.ndjson")
}

// readProducts reads the products of an NDJSON file (gzip-compressed when
// its name ends in .gz).
func readProducts(tb testing.TB, path string) []*api.Product {
	tb.Helper()
	ps, err := bench.ReadCatalog(path)
	if err != nil {
		tb.Fatal(err)
	}
	return ps
}

// staticFeed is a FeedState with fixed answers.
type staticFeed struct{ ready, connected atomic.Bool }

func (s *staticFeed) Ready() bool     { return s.ready.Load() }
func (s *staticFeed) Connected() bool { return s.connected.Load() }

// newStore returns a page cache and its loader.
func newStore(tb testing.TB) (*pages.Cache, *pages.Loader) {
	return newStoreHot(tb, pages.DefaultConfig().HotEntries)
}

// newStoreHot is newStore with a hot tier of hot entries (0: off).
func newStoreHot(tb testing.TB, hot int) (*pages.Cache, *pages.Loader) {
	tb.Helper()
	ps, err := pages.New(pages.Config{CacheBytes: 32 << 20, Workers: 2, GzipLevel: 5, HotEntries: hot, HotMaxBytes: pages.DefaultConfig().HotMaxBytes, HotBytes: pages.DefaultConfig().HotBytes},
		zerolog.Nop(), metrics.NewSet())
	if err != nil {
		tb.Fatal(err)
	}
	l := pages.NewLoader(ps)
	tb.Cleanup(l.Close)
	return ps, l
}

// env is an edge (page cache and loader, follower, API, router) over a fake core,
// served on an in-memory listener.
type env struct {
	core     *fakecore.Core
	pages    *pages.Cache
	loader   *pages.Loader
	follower *follow.Follower
	api      *API
	client   *fasthttp.HostClient
	products []*api.Product
}

func newEnv(t *testing.T, tune func(*Config)) *env {
	t.Helper()
	e := &env{core: fakecore.New(), products: realProducts(t)}
	e.pages, e.loader = newStore(t)
	for _, p := range e.products {
		e.core.Upsert(p)
	}
	if err := e.core.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.core.Stop)
	ccfg := coreclient.DefaultClientConfig()
	ccfg.Addrs = []string{e.core.Addr()}
	ccfg.Timeout = 5 * time.Second
	core, err := coreclient.NewClient(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	fcfg := follow.Config{Wait: 500 * time.Millisecond, BackoffMin: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond, DisconnectAfter: 150 * time.Millisecond}
	e.follower, err = follow.New(core, []follow.Sink{e.loader}, fcfg, zerolog.Nop(), metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.follower.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	cfg := DefaultConfig()
	cfg.AdminToken = testToken
	cfg.FetchTimeout = 5 * time.Second
	if tune != nil {
		tune(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e.api = New(Deps{Pages: e.pages, Loader: e.loader, Follower: e.follower, Core: core, Log: zerolog.Nop(), Metrics: metrics.NewSet(),
		Suggest: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("suggest") },
		Forward: standInEndpoints(t),
	}, cfg)
	r := router.New()
	e.api.Register(r)
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: r.Handler, ReadTimeout: 5 * time.Second, Concurrency: 4096}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { _ = srv.Shutdown() })
	e.client = &fasthttp.HostClient{Addr: "edge", Dial: func(string) (net.Conn, error) { return ln.Dial() }, MaxConns: 2048}
	for deadline := time.Now().Add(5 * time.Second); !e.follower.Ready(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("follower not ready")
		}
	}
	return e
}

// standInEndpoints are the forwarder's routes with a stand-in handler
// answering "forward {method}".
func standInEndpoints(t testing.TB) []forward.Endpoint {
	cfg := forward.DefaultConfig()
	fw, err := forward.New(cfg, zerolog.Nop(), metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	eps := fw.Endpoints()
	for i := range eps {
		eps[i].Handler = func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("forward " + string(ctx.Method())) }
	}
	return eps
}

// do sends one request; headers are name, value pairs.
func (e *env) do(t testing.TB, method, uri string, body string, headers ...string) *fasthttp.Response {
	t.Helper()
	resp, err := e.send(method, uri, body, headers...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, uri, err)
	}
	return resp
}

// send is do for other goroutines than the test's.
func (e *env) send(method, uri string, body string, headers ...string) (*fasthttp.Response, error) {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	req.Header.SetHost("edge.test")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Host" {
			req.Header.SetHost(headers[i+1])
			req.UseHostHeader = true
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	if body != "" {
		req.SetBodyString(body)
	}
	resp := new(fasthttp.Response)
	if method == fasthttp.MethodHead {
		resp.SkipBody = true
	}
	err := e.client.DoTimeout(req, resp, 10*time.Second)
	return resp, err
}

// held reports whether the page cache holds representation v of id (in
// the hot tier or the off-heap cache).
func held(c *pages.Cache, v pages.Variant, id []byte) bool {
	f := c.Lookup(nil, v, pages.ByID, id).Found
	return f == pages.Shared || f == pages.Copied
}
