package httpserver

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/fasthttp/router"
	json "github.com/goccy/go-json"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"shopedge/core/api"
	"shopedge/internal/config"
	"shopedge/internal/proctest"
)

type testServer struct {
	srv    *Server
	ln     *fasthttputil.InmemoryListener
	client *fasthttp.Client
	logs   *proctest.SyncBuffer
	ms     *metrics.Set
	served chan error
}

// testOpsToken opens /metrics and /debug/pprof/ of the test servers.
const testOpsToken = "test-ops-token"

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Name = "t"
	cfg.ReadTimeout = 2 * time.Second
	cfg.WriteTimeout = 2 * time.Second
	cfg.ShutdownTimeout = 2 * time.Second
	cfg.MaxRequestBodySize = 1 << 10
	cfg.ReadBufferSize = 2 << 10
	return cfg
}

// startServer serves r behind a Server on an in-memory listener.
func startServer(t *testing.T, cfg Config, r *router.Router, ready func() bool) *testServer {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ts := &testServer{ln: fasthttputil.NewInmemoryListener(), logs: &proctest.SyncBuffer{}, ms: metrics.NewSet(), served: make(chan error, 1)}
	log := zerolog.New(ts.logs)
	ts.srv = New(cfg, log, ts.ms, r.Handler)
	ts.srv.RegisterStandard(r, Standard{Ready: ready, Tokens: []string{testOpsToken}})
	go func() { ts.served <- ts.srv.Serve(ts.ln) }()
	ts.client = &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ts.ln.Dial() }}
	t.Cleanup(func() {
		_ = ts.srv.Shutdown(context.Background())
		select {
		case <-ts.served:
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after Shutdown")
		}
	})
	return ts
}

func (ts *testServer) do(t *testing.T, method, path string, body []byte, hdr ...string) *fasthttp.Response {
	t.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://shop" + path)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if body != nil {
		req.SetBody(body)
	}
	resp := &fasthttp.Response{}
	if err := ts.client.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// raw writes a request verbatim on a new connection and reads one response.
func (ts *testServer) raw(t *testing.T, request string) *fasthttp.Response {
	t.Helper()
	c, err := ts.ln.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	go func() { _, _ = c.Write([]byte(request)) }()
	resp := &fasthttp.Response{}
	if err := resp.Read(bufio.NewReader(c)); err != nil {
		t.Fatalf("reading response: %v", err)
	}
	return resp
}

func wantError(t *testing.T, resp *fasthttp.Response, status int, code string) {
	t.Helper()
	if resp.StatusCode() != status {
		t.Fatalf("status = %d, want %d; body %s", resp.StatusCode(), status, resp.Body())
	}
	if ct := string(resp.Header.ContentType()); ct != "application/json" {
		t.Fatalf("content type = %q", ct)
	}
	var body api.ErrorBody
	if err := json.Unmarshal(resp.Body(), &body); err != nil || body.Error == nil {
		t.Fatalf("body %q is not an error body: %v", resp.Body(), err)
	}
	if body.Error.Code != code {
		t.Fatalf("code = %q, want %q", body.Error.Code, code)
	}
}

func echoRouter() *router.Router {
	r := NewRouter()
	r.POST("/echo", func(ctx *fasthttp.RequestCtx) { ctx.SetBody(ctx.PostBody()) })
	r.GET("/items/{id}", func(ctx *fasthttp.RequestCtx) {
		fmt.Fprintf(ctx, "%s %s", ctx.UserValue("id"), RequestID(ctx))
	})
	r.GET("/panic", func(ctx *fasthttp.RequestCtx) { panic("boom") })
	return r
}

func TestBodyOverLimitIs413(t *testing.T) {
	ts := startServer(t, testConfig(), echoRouter(), nil)
	if resp := ts.do(t, "POST", "/echo", bytes.Repeat([]byte("a"), 1<<10)); resp.StatusCode() != 200 || len(resp.Body()) != 1<<10 {
		t.Fatalf("body at the limit: status %d, %d bytes", resp.StatusCode(), len(resp.Body()))
	}
	wantError(t, ts.do(t, "POST", "/echo", bytes.Repeat([]byte("a"), 1<<10+1)), 413, api.ECodeTooLarge)
}

func TestHeadersOverLimitAre431(t *testing.T) {
	ts := startServer(t, testConfig(), echoRouter(), nil)
	big := strings.Repeat("x", 4<<10)
	resp := ts.raw(t, "GET /items/1 HTTP/1.1\r\nHost: shop\r\nX-Big: "+big+"\r\n\r\n")
	wantError(t, resp, 431, api.ECodeHeaderTooLarge)
	if resp := ts.raw(t, "GET /items/1 HTTP/1.1\r\nHost: shop\r\nX-Small: "+big[:512]+"\r\n\r\n"); resp.StatusCode() != 200 {
		t.Fatalf("small header: status %d", resp.StatusCode())
	}
}

func TestMalformedRequestIs400(t *testing.T) {
	ts := startServer(t, testConfig(), echoRouter(), nil)
	wantError(t, ts.raw(t, "GET /items/1 HTTP/1.1\r\nHost: shop\r\nContent-Length: nope\r\n\r\n"), 400, api.ECodeInvalid)
}

func TestUnknownRouteAndMethodAreJSON(t *testing.T) {
	ts := startServer(t, testConfig(), echoRouter(), nil)
	wantError(t, ts.do(t, "GET", "/nowhere", nil), 404, api.ECodeNotFound)
	resp := ts.do(t, "DELETE", "/echo", nil)
	wantError(t, resp, 405, api.ECodeMethod)
	if allow := string(resp.Header.Peek("Allow")); !strings.Contains(allow, "POST") {
		t.Fatalf("Allow = %q", allow)
	}
}

func TestRequestID(t *testing.T) {
	ts := startServer(t, testConfig(), echoRouter(), nil)
	hexID := regexp.MustCompile(`^([0-9a-f]{7}[g-v]){4}$`) // 128 random bits, no long digit runs

	resp := ts.do(t, "GET", "/items/7", nil, HeaderRequestID, "abc-123")
	if got := string(resp.Header.Peek(HeaderRequestID)); got != "abc-123" {
		t.Fatalf("echoed id = %q", got)
	}
	if string(resp.Body()) != "7 abc-123" {
		t.Fatalf("handler saw %q", resp.Body())
	}

	seen := map[string]bool{}
	for _, in := range []string{"", strings.Repeat("a", 129), "has space", "caf\xc3\xa9"} {
		resp := ts.do(t, "GET", "/items/7", nil, HeaderRequestID, in)
		id := string(resp.Header.Peek(HeaderRequestID))
		if !hexID.MatchString(id) {
			t.Fatalf("id for %q = %q, want 4 × (7 hex + 1 letter g-v)", in, id)
		}
		if string(resp.Body()) != "7 "+id {
			t.Fatalf("handler saw %q, response says %q", resp.Body(), id)
		}
		if seen[id] {
			t.Fatalf("id %q generated twice", id)
		}
		seen[id] = true
	}
	max := strings.Repeat("z", 128)
	if got := string(ts.do(t, "GET", "/items/7", nil, HeaderRequestID, max).Header.Peek(HeaderRequestID)); got != max {
		t.Fatalf("128-char id replaced by %q", got)
	}
	// Error paths carry an id too.
	if id := ts.do(t, "GET", "/nowhere", nil).Header.Peek(HeaderRequestID); !hexID.Match(id) {
		t.Fatalf("404 id = %q", id)
	}
	// A success whose handler asked no id (a cache hit) carries none, not
	// even the client's: a CDN would store it with the page (issue 13).
	if id := ts.do(t, "POST", "/echo", []byte("x")).Header.Peek(HeaderRequestID); len(id) != 0 {
		t.Fatalf("unasked id %q generated", id)
	}
	if id := ts.do(t, "POST", "/echo", []byte("x"), HeaderRequestID, "abc").Header.Peek(HeaderRequestID); len(id) != 0 {
		t.Fatalf("client id %q echoed on an answer that did not ask for it", id)
	}
	// An error echoes the client's id.
	if id := string(ts.do(t, "GET", "/nowhere", nil, HeaderRequestID, "abc").Header.Peek(HeaderRequestID)); id != "abc" {
		t.Fatalf("404 id = %q, want the client's", id)
	}
	// An id that looks like a card number is replaced, never echoed.
	for _, in := range []string{"4111111111111111", "4111-1111-1111-1111", "x4111.1111.1111.1111"} {
		if id := string(ts.do(t, "GET", "/nowhere", nil, HeaderRequestID, in).Header.Peek(HeaderRequestID)); !hexID.MatchString(id) {
			t.Fatalf("id for %q = %q, want a generated one", in, id)
		}
	}
}

func TestPanicIs500AndLogged(t *testing.T) {
	ts := startServer(t, testConfig(), echoRouter(), nil)
	resp := ts.do(t, "GET", "/panic", nil, HeaderRequestID, "req-panic")
	wantError(t, resp, 500, api.ECodeInternal)
	if got := string(resp.Header.Peek(HeaderRequestID)); got != "req-panic" {
		t.Fatalf("id after panic = %q", got)
	}
	logs := ts.logs.String()
	if !strings.Contains(logs, `"panic":"boom"`) || !strings.Contains(logs, `"request_id":"req-panic"`) {
		t.Fatalf("panic not logged: %s", logs)
	}
	// The server keeps serving.
	if resp := ts.do(t, "GET", "/items/1", nil); resp.StatusCode() != 200 {
		t.Fatalf("after panic: %d", resp.StatusCode())
	}
}

func TestAccessLogOnlyFailedAndSlow(t *testing.T) {
	cfg := testConfig()
	cfg.SlowRequestThreshold = 50 * time.Millisecond
	r := echoRouter()
	r.GET("/slow", func(ctx *fasthttp.RequestCtx) { time.Sleep(60 * time.Millisecond) })
	r.GET("/fail", func(ctx *fasthttp.RequestCtx) { api.WriteError(ctx, api.Errorf(api.ECodeUnavailable, "down")) })
	ts := startServer(t, cfg, r, nil)
	ts.do(t, "GET", "/items/1", nil)
	ts.do(t, "GET", "/nowhere", nil)
	if logs := ts.logs.String(); logs != "" {
		t.Fatalf("fast 2xx/4xx logged: %s", logs)
	}
	ts.do(t, "GET", "/slow", nil)
	ts.do(t, "GET", "/fail", nil)
	logs := ts.logs.String()
	if !strings.Contains(logs, `"path":"/slow"`) || !strings.Contains(logs, `"slow":true`) {
		t.Fatalf("slow request not logged: %s", logs)
	}
	if !strings.Contains(logs, `"status":503`) || !strings.Contains(logs, `"route":"/fail"`) {
		t.Fatalf("5xx not logged: %s", logs)
	}
}

func TestReadyzFlips(t *testing.T) {
	var ready atomic.Bool
	ts := startServer(t, testConfig(), echoRouter(), ready.Load)
	if resp := ts.do(t, "GET", "/healthz", nil); resp.StatusCode() != 200 {
		t.Fatalf("healthz = %d", resp.StatusCode())
	}
	wantError(t, ts.do(t, "GET", "/readyz", nil), 503, api.ECodeUnavailable)
	if resp := ts.do(t, "HEAD", "/readyz", nil); resp.StatusCode() != 503 {
		t.Fatalf("HEAD readyz when not ready = %d", resp.StatusCode())
	}
	ready.Store(true)
	if resp := ts.do(t, "HEAD", "/readyz", nil); resp.StatusCode() != 200 {
		t.Fatalf("HEAD readyz when ready = %d", resp.StatusCode())
	}
	if resp := ts.do(t, "GET", "/readyz", nil); resp.StatusCode() != 200 {
		t.Fatalf("readyz when ready = %d", resp.StatusCode())
	}
	ready.Store(false)
	wantError(t, ts.do(t, "GET", "/readyz", nil), 503, api.ECodeUnavailable)
}

func TestMetricsByRouteAndClass(t *testing.T) {
	ts := startServer(t, testConfig(), echoRouter(), nil)
	ts.do(t, "GET", "/items/1", nil)
	ts.do(t, "GET", "/items/2", nil)
	ts.do(t, "GET", "/nowhere", nil)
	ts.do(t, "POST", "/echo", bytes.Repeat([]byte("a"), 2<<10))
	body := string(ts.do(t, "GET", "/metrics", nil, "Authorization", "Bearer "+testOpsToken).Body())
	for _, want := range []string{
		`shopedge_http_requests_total{server="t",route="/items/{id}",code="2xx"} 2`,
		`shopedge_http_requests_total{server="t",route="unmatched",code="4xx"} 1`,
		`shopedge_http_requests_total{server="t",route="unreadable",code="4xx"} 1`,
		`shopedge_http_request_duration_seconds_count{server="t",route="/items/{id}"} 2`,
		`shopedge_http_open_connections{server="t"}`,
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("metrics lack %q:\n%s", want, body)
		}
	}
}

func TestShutdownDrainsInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	r := echoRouter()
	r.GET("/hold", func(ctx *fasthttp.RequestCtx) {
		close(entered)
		<-release
		ctx.SetBodyString("done")
	})
	ts := startServer(t, testConfig(), r, nil)

	got := make(chan *fasthttp.Response, 1)
	go func() { got <- ts.do(t, "GET", "/hold", nil) }()
	<-entered

	shutdown := make(chan error, 1)
	go func() { shutdown <- ts.srv.Shutdown(context.Background()) }()
	select {
	case err := <-shutdown:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	case <-time.After(150 * time.Millisecond):
	}
	if !ts.srv.Draining() {
		t.Fatal("not draining during Shutdown")
	}
	close(release)
	resp := <-got
	if resp.StatusCode() != 200 || string(resp.Body()) != "done" {
		t.Fatalf("in-flight request: %d %q", resp.StatusCode(), resp.Body())
	}
	select {
	case err := <-shutdown:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return after the request finished")
	}
	select {
	case err := <-ts.served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
		ts.served <- nil // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := ts.ln.Dial(); err == nil {
		t.Fatal("new connection accepted after Shutdown")
	}
}

func TestShutdownIsBounded(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	cfg := testConfig()
	cfg.ShutdownTimeout = 200 * time.Millisecond
	r := echoRouter()
	r.GET("/hold", func(ctx *fasthttp.RequestCtx) { close(entered); <-release })
	ts := startServer(t, cfg, r, nil)
	go func() {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI("http://shop/hold")
		_ = ts.client.Do(req, resp)
	}()
	<-entered
	start := time.Now()
	err := ts.srv.Shutdown(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot drain") {
		t.Fatalf("Shutdown = %v, want a drain timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Shutdown took %s with a 200ms bound", d)
	}
}

func TestServeAfterShutdown(t *testing.T) {
	s := New(testConfig(), zerolog.Nop(), metrics.NewSet(), func(*fasthttp.RequestCtx) {})
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(fasthttputil.NewInmemoryListener()); err != ErrServerClosed {
		t.Fatalf("Serve after Shutdown = %v", err)
	}
	if s.Addr() != nil {
		t.Fatal("Addr before serving is not nil")
	}
}

func TestListenAndServe(t *testing.T) {
	cfg := testConfig()
	cfg.Addr = "127.0.0.1:0"
	r := NewRouter()
	s := New(cfg, zerolog.Nop(), metrics.NewSet(), r.Handler)
	s.RegisterStandard(r, Standard{})
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe() }()
	deadline := time.Now().Add(5 * time.Second)
	for s.Addr() == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s.Addr() == nil {
		t.Fatal("not listening")
	}
	status, _, err := fasthttp.GetTimeout(nil, "http://"+s.Addr().String()+"/healthz", 5*time.Second)
	if err != nil || status != 200 {
		t.Fatalf("healthz over TCP: %d %v", status, err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("ListenAndServe = %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	f := func(field string, mutate func(*Config)) {
		t.Helper()
		c := DefaultConfig()
		mutate(&c)
		err := config.In("server", c.Validate()) // as the tiers' configurations place it
		if err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Fatalf("Validate = %v, want an error naming %s", err, field)
		}
	}
	f("server.addr", func(c *Config) { c.Addr = "nowhere" })
	f("server.name", func(c *Config) { c.Name = "" })
	f("server.read_timeout", func(c *Config) { c.ReadTimeout = 0 })
	f("server.write_timeout", func(c *Config) { c.WriteTimeout = -1 })
	f("server.idle_timeout", func(c *Config) { c.IdleTimeout = 0 })
	f("server.shutdown_timeout", func(c *Config) { c.ShutdownTimeout = 0 })
	f("server.slow_request_threshold", func(c *Config) { c.SlowRequestThreshold = -1 })
	f("server.max_request_body_size", func(c *Config) { c.MaxRequestBodySize = 0 })
	f("server.read_buffer_size", func(c *Config) { c.ReadBufferSize = 100 })
	f("server.concurrency", func(c *Config) { c.Concurrency = 0 })
	f("server.max_conns_per_ip", func(c *Config) { c.MaxConnsPerIP = -1 })
	f("server.drain_delay", func(c *Config) { c.DrainDelay = -1 })
}
