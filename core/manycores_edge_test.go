package main

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// mcEdge is the harness's edge: it forwards every request to the next core
// in turn and, when a core cannot be reached (connection refused, reset,
// timeout), marks it down for a second and tries the next, as edge/forward
// does with writes that carry an Idempotency-Key. It forwards answers as
// they are, 503 included.
type mcEdge struct {
	addr    string
	clients []*fasthttp.HostClient
	down    []atomic.Int64 // unix ns until which core i is skipped
	next    atomic.Uint64
	srv     *fasthttp.Server
	// failovers counts requests that moved to another core.
	failovers atomic.Int64
}

func newMCEdge(tb testing.TB, cores []string) *mcEdge {
	tb.Helper()
	e := &mcEdge{down: make([]atomic.Int64, len(cores))}
	for _, a := range cores {
		e.clients = append(e.clients, &fasthttp.HostClient{Addr: a, MaxConns: 512, ReadTimeout: 30 * time.Second, WriteTimeout: 5 * time.Second,
			MaxIdemponentCallAttempts: 1})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	e.addr = ln.Addr().String()
	e.srv = &fasthttp.Server{Handler: e.handle, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	go func() { _ = e.srv.Serve(ln) }()
	tb.Cleanup(func() { _ = e.srv.Shutdown() })
	return e
}

func (e *mcEdge) handle(ctx *fasthttp.RequestCtx) {
	n := len(e.clients)
	first := int(e.next.Add(1) % uint64(n))
	for try := range n {
		i := (first + try) % n
		if time.Now().UnixNano() < e.down[i].Load() && try < n-1 {
			continue
		}
		err := e.clients[i].DoTimeout(&ctx.Request, &ctx.Response, 30*time.Second)
		if err == nil {
			return
		}
		e.down[i].Store(time.Now().Add(time.Second).UnixNano())
		ctx.Response.Reset()
		e.failovers.Add(1)
	}
	ctx.Response.Header.Set("Retry-After", "1")
	ctx.Error(`{"error":{"code":"unavailable","message":"no core answered"}}`, fasthttp.StatusServiceUnavailable)
}
