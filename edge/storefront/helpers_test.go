package storefront

import (
	"flag"
	"net"
	"os"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/fasthttp/router"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"shopedge/bench"
	"shopedge/core/api"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// testProducts returns the 60 demo products of testdata/products.ndjson.
func testProducts(tb testing.TB) []*api.Product {
	tb.Helper()
	ps, err := bench.ReadCatalog("testdata/products.ndjson")
	if err != nil {
		tb.Fatal(err)
	}
	return ps
}

func hostileProduct(tb testing.TB) *api.Product {
	tb.Helper()
	ps, err := bench.ReadCatalog("testdata/hostile.json")
	if err != nil || len(ps) != 1 {
		tb.Fatalf("hostile.json: %v", err)
	}
	return ps[0]
}

// env is a storefront over a fake engine, loaded with products, served by
// the storefront's routes on an in-memory listener.
type env struct {
	sf     *Storefront
	eng    *fakeEngine
	ms     *metrics.Set
	client *fasthttp.HostClient
}

func testConfig() Config {
	c := DefaultConfig()
	c.RefreshInterval = 10 * time.Millisecond
	return c
}

func newEnv(tb testing.TB, ps []*api.Product, tune func(*Config)) *env {
	tb.Helper()
	cfg := testConfig()
	if tune != nil {
		tune(&cfg)
	}
	e := &env{eng: newFakeEngine(ps), ms: metrics.NewSet()}
	sf, err := New(cfg, e.eng, zerolog.Nop(), e.ms)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(sf.Close)
	e.sf = sf
	sf.BeginLoad()
	for _, p := range ps {
		sf.Load(p)
	}
	sf.EndLoad(1)
	sf.refresh()
	if !sf.Ready() {
		tb.Fatal("storefront not ready after a load")
	}
	r := router.New()
	register(r, sf)
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: r.Handler, ReadTimeout: 5 * time.Second, ReadBufferSize: 16 << 10}
	go srv.Serve(ln) //nolint:errcheck
	tb.Cleanup(func() { _ = srv.Shutdown() })
	e.client = &fasthttp.HostClient{Addr: "edge", Dial: func(string) (net.Conn, error) { return ln.Dial() }}
	return e
}

// register mounts the storefront as edge/httpapi does.
func register(r *router.Router, s *Storefront) {
	for _, m := range []string{fasthttp.MethodGet, fasthttp.MethodHead} {
		r.Handle(m, "/", s.Home)
		r.Handle(m, "/search", s.Search)
		r.Handle(m, "/c/{slug}", s.Category)
		r.Handle(m, "/cart", s.Cart)
		r.Handle(m, "/checkout", s.Checkout)
		r.Handle(m, "/orders/{id}", s.Order)
		r.Handle(m, "/assets/{file}", s.Asset)
	}
}

// get sends one request; hdr is name, value pairs.
func (e *env) do(tb testing.TB, method, uri string, hdr ...string) *fasthttp.Response {
	tb.Helper()
	req, resp := fasthttp.AcquireRequest(), new(fasthttp.Response)
	defer fasthttp.ReleaseRequest(req)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://edge" + uri)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if err := e.client.DoTimeout(req, resp, 5*time.Second); err != nil {
		tb.Fatalf("%s %s: %v", method, uri, err)
	}
	return resp
}

func (e *env) get(tb testing.TB, uri string, hdr ...string) *fasthttp.Response {
	tb.Helper()
	return e.do(tb, fasthttp.MethodGet, uri, hdr...)
}

func goldenPath(name string) string { return "testdata/golden/" + name + ".html" }

func writeGolden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	if err := os.MkdirAll("testdata/golden", 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(goldenPath(name), got, 0o644); err != nil {
		tb.Fatal(err)
	}
}

var testLog = zerolog.Nop()

func testMetrics() *metrics.Set { return metrics.NewSet() }
