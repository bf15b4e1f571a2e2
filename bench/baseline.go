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
