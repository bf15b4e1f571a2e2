package storefront

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"shopedge/internal/httpserver"
)

// pipeConn feeds the same request to a fasthttp server again and again
// and throws the answers away: server CPU per request without sockets.
type pipeConn struct {
	req       []byte
	left, off int
	out       *bytes.Buffer
}

func (c *pipeConn) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && c.left > 0 {
		k := copy(p[n:], c.req[c.off:])
		n, c.off = n+k, c.off+k
		if c.off == len(c.req) {
			c.off, c.left = 0, c.left-1
		}
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}
func (c *pipeConn) Write(p []byte) (int, error) {
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

const perConn = 256

// benchHit measures h answering GET uri with gzip accepted, as a CDN
// asks, and reports ns and bytes per request.
func benchHit(b *testing.B, h fasthttp.RequestHandler, uri string) {
	srv := &fasthttp.Server{Handler: h, NoDefaultServerHeader: true}
	req := []byte("GET " + uri + " HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAccept-Encoding: gzip\r\n\r\n")
	var out bytes.Buffer
	_ = srv.ServeConn(&pipeConn{req: req, left: 1, out: &out})
	if !bytes.HasPrefix(out.Bytes(), []byte("HTTP/1.1 200")) {
		b.Fatalf("answer: %.200s", out.Bytes())
	}
	b.ReportMetric(float64(out.Len()), "B/resp")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = srv.ServeConn(&pipeConn{req: req, left: perConn})
		}
	})
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perConn), "ns/req")
}

// edgeStack is the storefront behind the edge's middleware, with its
// dispatch in front of the router, as the edge serves it.
func edgeStack(b *testing.B) (*env, fasthttp.RequestHandler) {
	e := newEnv(b, testProducts(b), nil)
	r := httpserver.NewRouter()
	register(r, e.sf)
	cfg := httpserver.DefaultConfig()
	cfg.Name = "edge"
	srv := httpserver.New(cfg, zerolog.Nop(), metrics.NewSet(), r.Handler)
	srv.SetDispatch(e.sf.Dispatch)
	return e, srv.Handler()
}

// BenchmarkHitBaseline is the twin of the hits below: a bare fasthttp
// server writing the home page's gzip bytes with no headers of its own.
func BenchmarkHitBaseline(b *testing.B) {
	e := newEnv(b, testProducts(b), nil)
	body := e.sf.home.Load().gz
	benchHit(b, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentTypeBytes(ctHTML)
		ctx.Response.SetBodyRaw(body)
	}, "/")
}

// BenchmarkHitHome is a home page hit through the edge's middleware and
// router.
func BenchmarkHitHome(b *testing.B) {
	_, h := edgeStack(b)
	benchHit(b, h, "/")
}

// BenchmarkHitCategory is a precomputed category page hit, same stack.
func BenchmarkHitCategory(b *testing.B) {
	_, h := edgeStack(b)
	benchHit(b, h, "/c/cell-phones")
}

// BenchmarkRenderListing is the rendering of a search page per request,
// without the search: 24 products, facets, chips, pages.
func BenchmarkRenderListing(b *testing.B) {
	e := newEnv(b, testProducts(b), nil)
	p, _ := e.eng.Parse(fasthttp.AcquireArgs())
	p.Query, p.Brands = "phone", []string{"BLU"}
	res, _ := e.eng.Search(p)
	for len(res.Products) < 24 {
		res.Products = append(res.Products, res.Products[0])
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		v := &listing{l: linker{base: PathSearch, perPage: 24}, title: "Results", p: &p, res: res, curr: "USD"}
		body, _ := v.render()
		n = len(body)
	}
	b.ReportMetric(float64(n), "B/page")
}
