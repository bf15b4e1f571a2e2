package stripegw

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"shopedge/core/api"
	"shopedge/core/payment"
	"shopedge/internal/proctest"
)

// bins builds stripe-mock (pinned as a tool in go.mod) once per test run.
var bins = proctest.NewBuilder("github.com/stripe/stripe-mock")

func TestMain(m *testing.M) {
	code := m.Run()
	bins.Remove()
	os.Exit(code)
}

// startStripeMock starts stripe-mock on free loopback ports (HTTP and the
// HTTPS it opens by default) and returns its HTTP base URL.
func startStripeMock(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts stripe-mock")
	}
	cmd := exec.Command(bins.Path(t, "stripe-mock"), "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "Listening for HTTP at address: "); ok {
				addr <- a
			}
		}
	}()
	select {
	case a := <-addr:
		return "http://" + a
	case <-time.After(60 * time.Second):
		t.Fatal("stripe-mock did not listen within 60s")
	}
	return ""
}

// recorded is one request the adapter sent and the status it got.
type recorded struct {
	method, path string
	form         url.Values
	header       http.Header
	status       int
}

// recorder is an http.RoundTripper that keeps every request and status.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	form, _ := url.ParseQuery(string(body))
	if req.Method == "GET" {
		form = req.URL.Query()
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	rec := recorded{method: req.Method, path: req.URL.Path, form: form, header: req.Header.Clone()}
	if err == nil {
		rec.status = resp.StatusCode
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, rec)
	r.mu.Unlock()
	return resp, err
}

func (r *recorder) take() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

func newMockGateway(t *testing.T, base string) (*Gateway, *recorder) {
	t.Helper()
	rec := &recorder{}
	cfg := DefaultConfig()
	cfg.URL, cfg.SecretKey, cfg.Transport = base, "sk_test_shopedge", rec
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g, rec
}

// wantForm fails unless every field of want has that value in got.
func wantForm(t *testing.T, what string, got url.Values, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if g := got.Get(k); g != v {
			t.Errorf("%s: form %s = %q, want %q (form %v)", what, k, g, v, got)
		}
	}
}

// TestStripeMockRequestShapes sends the adapter's Charge, Lookup (search,
// fence, cancel) and Refund to stripe-mock, which validates every request
// against Stripe's OpenAPI specification and answers 400 to an unknown
// parameter, a wrong type or a missing required one. It proves the shapes
// (paths, parameters, headers) are ones Stripe accepts; stripe-mock keeps
// no state and answers fixtures, so the outcomes are tested against testpay
// instead. Seen failing: with an extra parameter "confirmed" stripe-mock
// answered 400 and the status check below failed.
func TestStripeMockRequestShapes(t *testing.T) {
	g, rec := newMockGateway(t, startStripeMock(t))
	ctx := context.Background()
	req := payment.ChargeRequest{Key: "att-o1-1", Token: "tok_visa", Amount: api.Money{Amount: 1999, Currency: "USD"}, OrderID: "o1"}

	_, _ = g.Charge(ctx, req) // the fixture's status is not this charge's
	reqs := rec.take()
	if len(reqs) != 1 || reqs[0].method != "POST" || reqs[0].path != "/v1/payment_intents" || reqs[0].status != 200 {
		t.Fatalf("charge sent %+v, want one POST /v1/payment_intents answered 200", reqs)
	}
	wantForm(t, "charge", reqs[0].form, map[string]string{
		"amount": "1999", "currency": "usd", "confirm": "true", "payment_method": "tok_visa",
		"payment_method_types[0]": "card", "error_on_requires_action": "true",
		"metadata[shopedge_attempt]": "att-o1-1", "metadata[shopedge_order]": "o1",
	})
	h := reqs[0].header
	if h.Get("Idempotency-Key") != "att-o1-1" || h.Get("Authorization") != "Bearer sk_test_shopedge" || h.Get("Stripe-Version") == "" {
		t.Fatalf("charge headers %v", h)
	}

	// stripe-mock's search fixture names no such attempt: Lookup fences
	// the key, then cancels the fence's PaymentIntent.
	res, err := g.Lookup(ctx, req)
	reqs = rec.take()
	if err != nil || res.Outcome != payment.OutcomeNotCharged {
		t.Fatalf("lookup = %+v, %v; requests %+v", res, err, reqs)
	}
	if len(reqs) != 3 {
		t.Fatalf("lookup sent %d requests, want search, fence, cancel: %+v", len(reqs), reqs)
	}
	for i, want := range []string{"GET /v1/payment_intents/search", "POST /v1/payment_intents", "POST /v1/payment_intents/"} {
		if got := reqs[i].method + " " + reqs[i].path; !strings.HasPrefix(got, want) || reqs[i].status != 200 {
			t.Fatalf("lookup request %d = %s answered %d, want %s… answered 200", i, got, reqs[i].status, want)
		}
	}
	wantForm(t, "search", reqs[0].form, map[string]string{"query": "metadata['shopedge_attempt']:'att-o1-1'"})
	wantForm(t, "fence", reqs[1].form, map[string]string{
		"amount": "1999", "currency": "usd", "confirm": "false", "payment_method": "",
		"metadata[shopedge_attempt]": "att-o1-1", "metadata[shopedge_fence]": "1",
	})
	if reqs[1].header.Get("Idempotency-Key") != "att-o1-1" {
		t.Fatalf("fence Idempotency-Key %q, want the attempt's key", reqs[1].header.Get("Idempotency-Key"))
	}
	if !strings.HasSuffix(reqs[2].path, "/cancel") {
		t.Fatalf("third lookup request %s, want a cancel", reqs[2].path)
	}

	r, err := g.Refund(ctx, payment.RefundRequest{Key: "refund-o1", ChargeID: "pi_123", Amount: api.Money{Amount: 1999, Currency: "USD"}, OrderID: "o1"})
	reqs = rec.take()
	if len(reqs) != 1 || reqs[0].path != "/v1/refunds" || reqs[0].status != 200 {
		t.Fatalf("refund sent %+v", reqs)
	}
	wantForm(t, "refund", reqs[0].form, map[string]string{
		"payment_intent": "pi_123", "amount": "1999", "metadata[shopedge_order]": "o1", "metadata[shopedge_refund]": "refund-o1",
	})
	if reqs[0].header.Get("Idempotency-Key") != "refund-o1" {
		t.Fatalf("refund Idempotency-Key %q", reqs[0].header.Get("Idempotency-Key"))
	}
	if err != nil || r.ID == "" {
		t.Fatalf("refund = %+v, %v", r, err)
	}
}

// A gateway nobody listens on: the request provably never left, so the
// error is ErrNotSent (the only case a checkout may try another gateway
// without a lookup).
func TestChargeUnreachableIsNotSent(t *testing.T) {
	cfg := DefaultConfig()
	cfg.URL, cfg.SecretKey = "http://"+proctest.FreeAddr(t), "sk_test_x"
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.Charge(context.Background(), payment.ChargeRequest{Key: "k", Token: "tok_ok", Amount: api.Money{Amount: 1, Currency: "USD"}, OrderID: "o"})
	if !errors.Is(err, payment.ErrNotSent) {
		t.Fatalf("charge to a closed port: %v, want ErrNotSent", err)
	}
	if _, err := g.Lookup(context.Background(), payment.ChargeRequest{Key: "k", Token: "tok_ok", Amount: api.Money{Amount: 1, Currency: "USD"}, OrderID: "o"}); err == nil {
		t.Fatal("lookup at a closed port answered")
	}
}

func TestConfigValidate(t *testing.T) {
	f := func(mod func(*Config), field string) {
		t.Helper()
		c := DefaultConfig()
		c.URL, c.SecretKey = "http://127.0.0.1:9191", "sk_test_x"
		mod(&c)
		err := c.Validate()
		if field == "" {
			if err != nil {
				t.Fatalf("valid config: %v", err)
			}
			return
		}
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Fatalf("error %v, want one naming %s", err, field)
		}
	}
	f(func(*Config) {}, "")
	f(func(c *Config) { c.URL = "" }, "url")
	f(func(c *Config) { c.URL = "ftp://x" }, "url")
	f(func(c *Config) { c.URL = "http://" }, "url")
	f(func(c *Config) { c.SecretKey = "" }, "secret key")
	f(func(c *Config) { c.Timeout = 0 }, "timeout")
	f(func(c *Config) { c.ConnectTimeout = time.Hour }, "connect_timeout")
}

// A charge whose request reached the gateway on a kept-alive connection
// that the gateway then closed without an answer (it crashed after
// charging, say) is not "not sent", though Go's transport resends such a
// request (it carries an Idempotency-Key) on a new connection and that
// dial fails: the gateway may have charged. (Before, the dial error of the
// resend made it ErrNotSent, and the checkout released an order whose
// charge had gone through; the chaos end-to-end test found it.)
func TestChargeResentAfterAReachedGatewayIsNotNotSent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		body := `{"id":"pi_first","object":"payment_intent","status":"succeeded","amount":1,"currency":"usd"}`
		fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		if req, err = http.ReadRequest(br); err == nil {
			_, _ = io.Copy(io.Discard, req.Body)
		}
		// The second charge reached the gateway; it dies unanswered and
		// nobody listens any more.
		ln.Close()
	}()
	cfg := DefaultConfig()
	cfg.URL, cfg.SecretKey = "http://"+ln.Addr().String(), "sk_test_x"
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	req := payment.ChargeRequest{Key: "k1", Token: "tok_ok", Amount: api.Money{Amount: 1, Currency: "USD"}, OrderID: "o"}
	if c, err := g.Charge(context.Background(), req); err != nil || c.ID != "pi_first" {
		t.Fatalf("first charge: %+v %v", c, err)
	}
	req.Key = "k2"
	_, err = g.Charge(context.Background(), req)
	<-served
	if err == nil || errors.Is(err, payment.ErrNotSent) || payment.NothingCharged(err) {
		t.Fatalf("charge that reached the gateway unanswered: %v, want an unknown outcome", err)
	}
}
