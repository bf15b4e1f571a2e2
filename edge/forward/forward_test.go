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
	"shopedge/internal/config"
	"shopedge/internal/httpserver"
	"shopedge/internal/proctest"
)

// Well-formed ids of the routes' shapes.
const (
	cartA  = "0123456789abcdef0123456789abcdef"
	cartB  = "fedcba9876543210fedcba9876543210"
	order1 = "0123456789abcdef0123456789abcdef0123456789abcdef"
	token1 = "aaaabbbbccccddddeeeeffff00001111"
)

// startCore serves h on 127.0.0.1:0 until the test ends and returns its
// address.
func startCore(t testing.TB, h fasthttp.RequestHandler) string {
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

// testConfig is the default configuration over addrs without per-client
// limits (the tests of limits turn them on).
func testConfig(addrs ...string) Config {
	cfg := DefaultConfig()
	cfg.Addrs = addrs
	cfg.Timeout = 2 * time.Second
	cfg.CheckoutTimeout = 2 * time.Second
	cfg.BreakerOpenFor = 200 * time.Millisecond
	cfg.Limits = LimitsConfig{CacheBytes: 1 << 20}
	return cfg
}

// fw is a Forwarder behind the edge's router, as the edge mounts it.
type fw struct {
	*Forwarder
	handler fasthttp.RequestHandler
	logs    *proctest.SyncBuffer
}

func mustNew(t testing.TB, cfg Config) *fw {
	t.Helper()
	logs := &proctest.SyncBuffer{}
	f, err := New(cfg, zerolog.New(logs), metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	r := httpserver.NewRouter()
	for _, ep := range f.Endpoints() {
		r.Handle(ep.Method, ep.Path, ep.Handler)
	}
	return &fw{Forwarder: f, handler: r.Handler, logs: logs}
}

// from is the client address of requests made with call.
var from = net.IPv4(10, 0, 0, 7)

// call runs one request through the router and the forwarder and returns
// the response. hdr holds name, value pairs.
func call(f *fw, method, uri, body string, hdr ...string) *fasthttp.Response {
	return callFrom(f, from, method, uri, body, hdr...)
}

func callFrom(f *fw, ip net.IP, method, uri, body string, hdr ...string) *fasthttp.Response {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	req.Header.SetHost("shop.example")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if body != "" {
		req.SetBodyString(body)
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, &net.TCPAddr{IP: ip, Port: 4000}, nil)
	f.handler(&ctx)
	resp := new(fasthttp.Response)
	ctx.Response.CopyTo(resp)
	return resp
}

func respCode(t *testing.T, resp *fasthttp.Response) string {
	t.Helper()
	var eb api.ErrorBody
	if err := json.Unmarshal(resp.Body(), &eb); err != nil || eb.Error == nil {
		t.Fatalf("not an error body: %q", resp.Body())
	}
	return eb.Error.Code
}

func checkoutBody(cart string) string {
	return `{"cart_id":"` + cart + `","payment_token":"tok_ok","email":"a@example.com"}`
}

// TestForwardFidelity: the core sees the route rebuilt from its
// parameters, only the query it takes, the body, and the allow-listed
// headers; the client sees the core's status, body and allow-listed
// headers with the edge's own caching and request id.
func TestForwardFidelity(t *testing.T) {
	type seen struct {
		Method, URI, Body, CT, Key, Auth, RID, XFF, Host, Cookie, Accept, XFH string
	}
	addr := startCore(t, func(ctx *fasthttp.RequestCtx) {
		s := seen{
			Method: string(ctx.Method()), URI: string(ctx.RequestURI()), Body: string(ctx.PostBody()),
			CT: string(ctx.Request.Header.ContentType()), Key: string(ctx.Request.Header.Peek("Idempotency-Key")),
			Auth: string(ctx.Request.Header.Peek("Authorization")), RID: string(ctx.Request.Header.Peek("X-Request-ID")),
			XFF: string(ctx.Request.Header.Peek("X-Forwarded-For")), Host: string(ctx.Host()),
			Cookie: string(ctx.Request.Header.Peek("Cookie")), Accept: string(ctx.Request.Header.Peek("Accept")),
			XFH: string(ctx.Request.Header.Peek("X-Forwarded-Host")),
		}
		b, _ := json.Marshal(s)
		ctx.SetStatusCode(201)
		ctx.SetContentType("application/json; charset=utf-8")
		ctx.Response.Header.Set("Location", "http://evil.example/")
		ctx.Response.Header.Set("Cache-Control", "public, max-age=60")
		ctx.Response.Header.Set("Idempotent-Replayed", "true")
		ctx.Response.Header.Set("Set-Cookie", "x=1")
		ctx.Response.Header.Set("X-Request-ID", "core-id")
		ctx.SetBody(b)
	})
	f := mustNew(t, testConfig(addr))
	hdr := []string{"Content-Type", "application/json", "Idempotency-Key", "k-1", "Authorization", "Bearer abc",
		"X-Request-ID", "rid-42", "Cookie", "session=secret", "Accept", "application/json",
		"X-Forwarded-For", "1.2.3.4", "X-Forwarded-Host", "evil.example"}
	for _, c := range []struct {
		method, uri, body string
		want              seen
	}{
		{"POST", "/v1/checkout?token=" + token1 + "&x=1", checkoutBody(cartA),
			seen{Method: "POST", URI: "/v1/checkout", Body: checkoutBody(cartA), CT: "application/json", Key: "k-1"}},
		{"PUT", "/v1/carts/" + cartA + "/items/sku-1.a_b~c?debug=1", `{"quantity":2}`,
			seen{Method: "PUT", URI: "/v1/carts/" + cartA + "/items/sku-1.a_b~c", Body: `{"quantity":2}`, CT: "application/json", Key: "k-1"}},
		{"DELETE", "/v1/carts/" + cartA + "/items/s1", "ignored body",
			seen{Method: "DELETE", URI: "/v1/carts/" + cartA + "/items/s1", Key: "k-1"}},
		{"GET", "/v1/carts/" + cartA, "",
			seen{Method: "GET", URI: "/v1/carts/" + cartA, Key: "k-1"}},
		{"POST", "/v1/carts?x=y", "ignored body", seen{Method: "POST", URI: "/v1/carts", Key: "k-1"}},
		{"GET", "/v1/orders/" + order1 + "?token=" + token1 + "&token=other&admin=1", "",
			seen{Method: "GET", URI: "/v1/orders/" + order1 + "?token=" + token1, Key: "k-1"}},
		{"POST", "/v1/orders/" + order1 + "/cancel?token=" + token1, "",
			seen{Method: "POST", URI: "/v1/orders/" + order1 + "/cancel?token=" + token1, Key: "k-1"}},
	} {
		resp := call(f, c.method, c.uri, c.body, hdr...)
		if resp.StatusCode() != 201 {
			t.Fatalf("%s %s: status %d, body %q", c.method, c.uri, resp.StatusCode(), resp.Body())
		}
		var got seen
		if err := json.Unmarshal(resp.Body(), &got); err != nil {
			t.Fatalf("body %q: %v", resp.Body(), err)
		}
		c.want.Accept, c.want.RID, c.want.XFF, c.want.Host = "application/json", "rid-42", "10.0.0.7", addr
		if got != c.want {
			t.Fatalf("%s %s: core saw %+v\nwant %+v", c.method, c.uri, got, c.want)
		}
		for k, v := range map[string]string{
			"Content-Type": "application/json; charset=utf-8", "Location": "", "Set-Cookie": "",
			"Cache-Control": "no-store", "Idempotent-Replayed": "true", "X-Request-ID": "rid-42",
		} {
			if g := string(resp.Header.Peek(k)); g != v {
				t.Errorf("response %s = %q, want %q", k, g, v)
			}
		}
	}
}

func TestRequestIDCreated(t *testing.T) {
	var coreRID atomic.Value
	addr := startCore(t, func(ctx *fasthttp.RequestCtx) {
		coreRID.Store(string(ctx.Request.Header.Peek("X-Request-ID")))
		ctx.SetStatusCode(204)
	})
	f := mustNew(t, testConfig(addr))
	for _, in := range []string{"", "bad id with spaces", strings.Repeat("x", 200), "4111-1111-1111-1111"} {
		resp := call(f, "GET", "/v1/carts/"+cartA, "", "X-Request-ID", in)
		rid := string(resp.Header.Peek("X-Request-ID"))
		if len(rid) != 32 || rid == in {
			t.Fatalf("in %q: response request id %q, want a new 32-hex id", in, rid)
		}
		if got := coreRID.Load().(string); got != rid {
			t.Fatalf("core saw request id %q, client got %q", got, rid)
		}
	}
}

// TestMalformedParametersNeverReachTheCore: path parameters and tokens of
// the wrong shape are answered by the edge as the core would answer them.
func TestMalformedParametersNeverReachTheCore(t *testing.T) {
	var hits atomic.Int32
	addr := startCore(t, func(ctx *fasthttp.RequestCtx) { hits.Add(1) })
	f := mustNew(t, testConfig(addr))
	for _, c := range []struct {
		method, uri string
		status      int
	}{
		{"GET", "/v1/carts/not-a-cart", 404},
		{"GET", "/v1/carts/" + strings.ToUpper(cartA), 404},
		{"GET", "/v1/carts/..%2f..%2finternal%2fv1%2fchanges", 404},
		{"PUT", "/v1/carts/" + cartA + "/items/..", 400},
		{"PUT", "/v1/carts/" + cartA + "/items/a%2fb", 400},
		{"PUT", "/v1/carts/" + cartA + "/items/.hidden", 400},
		{"DELETE", "/v1/carts/" + cartA + "/items/" + strings.Repeat("s", 129), 400},
		{"GET", "/v1/orders/" + order1, 404},
		{"GET", "/v1/orders/" + order1 + "?token=short", 404},
		{"GET", "/v1/orders/" + order1 + "?token=" + strings.ToUpper(token1), 404},
		{"POST", "/v1/orders/" + order1[:47] + "/cancel?token=" + token1, 404},
		{"POST", "/v1/checkout", 400}, // Idempotency-Key too long, below
	} {
		hdr := []string{}
		if c.uri == "/v1/checkout" {
			hdr = append(hdr, "Idempotency-Key", strings.Repeat("k", 256))
		}
		if resp := call(f, c.method, c.uri, `{"quantity":1}`, hdr...); resp.StatusCode() != c.status {
			t.Fatalf("%s %s: status %d, want %d (%s)", c.method, c.uri, resp.StatusCode(), c.status, resp.Body())
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the core saw %d malformed requests", n)
	}
}

// dropFirstCore accepts connections, reads each request and closes the
// connection without answering the first request it ever sees; later
// requests get 200. It returns its address and the count of requests read.
func dropFirstCore(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	return dropCore(t, 1)
}

// dropCore is dropFirstCore dropping the first drop requests.
func dropCore(t *testing.T, drop int32) (string, *atomic.Int32) {
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
					if n.Add(1) <= drop {
						return // drop the connection: the answer never comes
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

// writes are the forwarded writes, one per route, for the retry tests.
var writes = []struct{ method, uri, body string }{
	{"POST", "/v1/carts", ""},
	{"PUT", "/v1/carts/" + cartA + "/items/s1", `{"quantity":1}`},
	{"DELETE", "/v1/carts/" + cartA + "/items/s1", ""},
	{"POST", "/v1/checkout", checkoutBody(cartA)},
	{"POST", "/v1/orders/" + order1 + "/cancel?token=" + token1, ""},
}

func TestRetryOnlyWithIdempotencyKey(t *testing.T) {
	f := func(method, uri, body, key string, wantAttempts int32, wantStatus int) {
		t.Helper()
		addr, attempts := dropFirstCore(t)
		fw := mustNew(t, testConfig(addr))
		hdr := []string{"Content-Type", "application/json"}
		if key != "" {
			hdr = append(hdr, "Idempotency-Key", key)
		}
		resp := call(fw, method, uri, body, hdr...)
		if got := attempts.Load(); got != wantAttempts {
			t.Fatalf("%s %s key=%q: core saw %d attempts, want %d", method, uri, key, got, wantAttempts)
		}
		if resp.StatusCode() != wantStatus {
			t.Fatalf("%s %s key=%q: status %d, want %d (%s)", method, uri, key, resp.StatusCode(), wantStatus, resp.Body())
		}
		if wantStatus == 503 && string(resp.Header.Peek("Retry-After")) == "" {
			t.Fatalf("%s %s: 503 without Retry-After", method, uri)
		}
	}
	for _, w := range writes {
		f(w.method, w.uri, w.body, "", 1, 503)
		f(w.method, w.uri, w.body, "key-1", 2, 200)
	}
	f("GET", "/v1/carts/"+cartA, "", "", 2, 200)
}

// TestKeylessWriteNotRetriedOnSecondCore is the two-core version of
// TestRetryOnlyWithIdempotencyKey (issue 13): the first core reads a
// keyless write and drops the connection, so whether it was applied is
// unknown. The edge must answer 503 and not send it to the second core,
// which would apply it a second time (a second cart, a second cancel);
// with an Idempotency-Key, and for a read, the second core may take it.
// With one core only, a forwarder that moved on to the next core for
// every write would pass the one-core test; this one fails then.
func TestKeylessWriteNotRetriedOnSecondCore(t *testing.T) {
	for _, w := range writes {
		for _, key := range []string{"", "key-2"} {
			a, aSeen := dropCore(t, 1<<30) // drops every request
			b, bSeen := dropCore(t, 0)     // answers every request
			cfg := testConfig(a, b)
			cfg.MaxAttempts = 1 // no retry on the same core: the question is the second core
			f := mustNew(t, cfg)
			f.next.Store(uint32(len(f.backends) - 1)) // start with a
			hdr := []string{"Content-Type", "application/json"}
			if key != "" {
				hdr = append(hdr, "Idempotency-Key", key)
			}
			resp := call(f, w.method, w.uri, w.body, hdr...)
			if aSeen.Load() != 1 {
				t.Fatalf("%s %s: the first core saw %d requests", w.method, w.uri, aSeen.Load())
			}
			switch {
			case key == "" && (resp.StatusCode() != 503 || bSeen.Load() != 0):
				t.Fatalf("%s %s without a key: status %d, second core saw %d (the write may run twice)", w.method, w.uri, resp.StatusCode(), bSeen.Load())
			case key != "" && (resp.StatusCode() != 200 || bSeen.Load() != 1):
				t.Fatalf("%s %s with a key: status %d, second core saw %d", w.method, w.uri, resp.StatusCode(), bSeen.Load())
			}
		}
	}
}

func TestFailoverToLiveCore(t *testing.T) {
	var hits atomic.Int32
	live := startCore(t, func(ctx *fasthttp.RequestCtx) { hits.Add(1); ctx.SetStatusCode(201) })
	f := mustNew(t, testConfig(deadAddr(t), live))
	for i := 0; i < 6; i++ {
		// A dial failure never sent the request, so even a keyless POST
		// moves on to the next core.
		if resp := call(f, "POST", "/v1/carts", "", ""); resp.StatusCode() != 201 {
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
			api.WriteError(ctx, api.Errorf(api.ECodeUnavailable, "overloaded"))
			return
		}
		ctx.SetStatusCode(200)
	})
	cfg := testConfig(addr)
	cfg.BreakerFailures = 3
	f := mustNew(t, cfg)
	for i := 0; i < 3; i++ {
		if resp := call(f, "POST", "/v1/carts", ""); resp.StatusCode() != 503 {
			t.Fatalf("status %d", resp.StatusCode())
		}
	}
	if hits.Load() != 3 {
		t.Fatalf("core saw %d requests, want 3", hits.Load())
	}
	// Open: answered at the edge, the core sees nothing.
	for i := 0; i < 5; i++ {
		resp := call(f, "POST", "/v1/carts", "")
		if resp.StatusCode() != 503 || string(resp.Header.Peek("Retry-After")) == "" || respCode(t, resp) != api.ECodeUnavailable {
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
		if resp := call(f, "POST", "/v1/carts", ""); resp.StatusCode() != 200 {
			t.Fatalf("after probe: status %d (%s)", resp.StatusCode(), resp.Body())
		}
	}
	if hits.Load() != 6 {
		t.Fatalf("core saw %d requests, want 6", hits.Load())
	}
}

// TestOnlyAnUnhealthyCoreOpensTheBreaker (issue 13): a client that makes a
// healthy core answer 503 payment_unknown, 409, 402, 500 or
// refund_pending, or whose checkouts time out waiting for the payment
// gateway, never pauses other clients' writes; a core's own overload
// (503 unavailable, or fasthttp's plain-text 503) and cart-route timeouts
// do open the breaker. Counting every 502-504 as the old forwarder did
// fails the first half.
func TestOnlyAnUnhealthyCoreOpensTheBreaker(t *testing.T) {
	answer := func(code string) fasthttp.RequestHandler {
		return func(ctx *fasthttp.RequestCtx) {
			if string(ctx.Path()) == "/v1/carts" {
				ctx.SetStatusCode(201)
				return
			}
			switch code {
			case "plain503":
				ctx.Error("The connection cannot be served because Server.Concurrency limit exceeded", 503)
			case "slow":
				time.Sleep(300 * time.Millisecond)
				ctx.SetStatusCode(201)
			default:
				api.WriteError(ctx, api.Errorf(code, "no"))
			}
		}
	}
	const failures = 3
	attack := func(code, method, uri, body string) (stillOpen bool) {
		t.Helper()
		cfg := testConfig(startCore(t, answer(code)))
		cfg.BreakerFailures = failures
		cfg.Timeout, cfg.CheckoutTimeout = 100*time.Millisecond, 100*time.Millisecond
		cfg.BreakerOpenFor = time.Minute
		f := mustNew(t, cfg)
		for i := 0; i < 3*failures; i++ {
			call(f, method, uri, body, "Idempotency-Key", "k")
		}
		return call(f, "POST", "/v1/carts", "").StatusCode() != 201
	}
	for _, code := range []string{api.ECodePaymentUnknown, api.ECodeConflict, api.ECodeOutOfStock, api.ECodePaymentDeclined,
		api.ECodeInternal, api.ECodeRefundPending, api.ECodeInFlight, api.ECodeNotFound, api.ECodeTimeout, "slow"} {
		if attack(code, "POST", "/v1/checkout", checkoutBody(cartA)) {
			t.Errorf("checkouts answered %s opened the breaker: other clients' writes are paused", code)
		}
	}
	if attack("slow", "POST", "/v1/orders/"+order1+"/cancel?token="+token1, "") {
		t.Error("cancels that time out on the payment gateway opened the breaker")
	}
	for _, code := range []string{api.ECodeUnavailable, "plain503"} {
		if !attack(code, "POST", "/v1/checkout", checkoutBody(cartA)) {
			t.Errorf("a core answering %s did not open the breaker", code)
		}
	}
	if !attack("slow", "GET", "/v1/carts/"+cartA, "") {
		t.Error("a core timing out on cart reads did not open the breaker")
	}
}

func TestUnreachableCoreFailsFast(t *testing.T) {
	f := mustNew(t, testConfig(deadAddr(t)))
	for i := 0; i < 8; i++ {
		resp := call(f, "POST", "/v1/checkout", checkoutBody(cartA), "Idempotency-Key", "k")
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
			codes[i] = call(f, "GET", "/v1/carts/"+cartA, "").StatusCode()
		}()
	}
	entered.Wait()
	resp := call(f, "GET", "/v1/carts/"+cartA, "")
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
	cfg.CheckoutTimeout = 300 * time.Millisecond
	f := mustNew(t, cfg)
	for _, c := range []struct {
		method, uri, body string
		bound             time.Duration
	}{
		{"GET", "/v1/carts/" + cartA, "", cfg.Timeout},
		{"POST", "/v1/checkout", checkoutBody(cartA), cfg.CheckoutTimeout},
	} {
		start := time.Now()
		resp := call(f, c.method, c.uri, c.body, "Idempotency-Key", "k")
		if resp.StatusCode() != 504 || respCode(t, resp) != api.ECodeTimeout {
			t.Fatalf("%s: status %d body %s", c.uri, resp.StatusCode(), resp.Body())
		}
		if el := time.Since(start); el < c.bound || el > c.bound+2*time.Second {
			t.Fatalf("%s: answered after %s, bound %s", c.uri, el, c.bound)
		}
	}
}

// TestCheckoutTimeoutFollowsTheCore: when the core announces a longest
// checkout beyond forward.checkout_timeout, the edge waits for the core
// (announced + margin) instead of answering 504 while the core is still
// charging, and logs an error naming the setting once.
func TestCheckoutTimeoutFollowsTheCore(t *testing.T) {
	addr := startCore(t, func(ctx *fasthttp.RequestCtx) {
		time.Sleep(400 * time.Millisecond) // a slow payment gateway
		ctx.SetStatusCode(201)
	})
	cfg := testConfig(addr)
	cfg.Timeout, cfg.CheckoutTimeout, cfg.CheckoutMargin = 100*time.Millisecond, 200*time.Millisecond, 100*time.Millisecond
	var announced atomic.Int64
	cfg.CoreCheckoutMax = func() time.Duration { return time.Duration(announced.Load()) }
	f := mustNew(t, cfg)
	if resp := call(f, "POST", "/v1/checkout", checkoutBody(cartA), "Idempotency-Key", "k"); resp.StatusCode() != 504 {
		t.Fatalf("before any announcement: %d", resp.StatusCode())
	}
	announced.Store(int64(800 * time.Millisecond))
	for i := 0; i < 3; i++ {
		if resp := call(f, "POST", "/v1/checkout", checkoutBody(cartA), "Idempotency-Key", "k"); resp.StatusCode() != 201 {
			t.Fatalf("after the announcement: %d %s", resp.StatusCode(), resp.Body())
		}
	}
	if got := f.CheckoutTimeout(); got != 900*time.Millisecond {
		t.Fatalf("CheckoutTimeout = %s", got)
	}
	if n := strings.Count(f.logs.String(), "forward.checkout_timeout must exceed"); n != 1 {
		t.Fatalf("%d error lines:\n%s", n, f.logs.String())
	}
}

func TestBodyTooLarge(t *testing.T) {
	var hits atomic.Int32
	addr := startCore(t, func(ctx *fasthttp.RequestCtx) { hits.Add(1) })
	cfg := testConfig(addr)
	cfg.MaxBodySize = 16
	f := mustNew(t, cfg)
	resp := call(f, "POST", "/v1/checkout", strings.Repeat("a", 17))
	if resp.StatusCode() != 413 || hits.Load() != 0 {
		t.Fatalf("status %d, core hits %d", resp.StatusCode(), hits.Load())
	}
}

func TestConfigValidate(t *testing.T) {
	f := func(mod func(*Config), field string) {
		t.Helper()
		c := DefaultConfig()
		mod(&c)
		err := config.In("forward", config.Validate(&c)) // as the edge's configuration places it
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
	f(func(c *Config) { c.CheckoutTimeout = time.Second }, "forward.checkout_timeout")
	f(func(c *Config) { c.CheckoutMargin = -1 }, "forward.checkout_margin")
	f(func(c *Config) { c.MaxInFlight = 0 }, "forward.max_in_flight")
	f(func(c *Config) { c.MaxAttempts = 0 }, "forward.max_attempts")
	f(func(c *Config) { c.RetryAfter = 0 }, "forward.retry_after")
	f(func(c *Config) { c.BreakerFailures = 0 }, "forward.breaker_failures")
	f(func(c *Config) { c.Limits.ClientRate = -1 }, "forward.limits.client_rate")
	f(func(c *Config) { c.Limits.ClientBurst = 0 }, "forward.limits.client_burst")
	f(func(c *Config) { c.Limits.CartBurst = 0 }, "forward.limits.cart_burst")
	f(func(c *Config) { c.Limits.Window = 0 }, "forward.limits.window")
	f(func(c *Config) { c.Limits.CacheBytes = 1 }, "forward.limits.cache_bytes")
	f(func(c *Config) { c.Limits.ClientHeader = "X Client" }, "forward.limits.client_header")
	f(func(c *Config) { c.Limits = LimitsConfig{CacheBytes: 1 << 20} }, "")
}

// TestCardDataRejected (issue 13): card numbers in any value the edge
// forwards or logs, in any of the encodings that passed before (JSON
// escapes, separators, a percent-encoded or '+'-joined query, a path
// segment), are refused by the edge; the core never sees them.
func TestCardDataRejected(t *testing.T) {
	var hits atomic.Int32
	addr := startCore(t, func(ctx *fasthttp.RequestCtx) { hits.Add(1) })
	f := mustNew(t, testConfig(addr))
	for _, tc := range []struct{ method, uri, body, key string }{
		{"POST", "/v1/checkout", `{"cart_id":"c","payment_token":"4111 1111 1111 1111"}`, "k"},
		{"POST", "/v1/checkout", `{"email":"\u0034111111111111111@example.com"}`, "k"},
		{"POST", "/v1/checkout", `{"email":"41\u00311.1111.1111.1111@example.com"}`, "k"},
		{"POST", "/v1/checkout", `{"payment_token":"4111_1111_1111_1111"}`, "k"},
		{"POST", "/v1/checkout", `{"payment_token":"4111+1111+1111+1111"}`, "k"},
		{"POST", "/v1/checkout", `{"payment_token":"４１１１１１１１１１１１１１１１"}`, "k"},
		{"POST", "/v1/checkout", `{"payment_token":4111111111111111}`, "k"},
		{"POST", "/v1/checkout?card=4111111111111111", `{}`, "k"},
		{"POST", "/v1/checkout?card=4111%201111%201111%201111", `{}`, "k"},
		{"POST", "/v1/checkout?card=4111+1111+1111+1111", `{}`, "k"},
		{"POST", "/v1/checkout?c=%34%31%31%31%31%31%31%31%31%31%31%31%31%31%31%31", `{}`, "k"},
		{"GET", "/v1/orders/" + order1 + "?token=" + token1 + "&x=5555.5555.5555.4444", ``, ""},
		{"PUT", "/v1/carts/" + cartA + "/items/4111111111111111", `{"quantity":1}`, ""},
		{"PUT", "/v1/carts/" + cartA + "/items/4111-1111-1111-1111", `{"quantity":1}`, ""},
		{"PUT", "/v1/carts/" + cartA + "/items/4111.1111.1111.1111", `{"quantity":1}`, ""},
		{"PUT", "/v1/carts/" + cartA + "/items/s", `{"quantity":1,"note":"4111-1111-1111-1111"}`, ""},
		{"POST", "/v1/checkout", checkoutBody(cartA), "4111111111111111"},
	} {
		hdr := []string{}
		if tc.key != "" {
			hdr = append(hdr, "Idempotency-Key", tc.key)
		}
		resp := call(f, tc.method, tc.uri, tc.body, hdr...)
		if resp.StatusCode() != 400 || respCode(t, resp) != api.ECodeCardData {
			t.Fatalf("%s %s %s: status %d body %s", tc.method, tc.uri, tc.body, resp.StatusCode(), resp.Body())
		}
		if strings.Contains(string(resp.Body()), "4111") {
			t.Fatalf("the answer echoes the number: %s", resp.Body())
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("core saw %d requests carrying card data", hits.Load())
	}
	if resp := call(f, "POST", "/v1/checkout", checkoutBody(cartA)); resp.StatusCode() != 200 {
		t.Fatalf("clean request: status %d", resp.StatusCode())
	}
	if strings.Contains(f.logs.String(), "4111") {
		t.Fatalf("logged: %s", f.logs.String())
	}
}

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
