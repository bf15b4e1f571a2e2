package httpapi

import (
	"bytes"
	"io"
	"math/rand"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	json "github.com/goccy/go-json"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/internal/httpserver"
)

// pipeConn feeds the same request bytes again and again to a fasthttp
// server and throws its answers away: it measures the server's CPU per
// request (parse, route, middleware, handler, response write) without
// sockets, so the ratio between stacks is the part an edge can change.
type pipeConn struct {
	req   []byte
	left  int // requests still to feed
	off   int
	wrote int64
	out   *bytes.Buffer // when set, answers are kept
}

func (c *pipeConn) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && c.left > 0 {
		k := copy(p[n:], c.req[c.off:])
		n += k
		c.off += k
		if c.off == len(c.req) {
			c.off = 0
			c.left--
		}
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}
func (c *pipeConn) Write(p []byte) (int, error) {
	c.wrote += int64(len(p))
	if c.out != nil {
		c.out.Write(p)
	}
	return len(p), nil
}
func (c *pipeConn) Close() error        { return nil }
func (c *pipeConn) LocalAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080} }
func (c *pipeConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *pipeConn) SetDeadline(time.Time) error      { return nil }
func (c *pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *pipeConn) SetWriteDeadline(time.Time) error { return nil }

func benchStack(b *testing.B, h fasthttp.RequestHandler, uri string) {
	srv := &fasthttp.Server{Handler: h, NoDefaultServerHeader: true}
	req := []byte("GET " + uri + " HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\n\r\n")
	// Check one answer first.
	var out bytes.Buffer
	if err := srv.ServeConn(&pipeConn{req: req, left: 1, out: &out}); err != nil && err != io.EOF {
		b.Fatal(err)
	}
	if !bytes.HasPrefix(out.Bytes(), []byte("HTTP/1.1 200")) {
		b.Fatalf("answer: %.200s", out.Bytes())
	}
	b.ReportAllocs()
	b.ResetTimer()
	var wrote atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c := &pipeConn{req: req, left: 256}
			_ = srv.ServeConn(c)
			wrote.Add(c.wrote)
		}
	})
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*256), "ns/req")
	b.ReportMetric(float64(wrote.Load())/float64(b.N*256), "B/resp")
}

// BenchmarkStackBaseline is a bare fasthttp server writing a fixed 2 KB
// JSON body: the floor the edge is measured against.
func BenchmarkStackBaseline(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 2048)
	benchStack(b, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentTypeBytes(ctJSON)
		ctx.SetBody(body)
	}, "/v1/products/1")
}

// BenchmarkStackEdgeHit is the edge's full stack for a product JSON hit:
// middleware, router, handler.
func BenchmarkStackEdgeHit(b *testing.B) {
	a := benchAPI(b)
	r := httpserver.NewRouter()
	a.Register(r)
	cfg := httpserver.DefaultConfig()
	cfg.Name = "edge"
	s := httpserver.New(cfg, zerolog.Nop(), metrics.NewSet(), r.Handler)
	benchStack(b, s.Handler(), "/v1/products/5191101")
}

// BenchmarkStackEdgeHitNoMiddleware is the router and handler alone.
func BenchmarkStackEdgeHitNoMiddleware(b *testing.B) {
	a := benchAPI(b)
	r := httpserver.NewRouter()
	a.Register(r)
	benchStack(b, r.Handler, "/v1/products/5191101")
}

// BenchmarkStackEdgeHitHandlerOnly is the product handler alone.
func BenchmarkStackEdgeHitHandlerOnly(b *testing.B) {
	a := benchAPI(b)
	benchStack(b, a.ProductJSON, "/v1/products/5191101")
}

// BenchmarkStackEdgeHitDirect is the edge's stack as the binary serves it:
// middleware and the direct dispatch of product reads in front of the router.
func BenchmarkStackEdgeHitDirect(b *testing.B) {
	benchStack(b, edgeStack(b), "/v1/products/5191101")
}

// BenchmarkStackEdgeHTMLHitDirect is BenchmarkStackEdgeHitDirect for a
// product page by slug.
func BenchmarkStackEdgeHTMLHitDirect(b *testing.B) {
	benchStack(b, edgeStack(b), "/products/"+realProducts(b)[0].Slug)
}

// edgeStack returns the edge's handler as the binary serves it.
func edgeStack(b *testing.B) fasthttp.RequestHandler {
	a := benchAPI(b)
	r := httpserver.NewRouter()
	a.Register(r)
	return dispatched(a, r)
}

// demoCatalog returns the products of the committed demo catalog.
func demoCatalog(b *testing.B) []*api.Product {
	return readProducts(b, "../../scripts/demo/catalog.ndjson.gz")
}

// zipfRequests returns n GET requests for paths of Zipf-ranked ids
// (s = 1.1, as bench/wrk/products.lua), back to back.
func zipfRequests(ids []string, n int) []byte {
	z := rand.NewZipf(rand.New(rand.NewSource(1)), 1.1, 1, uint64(len(ids)-1))
	var req []byte
	for range n {
		req = append(req, "GET /v1/products/"+ids[z.Uint64()]+" HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\n\r\n"...)
	}
	return req
}

// manyRequests is the length of the request stream of the StackMany
// benchmarks: ~1.6 MB of requests for ~12k different products, far more
// than the CPU's caches, so that a hit reads memory as under wrk's random
// ids instead of the same few hundred bodies from L2.
const manyRequests = 20000

// benchStackMany is benchStack over a stream of different requests.
func benchStackMany(b *testing.B, h fasthttp.RequestHandler, reqs []byte, perConn int) {
	srv := &fasthttp.Server{Handler: h, NoDefaultServerHeader: true}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = srv.ServeConn(&pipeConn{req: reqs, left: 1})
		}
	})
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perConn), "ns/req")
}

// BenchmarkStackManyEdge is the edge's stack serving Zipf-ranked product
// ids over the demo catalog (22,697 products), as wrk does, rather than
// one product: each hit reads a different product's bytes.
func BenchmarkStackManyEdge(b *testing.B) {
	ps := demoCatalog(b)
	store, l := newStore(b)
	l.BeginLoad()
	ids := make([]string, len(ps))
	for i, p := range ps {
		l.Load(p)
		ids[i] = p.ID
	}
	l.EndLoad(1)
	a := apiOver(store, l, true)
	r := httpserver.NewRouter()
	a.Register(r)
	h := dispatched(a, r)
	// One long pass first fills the hot tier as steady traffic would.
	_ = (&fasthttp.Server{Handler: h}).ServeConn(&pipeConn{req: zipfRequests(ids, 20000), left: 1})
	benchStackMany(b, h, zipfRequests(ids, manyRequests), manyRequests)
}

// BenchmarkStackManyBaseline is its baseline twin: a bare fasthttp server
// answering each id with that product's JSON (a map lookup and a copy),
// so it touches as many different bodies as the edge does.
func BenchmarkStackManyBaseline(b *testing.B) {
	ps := demoCatalog(b)
	bodies := make(map[string][]byte, len(ps))
	ids := make([]string, len(ps))
	for i, p := range ps {
		body, err := json.Marshal(p)
		if err != nil {
			b.Fatal(err)
		}
		bodies["/v1/products/"+p.ID] = body
		ids[i] = p.ID
	}
	benchStackMany(b, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentTypeBytes(ctJSON)
		ctx.SetBody(bodies[string(ctx.Path())])
	}, zipfRequests(ids, manyRequests), manyRequests)
}
