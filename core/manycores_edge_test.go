package main

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"shopedge/edge/forward"
	"shopedge/internal/httpserver"
)

// mcFrontEdge is the harness's edge: the test's round-robin mcEdge, or
// the real edge/forward.Forwarder (fwdEdge).
type mcFrontEdge interface {
	// Addr is where buyers send their requests.
	Addr() string
	// Failovers counts requests that moved from the core first tried to
	// another.
	Failovers() int64
}

// Edge kinds of mcOptions.edge.
const (
	edgeRoundRobin  = ""             // mcEdge: the cores take turns
	edgeForward     = "forward"      // edge/forward, route_checkouts off: the cores take turns
	edgeRouted      = "routed"       // edge/forward, route_checkouts on, route_by hottest
	edgeRoutedFirst = "routed-first" // edge/forward, route_checkouts on, route_by first_line
)

func newFrontEdge(tb testing.TB, kind string, cores []string) mcFrontEdge {
	if kind == edgeRoundRobin {
		return newMCEdge(tb, cores)
	}
	return newFwdEdge(tb, kind, cores)
}

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

func (e *mcEdge) Addr() string     { return e.addr }
func (e *mcEdge) Failovers() int64 { return e.failovers.Load() }

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

// fwdEdge is the edge's real forwarder (edge/forward), mounted on a router
// as the edge mounts it, with the cores' cart digest key and without
// per-client budgets (every buyer comes from 127.0.0.1).
type fwdEdge struct {
	addr string
	f    *forward.Forwarder
	ms   *metrics.Set
}

func newFwdEdge(tb testing.TB, kind string, cores []string) *fwdEdge {
	tb.Helper()
	cfg := forward.DefaultConfig()
	cfg.Addrs = cores
	cfg.Timeout = 10 * time.Second
	cfg.CheckoutTimeout = 30 * time.Second
	cfg.Limits = forward.LimitsConfig{CacheBytes: 1 << 20}
	cfg.DigestKeys = []string{mcDigestKey}
	cfg.RouteCheckouts = kind != edgeForward
	if kind == edgeRoutedFirst {
		cfg.RouteBy = forward.RouteByFirstLine
	}
	ms := metrics.NewSet()
	f, err := forward.New(cfg, zerolog.Nop(), ms)
	if err != nil {
		tb.Fatal(err)
	}
	r := httpserver.NewRouter()
	for _, ep := range f.Endpoints() {
		r.Handle(ep.Method, ep.Path, ep.Handler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: r.Handler, ReadTimeout: 40 * time.Second, WriteTimeout: 40 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Shutdown(); _ = f.Close() })
	return &fwdEdge{addr: ln.Addr().String(), f: f, ms: ms}
}

func (e *fwdEdge) Addr() string { return e.addr }

// Failovers counts checkouts another core than their SKU's owner
// answered.
func (e *fwdEdge) Failovers() int64 {
	return int64(e.metric(`shopedge_edge_forward_checkouts_routed_total{to="failover"}`))
}

// metric returns the value of the sample name on the edge's metrics.
func (e *fwdEdge) metric(name string) float64 {
	var b bytes.Buffer
	e.ms.WritePrometheus(&b)
	for _, line := range strings.Split(b.String(), "\n") {
		if n, v, ok := strings.Cut(line, " "); ok && n == name {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}
