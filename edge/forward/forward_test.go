package forward

import (
	"bufio"
	"net"
	"strings"
	"sync"
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

// startCore serves h on 127.0.0.1:0 until the test ends and returns its
// address.
func startCore(t *testing.T, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fasthttp.Server{Handler: h}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Shutdown() })
	return ln.Addr().String()
}

// deadAddr returns a 127.0.0.1 address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func testConfig(addrs ...string) Config {
	cfg := DefaultConfig()
	cfg.Addrs = addrs
	cfg.Timeout = 2 * time.Second
	cfg.BreakerOpenFor = 200 * time.Millisecond
	return cfg
}

func mustNew(t *testing.T, cfg Config) *Forwarder {
	t.Helper()
	f, err := New(cfg, zerolog.Nop(), metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// call runs one request through f.Handle and returns the response.
func call(f *Forwarder, method, uri, body string, hdr map[string]string) *fasthttp.Response {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	req.Header.SetHost("shop.example")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if body != "" {
		req.SetBodyString(body)
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 7), Port: 4000}, nil)
	f.Handle(&ctx)
	resp := new(fasthttp.Response)
	ctx.Response.CopyTo(resp)
	return resp
}

func errorCode(t *testing.T, resp *fasthttp.Response) string {
	t.Helper()
	var eb api.ErrorBody
	if err := json.Unmarshal(resp.Body(), &eb); err != nil || eb.Error == nil {
		t.Fatalf("not an error body: %q", resp.Body())
	}
	return eb.Error.Code
}

func TestForwardFidelity(t *testing.T) {
	type seen struct {
		Method, Path, Query, Body, CT, Key, Auth, RID, XFF, Host, Cookie string
	}
	addr := startCore(t, func(ctx *fasthttp.RequestCtx) {
		s := seen{
			Method: string(ctx.Method()), Path: string(ctx.Path()),
			Query: string(ctx.QueryArgs().QueryString()), Body: string(ctx.PostBody()),
			CT: string(ctx.Request.Header.ContentType()), Key: string(ctx.Request.Header.Peek("Idempotency-Key")),
			Auth: string(ctx.Request.Header.Peek("Authorization")), RID: string(ctx.Request.Header.Peek("X-Request-ID")),
			XFF: string(ctx.Request.Header.Peek("X-Forwarded-For")), Host: string(ctx.Host()),
			Cookie: string(ctx.Request.Header.Peek("Cookie")),
		}
		b, _ := json.Marshal(s)
		ctx.SetStatusCode(201)
		ctx.SetContentType("application/json; charset=utf-8")
		ctx.Response.Header.Set("Location", "/v1/orders/abc")
		ctx.Response.Header.Set("Cache-Control", "public, max-age=60")
		ctx.Response.Header.Set("X-Idempotent-Replayed", "true")
		ctx.Response.Header.Set("X-Request-ID", s.RID) // the core echoes it
		ctx.SetBody(b)
	})
	f := mustNew(t, testConfig(addr))
	resp := call(f, "POST", "/v1/checkout?token=t0k&x=1", `{"cart_id":"c1"}`, map[string]string{
		"Content-Type": "application/json", "Idempotency-Key": "k-1", "Authorization": "Bearer abc",
		"X-Request-ID": "rid-42", "Cookie": "session=secret",
	})
	if resp.StatusCode() != 201 {
		t.Fatalf("status %d, body %q", resp.StatusCode(), resp.Body())
	}
	var got seen
	if err := json.Unmarshal(resp.Body(), &got); err != nil {
		t.Fatalf("body %q: %v", resp.Body(), err)
	}
	want := seen{Method: "POST", Path: "/v1/checkout", Query: "token=t0k&x=1", Body: `{"cart_id":"c1"}`,
		CT: "application/json", Key: "k-1", Auth: "Bearer abc", RID: "rid-42", XFF: "10.0.0.7", Host: addr}
	if got != want {
		t.Fatalf("core saw %+v\nwant %+v", got, want)
	}
	for k, v := range map[string]string{
		"Content-Type": "application/json; charset=utf-8", "Location": "/v1/orders/abc",
		"Cache-Control": "no-store", "X-Idempotent-Replayed": "true", "X-Request-ID": "rid-42",
	} {
		if g := string(resp.Header.Peek(k)); g != v {
			t.Errorf("response %s = %q, want %q", k, g, v)
		}
	}
	// The core's echo of the request id is not added to the edge's own.
	n := 0
	for k := range resp.Header.All() {
		if strings.EqualFold(string(k), "X-Request-ID") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("response carries %d X-Request-ID headers, want 1", n)
	}
}

func TestRequestIDCreated(t *testing.T) {
	var coreRID atomic.Value
	addr := startCore(t, func(ctx *fasthttp.RequestCtx) {
		coreRID.Store(string(ctx.Request.Header.Peek("X-Request-ID")))
		ctx.SetStatusCode(204)
	})
	f := mustNew(t, testConfig(addr))
	for _, in := range []string{"", "bad id with spaces", strings.Repeat("x", 200)} {
		resp := call(f, "GET", "/v1/carts/c1", "", map[string]string{"X-Request-ID": in})
		rid := string(resp.Header.Peek("X-Request-ID"))
		if len(rid) != 32 || rid == in {
			t.Fatalf("in %q: response request id %q, want a new 32-hex id", in, rid)
		}
		if got := coreRID.Load().(string); got != rid {
			t.Fatalf("core saw request id %q, client got %q", got, rid)
		}
	}
}

// dropFirstCore accepts connections, reads each request and closes the
// connection without answering the first request it ever sees; later
// requests get 200. It returns its address and the count of requests read.
func dropFirstCore(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				br, bw := bufio.NewReader(c), bufio.NewWriter(c)
				for {
					var req fasthttp.Request
					if err := req.Read(br); err != nil {
						return
					}
					if n.Add(1) == 1 {
						return // drop the connection: the first answer never comes
					}
					var resp fasthttp.Response
					resp.SetStatusCode(200)
					resp.SetBodyString(`{"ok":true}`)
					if resp.Write(bw) != nil || bw.Flush() != nil {
						return
					}
				}
			}(c)
		}
	}()
	return ln.Addr().String(), &n
}

func TestRetryOnlyWithIdempotencyKey(t *testing.T) {
	f := func(method string, key string, wantAttempts int32, wantStatus int) {
		t.Helper()
		addr, attempts := dropFirstCore(t)
		fw := mustNew(t, testConfig(addr))
		hdr := map[string]string{"Content-Type": "application/json"}
		if key != "" {
			hdr["Idempotency-Key"] = key
		}
		resp := call(fw, method, "/v1/checkout", `{"cart_id":"c"}`, hdr)
		if got := attempts.Load(); got != wantAttempts {
			t.Fatalf("%s key=%q: core saw %d attempts, want %d", method, key, got, wantAttempts)
		}
		if resp.StatusCode() != wantStatus {
			t.Fatalf("%s key=%q: status %d, want %d (%s)", method, key, resp.StatusCode(), wantStatus, resp.Body())
		}
	}
	f("POST", "", 1, 503)
	f("PUT", "", 1, 503)
	f("DELETE", "", 1, 503)
	f("POST", "key-1", 2, 200)
	f("PUT", "key-2", 2, 200)
	f("GET", "", 2, 200)
}

func TestFailoverToLiveCore(t *testing.T) {
	var hits atomic.Int32
	live := startCore(t, func(ctx *fasthttp.RequestCtx) { hits.Add(1); ctx.SetStatusCode(201) })
	f := mustNew(t, testConfig(deadAddr(t), live))
	for i := 0; i < 6; i++ {
		// A dial failure never sent the request, so even a keyless POST
		// moves on to the next core.
		if resp := call(f, "POST", "/v1/carts", "", nil); resp.StatusCode() != 201 {
			t.Fatalf("request %d: status %d (%s)", i, resp.StatusCode(), resp.Body())
		}
	}
	if hits.Load() != 6 {
		t.Fatalf("live core saw %d requests, want 6", hits.Load())
	}
}

func TestBreakerOpensAndProbes(t *testing.T) {
	var hits, healthy atomic.Int32
	addr := startCore(t, func(ctx *fasthttp.RequestCtx) {
		hits.Add(1)
		if healthy.Load() == 0 {
			ctx.SetStatusCode(503)
			return
		}
		ctx.SetStatusCode(200)
	})
	cfg := testConfig(addr)
	cfg.BreakerFailures = 3
	f := mustNew(t, cfg)
	for i := 0; i < 3; i++ {
		if resp := call(f, "POST", "/v1/carts", "", nil); resp.StatusCode() != 503 {
			t.Fatalf("status %d", resp.StatusCode())
		}
	}
	if hits.Load() != 3 {
		t.Fatalf("core saw %d requests, want 3", hits.Load())
	}
	// Open: answered at the edge, the core sees nothing.
	for i := 0; i < 5; i++ {
		resp := call(f, "POST", "/v1/carts", "", nil)
		if resp.StatusCode() != 503 || string(resp.Header.Peek("Retry-After")) == "" || errorCode(t, resp) != api.ECodeUnavailable {
			t.Fatalf("open breaker: status %d retry-after %q body %s", resp.StatusCode(), resp.Header.Peek("Retry-After"), resp.Body())
		}
	}
	if hits.Load() != 3 {
		t.Fatalf("open breaker let %d requests through", hits.Load()-3)
	}
	// Half-open after BreakerOpenFor: one probe reaches the healthy core and
	// closes the breaker.
	healthy.Store(1)
	time.Sleep(cfg.BreakerOpenFor + 50*time.Millisecond)
	for i := 0; i < 3; i++ {
		if resp := call(f, "POST", "/v1/carts", "", nil); resp.StatusCode() != 200 {
			t.Fatalf("after probe: status %d (%s)", resp.StatusCode(), resp.Body())
		}
	}
	if hits.Load() != 6 {
		t.Fatalf("core saw %d requests, want 6", hits.Load())
	}
}

func TestUnreachableCoreFailsFast(t *testing.T) {
	f := mustNew(t, testConfig(deadAddr(t)))
	for i := 0; i < 8; i++ {
		resp := call(f, "POST", "/v1/checkout", "{}", map[string]string{"Idempotency-Key": "k"})
		if resp.StatusCode() != 503 || string(resp.Header.Peek("Retry-After")) != "1" {
			t.Fatalf("status %d retry-after %q", resp.StatusCode(), resp.Header.Peek("Retry-After"))
		}
		if string(resp.Header.Peek("Cache-Control")) != "no-store" {
			t.Fatalf("Cache-Control %q", resp.Header.Peek("Cache-Control"))
		}
	}
}

func TestInFlightLimit(t *testing.T) {
	release := make(chan struct{})
	var entered sync.WaitGroup
	entered.Add(2)
	addr := startCore(t, func(ctx *fasthttp.RequestCtx) {
		entered.Done()
		<-release
		ctx.SetStatusCode(200)
	})
	cfg := testConfig(addr)
	cfg.MaxInFlight = 2
	f := mustNew(t, cfg)
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = call(f, "GET", "/v1/carts/x", "", nil).StatusCode()
		}()
	}
	entered.Wait()
	resp := call(f, "GET", "/v1/carts/x", "", nil)
	close(release)
	wg.Wait()
	if resp.StatusCode() != 503 || string(resp.Header.Peek("Retry-After")) != "1" {
		t.Fatalf("third request: status %d retry-after %q", resp.StatusCode(), resp.Header.Peek("Retry-After"))
	}
	if codes[0] != 200 || codes[1] != 200 {
		t.Fatalf("in-limit requests: %v", codes)
	}
	if f.InFlight() != 0 {
		t.Fatalf("in flight %d after all returned", f.InFlight())
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	addr := startCore(t, func(ctx *fasthttp.RequestCtx) {
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
	})
	cfg := testConfig(addr)
	cfg.Timeout = 150 * time.Millisecond
	f := mustNew(t, cfg)
	start := time.Now()
	resp := call(f, "POST", "/v1/checkout", "{}", map[string]string{"Idempotency-Key": "k"})
	if resp.StatusCode() != 504 || errorCode(t, resp) != api.ECodeTimeout {
		t.Fatalf("status %d body %s", resp.StatusCode(), resp.Body())
	}
	if el := time.Since(start); el > 4*time.Second {
		t.Fatalf("took %s: the core's answer was awaited", el)
	}
}

func TestBodyTooLarge(t *testing.T) {
	var hits atomic.Int32
	addr := startCore(t, func(ctx *fasthttp.RequestCtx) { hits.Add(1) })
	cfg := testConfig(addr)
	cfg.MaxBodySize = 16
	f := mustNew(t, cfg)
	resp := call(f, "POST", "/v1/checkout", strings.Repeat("a", 17), nil)
	if resp.StatusCode() != 413 || hits.Load() != 0 {
		t.Fatalf("status %d, core hits %d", resp.StatusCode(), hits.Load())
	}
}

func TestConfigValidate(t *testing.T) {
	f := func(mod func(*Config), field string) {
		t.Helper()
		c := DefaultConfig()
		mod(&c)
		err := c.Validate()
		if field == "" {
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Fatalf("error %v, want one naming %s", err, field)
		}
	}
	f(func(*Config) {}, "")
	f(func(c *Config) { c.Addrs = nil }, "forward.addrs")
	f(func(c *Config) { c.Addrs = []string{"a:1", "a:1"} }, "forward.addrs[1]")
	f(func(c *Config) { c.Timeout = 0 }, "forward.timeout")
	f(func(c *Config) { c.MaxInFlight = 0 }, "forward.max_in_flight")
	f(func(c *Config) { c.MaxAttempts = 0 }, "forward.max_attempts")
	f(func(c *Config) { c.RetryAfter = 0 }, "forward.retry_after")
	f(func(c *Config) { c.BreakerFailures = 0 }, "forward.breaker_failures")
}

func TestCardDataRejected(t *testing.T) {
	var hits atomic.Int32
	addr := startCore(t, func(ctx *fasthttp.RequestCtx) { hits.Add(1) })
	f := mustNew(t, testConfig(addr))
	for _, tc := range []struct{ uri, body string }{
		{"/v1/checkout", `{"cart_id":"c","payment_token":"4111 1111 1111 1111"}`},
		{"/v1/checkout?card=4111111111111111", `{}`},
	} {
		resp := call(f, "POST", tc.uri, tc.body, map[string]string{"Idempotency-Key": "k"})
		if resp.StatusCode() != 400 || errorCode(t, resp) != api.ECodeCardData {
			t.Fatalf("%s %s: status %d body %s", tc.uri, tc.body, resp.StatusCode(), resp.Body())
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("core saw %d requests carrying card data", hits.Load())
	}
	if resp := call(f, "POST", "/v1/checkout", `{"payment_token":"tok_ok"}`, nil); resp.StatusCode() != 200 {
		t.Fatalf("clean request: status %d", resp.StatusCode())
	}
}

func nopLogger() zerolog.Logger { return zerolog.Nop() }

func newSet() *metrics.Set { return metrics.NewSet() }

// TestCreatedRequestIDsNeverLookLikeCards: the ids the forwarder sends to
// the core when the client sent none never trip the core's card screen.
func TestCreatedRequestIDsNeverLookLikeCards(t *testing.T) {
	for i := 0; i < 5000; i++ {
		var ctx fasthttp.RequestCtx
		if id := httpserver.RequestID(&ctx); len(id) != 32 || api.ContainsCardNumber(id) {
			t.Fatalf("request id %q", id)
		}
	}
}
