package app

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/fasthttp/router"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"shopedge/internal/config"
	"shopedge/internal/httpserver"
)

func testConfig(addr string) httpserver.Config {
	c := httpserver.DefaultConfig()
	c.Addr, c.Name = addr, "test"
	return c
}

func get(t *testing.T, url string, hdr ...string) (int, string) {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode(), string(resp.Body())
}

func TestServeRoutesDispatchAndReadiness(t *testing.T) {
	var logs strings.Builder
	var ready atomic.Bool
	s, err := Serve(testConfig("127.0.0.1:0"), zerolog.New(&logs), metrics.NewSet(), Handlers{
		Routes: func(r *router.Router) {
			r.GET("/hello", func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("routed") })
		},
		Dispatch: func(ctx *fasthttp.RequestCtx) (fasthttp.RequestHandler, string) {
			if string(ctx.Path()) == "/fast" {
				return func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("dispatched") }, "/fast"
			}
			return nil, ""
		},
		Ready:     ready.Load,
		OpsTokens: []string{"ops-secret"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	base := "http://" + s.Addr()
	if !strings.Contains(logs.String(), `"addr":"`+s.Addr()+`","message":"serving"`) {
		t.Fatalf("no serving line with the bound address: %s", logs.String())
	}
	for path, want := range map[string]string{"/hello": "routed", "/fast": "dispatched"} {
		if st, body := get(t, base+path); st != 200 || body != want {
			t.Fatalf("GET %s = %d %q, want 200 %q", path, st, body, want)
		}
	}
	if st, _ := get(t, base+"/metrics"); st != 401 {
		t.Fatalf("/metrics without a token = %d, want 401", st)
	}
	_, m := get(t, base+"/metrics", "Authorization", "Bearer ops-secret")
	for _, want := range []string{
		`shopedge_http_requests_total{server="test",route="/fast",code="2xx"} 1`,
		`shopedge_http_requests_total{server="test",route="/hello",code="2xx"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Fatalf("metrics lack %s:\n%s", want, m)
		}
	}
	if st, _ := get(t, base+"/healthz"); st != 200 {
		t.Fatalf("/healthz = %d", st)
	}
	if st, _ := get(t, base+"/readyz"); st != 503 {
		t.Fatalf("/readyz while the tier is not ready = %d, want 503", st)
	}
	ready.Store(true)
	if st, _ := get(t, base+"/readyz"); st != 200 {
		t.Fatalf("/readyz when ready = %d, want 200", st)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.Err():
		t.Fatalf("serve failure after a clean shutdown: %v", err)
	default:
	}
	if _, _, err := fasthttp.GetTimeout(nil, base+"/healthz", time.Second); err == nil {
		t.Fatal("still serving after Shutdown")
	}
}

func TestServeListenFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = Serve(testConfig(ln.Addr().String()), zerolog.Nop(), metrics.NewSet(), Handlers{})
	if err == nil || !strings.Contains(err.Error(), "cannot listen on "+ln.Addr().String()) {
		t.Fatalf("Serve on a taken address: %v", err)
	}
}

// A Base whose server never started stops cleanly and serves no address.
func TestBaseStartStop(t *testing.T) {
	var logs strings.Builder
	b := NewBase(&logs)
	if b.Addr() != "" || b.ServeErr() != nil || b.StopServer() != nil {
		t.Fatal("a Base without a server reports an address, a failure channel or a stop error")
	}
	b.Log = zerolog.New(&logs)
	if err := b.StartServer(testConfig("127.0.0.1:0"), Handlers{}); err != nil {
		t.Fatal(err)
	}
	if st, _ := get(t, "http://"+b.Addr()+"/readyz"); st != 200 {
		t.Fatalf("/readyz = %d", st)
	}
	if err := b.StopServer(); err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"start http server", "stop http server"} {
		if !strings.Contains(logs.String(), `"step":"`+step+`"`) {
			t.Fatalf("step %q not logged: %s", step, logs.String())
		}
	}
}

// TestOpsListener: with ops.addr set, a second listener serves /metrics
// (with the main server's request metrics), /debug/pprof/, /healthz and
// /readyz without a token, while the main listener keeps asking for one;
// Shutdown stops both.
func TestOpsListener(t *testing.T) {
	s, err := Serve(testConfig("127.0.0.1:0"), zerolog.Nop(), metrics.NewSet(), Handlers{
		Routes: func(r *router.Router) {
			r.GET("/hello", func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("routed") })
		},
		OpsTokens: []string{"ops-secret"},
		Ops:       OpsConfig{Addr: "127.0.0.1:0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	base, ops := "http://"+s.Addr(), "http://"+s.OpsAddr()
	if s.OpsAddr() == "" || s.OpsAddr() == s.Addr() {
		t.Fatalf("ops address %q", s.OpsAddr())
	}
	get(t, base+"/hello")
	if st, _ := get(t, base+"/metrics"); st != 401 {
		t.Fatalf("main /metrics without a token = %d", st)
	}
	st, m := get(t, ops+"/metrics")
	if st != 200 || !strings.Contains(m, `shopedge_http_requests_total{server="test",route="/hello",code="2xx"} 1`) {
		t.Fatalf("ops /metrics = %d:\n%s", st, m)
	}
	for _, p := range []string{"/debug/pprof/heap", "/healthz", "/readyz"} {
		if st, _ := get(t, ops+p); st != 200 {
			t.Fatalf("ops %s = %d", p, st)
		}
	}
	if st, _ := get(t, ops+"/hello"); st != 404 {
		t.Fatalf("ops listener serves the tier's routes: %d", st)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := fasthttp.GetTimeout(nil, ops+"/healthz", time.Second); err == nil {
		t.Fatal("ops listener still serving after Shutdown")
	}
	if err := config.In("ops", (OpsConfig{Addr: "nowhere"}).Validate()); err == nil || !strings.Contains(err.Error(), "ops.addr") {
		t.Fatalf("Validate(nowhere) = %v", err)
	}
}
