package bench

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// BaselineBodySize is the size of the baseline server's answer, close to a
// rendered product JSON.
const BaselineBodySize = 2048

// BaselineBody returns the fixed JSON body the baseline server answers with:
// exactly BaselineBodySize bytes.
func BaselineBody() []byte {
	head := `{"id":"baseline","name":"Baseline product","description":"`
	tail := `"}`
	return []byte(head + strings.Repeat("x", BaselineBodySize-len(head)-len(tail)) + tail)
}

// Baseline is a bare fasthttp server answering every request with
// BaselineBody: the upper bound every scenario is compared with.
type Baseline struct {
	ln  net.Listener
	srv *fasthttp.Server
	err chan error
}

// StartBaseline listens on addr (e.g. "127.0.0.1:0") and serves until Close.
func StartBaseline(addr string) (*Baseline, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen for the baseline on %s: %w", addr, err)
	}
	body := BaselineBody()
	return serveBaseline(ln, "shopedge-baseline", func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}), nil
}

// serveBaseline serves h on ln with the baselines' server settings.
func serveBaseline(ln net.Listener, name string, h fasthttp.RequestHandler) *Baseline {
	b := &Baseline{ln: ln, err: make(chan error, 1)}
	b.srv = &fasthttp.Server{
		Name:         name,
		ReadTimeout:  10 * time.Second,
		WriteTimeout: 10 * time.Second,
		IdleTimeout:  30 * time.Second,
		Handler:      h,
	}
	go func() { b.err <- b.srv.Serve(ln) }()
	return b
}

// StartProxyBaseline listens on addr and forwards every request to the
// server at to with a bare fasthttp HostClient, and nothing else: no
// timeouts beyond the client's, no header filtering, no breaker, no
// metrics. It is the floor of any route an edge forwards to the core.
func StartProxyBaseline(addr, to string) (*Baseline, error) {
	if to == "" {
		return nil, fmt.Errorf("cannot start the proxy baseline: no address to forward to")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen for the proxy baseline on %s: %w", addr, err)
	}
	c := &fasthttp.HostClient{Addr: to, MaxConns: 4096, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	return serveBaseline(ln, "shopedge-proxy-baseline", func(ctx *fasthttp.RequestCtx) {
		ctx.Request.Header.Del("Connection")
		if err := c.Do(&ctx.Request, &ctx.Response); err != nil {
			ctx.Error("bad gateway: "+err.Error(), fasthttp.StatusBadGateway)
		}
	}), nil
}

// Addr returns the address the baseline listens on.
func (b *Baseline) Addr() string { return b.ln.Addr().String() }

// Close stops the server and waits for it.
func (b *Baseline) Close() error {
	if err := b.srv.Shutdown(); err != nil {
		return fmt.Errorf("cannot stop the baseline: %w", err)
	}
	return <-b.err
}

// CatalogCacheControl is the Cache-Control value of the catalog baseline
// with headers: the edge's default.
const CatalogCacheControl = "public, max-age=60, s-maxage=300, stale-while-revalidate=60, stale-if-error=86400"

// CatalogPage is one page the catalog baseline answers: the body of the
// request path Path, with the ETag and Surrogate-Key the edge sends.
type CatalogPage struct {
	Path, Body, ETag, SurrogateKey []byte
}

// StartCatalogBaseline listens on addr and answers each page's path with
// its body from a Go map (unknown paths get a bare 404); with headers it
// also sets the page's ETag and Surrogate-Key and the edge's Cache-Control
// and Vary. Given the edge's rendering of each product's JSON (the bench
// command renders them), it is the floor of any server answering a real
// catalog's pages: each request reads another product's bytes (as the edge
// does) where the fixed baseline reads one body that stays in the CPU's
// caches, and with headers it writes what a CDN origin must. Comparing it
// with the fixed baseline and with the edge splits the edge's gap into
// what serving a catalog costs anyway and what the edge adds.
func StartCatalogBaseline(addr string, pages []CatalogPage, headers bool) (*Baseline, error) {
	byPath := make(map[string]CatalogPage, len(pages))
	for _, pg := range pages {
		byPath[string(pg.Path)] = pg
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen for the catalog baseline on %s: %w", addr, err)
	}
	ct := []byte("application/json")
	hETag, hCC, hSK, hVary := []byte("ETag"), []byte("Cache-Control"), []byte("Surrogate-Key"), []byte("Vary")
	cc, vary := []byte(CatalogCacheControl), []byte("Accept-Encoding")
	return serveBaseline(ln, "shopedge-catalog-baseline", func(ctx *fasthttp.RequestCtx) {
		pg, ok := byPath[string(ctx.Path())]
		if !ok {
			ctx.SetStatusCode(fasthttp.StatusNotFound)
			return
		}
		h := &ctx.Response.Header
		h.SetContentTypeBytes(ct)
		if headers {
			h.SetCanonical(hETag, pg.ETag)
			h.SetCanonical(hCC, cc)
			h.SetCanonical(hSK, pg.SurrogateKey)
			h.SetCanonical(hVary, vary)
		}
		ctx.Response.SetBodyRaw(pg.Body)
	}), nil
}
