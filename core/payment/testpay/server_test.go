package testpay_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	json "github.com/goccy/go-json"
	"github.com/rs/zerolog"

	"shopedge/core/api"
	"shopedge/core/payment"
	"shopedge/core/payment/stripegw"
	"shopedge/core/payment/testpay"
	"shopedge/internal/app"
)

const secret = "sk_test_testpay_unit"

// sim is one in-process simulator serving on a loopback port.
type sim struct {
	t      *testing.T
	cfg    testpay.ServerConfig
	srv    *testpay.Server
	http   *app.Server
	base   string
	closed bool
}

func simConfig(t *testing.T) testpay.ServerConfig {
	cfg := testpay.DefaultServerConfig()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Ledger = filepath.Join(t.TempDir(), "testpay.ledger")
	cfg.SecretKey = secret
	cfg.SlowDelay = 300 * time.Millisecond
	cfg.TimeoutAfterChargeDelay = time.Second
	return cfg
}

// startSim serves cfg's simulator in process; it is stopped at cleanup.
func startSim(t *testing.T, cfg testpay.ServerConfig) *sim {
	t.Helper()
	s := &sim{t: t, cfg: cfg}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *sim) start() {
	s.t.Helper()
	srv, err := testpay.NewServer(s.cfg, zerolog.Nop())
	if err != nil {
		s.t.Fatal(err)
	}
	h, err := app.Serve(s.cfg.Server, zerolog.Nop(), metrics.NewSet(), app.Handlers{Routes: srv.Register})
	if err != nil {
		s.t.Fatal(err)
	}
	s.srv, s.http, s.base, s.closed = srv, h, "http://"+h.Addr(), false
	// Keep the address across restarts.
	s.cfg.Server.Addr = h.Addr()
}

func (s *sim) stop() {
	if s.closed {
		return
	}
	s.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.http.Shutdown(ctx)
	if err := s.srv.Close(); err != nil {
		s.t.Errorf("close: %v", err)
	}
}

func (s *sim) restart() {
	s.t.Helper()
	s.stop()
	s.start()
}

// gateway returns the Stripe adapter pointed at the simulator, giving up
// on a request after timeout.
func (s *sim) gateway(timeout time.Duration) *stripegw.Gateway {
	s.t.Helper()
	cfg := stripegw.DefaultConfig()
	cfg.URL, cfg.SecretKey, cfg.Timeout, cfg.ConnectTimeout = s.base, secret, timeout, timeout
	g, err := stripegw.New(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	return g
}

// call sends one raw request with the secret key and returns status and
// body.
func (s *sim) call(method, path string, form url.Values, hdr ...string) (int, []byte) {
	s.t.Helper()
	var body io.Reader
	if form != nil && method == "POST" {
		body = strings.NewReader(form.Encode())
	} else if form != nil {
		path += "?" + form.Encode()
	}
	req, err := http.NewRequest(method, s.base+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	if method == "POST" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// audit lists the whole ledger through GET /v1/payment_intents?all=true,
// an independent view of what was charged.
func (s *sim) audit() []testpay.PaymentIntent {
	s.t.Helper()
	st, b := s.call("GET", "/v1/payment_intents", url.Values{"all": {"true"}})
	if st != 200 {
		s.t.Fatalf("audit: %d %s", st, b)
	}
	var l struct {
		Data    []testpay.PaymentIntent `json:"data"`
		HasMore bool                    `json:"has_more"`
	}
	if err := json.Unmarshal(b, &l); err != nil || l.HasMore {
		s.t.Fatalf("audit: %v has_more=%v", err, l.HasMore)
	}
	return l.Data
}

// charged returns the succeeded PaymentIntents of attempt key.
func charged(pis []testpay.PaymentIntent, key string) []testpay.PaymentIntent {
	var out []testpay.PaymentIntent
	for _, pi := range pis {
		if pi.Metadata[stripegw.MetaAttempt] == key && pi.Status == testpay.StatusSucceeded {
			out = append(out, pi)
		}
	}
	return out
}

var usd = api.Money{Amount: 1999, Currency: "USD"}

func chargeReq(key, token string) payment.ChargeRequest {
	return payment.ChargeRequest{Key: key, Token: token, Amount: usd, OrderID: "ord-" + key}
}

// TestFaultTokensEndToEnd drives every token through the Stripe adapter
// (stripe-go on the wire) into the simulator: what Charge answers, what
// Lookup finds afterwards, and what the ledger holds, read back through
// the audit listing. It proves each fault behaves as documented and that
// the adapter never reports "nothing charged" for a charge that happened.
// Seen failing: with the lost-reply branch answering normally, Charge of
// tok_lost_reply succeeded and the test stopped there.
func TestFaultTokensEndToEnd(t *testing.T) {
	s := startSim(t, simConfig(t))
	g := s.gateway(500 * time.Millisecond) // < TimeoutAfterChargeDelay
	ctx := context.Background()
	f := func(token string, wantCharge error, wantLookup payment.Outcome, wantDecline error) {
		t.Helper()
		key := "att-" + token
		c, err := g.Charge(ctx, chargeReq(key, token))
		switch {
		case wantCharge == nil && (err != nil || c.ID == ""):
			t.Fatalf("%s: charge = %+v, %v; want a charge", token, c, err)
		case wantCharge != nil && !errors.Is(err, wantCharge):
			t.Fatalf("%s: charge error %v, want %v", token, err, wantCharge)
		case wantCharge == payment.ErrGateway && payment.NothingCharged(err):
			t.Fatalf("%s: %v claims nothing was charged", token, err)
		}
		res, err := g.Lookup(ctx, chargeReq(key, token))
		if err != nil || res.Outcome != wantLookup {
			t.Fatalf("%s: lookup = %+v, %v; want %v", token, res, err, wantLookup)
		}
		if wantDecline != nil && !errors.Is(res.Decline, wantDecline) {
			t.Fatalf("%s: lookup decline %v, want %v", token, res.Decline, wantDecline)
		}
		paid := charged(s.audit(), key)
		if (wantLookup == payment.OutcomeCharged) != (len(paid) == 1) || len(paid) > 1 {
			t.Fatalf("%s: ledger has %d succeeded payment intents for the attempt, lookup said %v", token, len(paid), res.Outcome)
		}
		if len(paid) == 1 && paid[0].ID != res.ChargeID {
			t.Fatalf("%s: lookup found %s, ledger holds %s", token, res.ChargeID, paid[0].ID)
		}
		if len(paid) == 1 && wantCharge == nil && paid[0].ID != c.ID {
			t.Fatalf("%s: charge %s, ledger holds %s", token, c.ID, paid[0].ID)
		}
	}
	f(testpay.TokenOK, nil, payment.OutcomeCharged, nil)
	f("tok_ok_mastercard_fr", nil, payment.OutcomeCharged, nil)
	f(testpay.TokenSlow, nil, payment.OutcomeCharged, nil)
	f(testpay.TokenDecline, payment.ErrDeclined, payment.OutcomeDeclined, payment.ErrDeclined)
	f(testpay.TokenInsufficientFunds, payment.ErrInsufficientFunds, payment.OutcomeDeclined, payment.ErrInsufficientFunds)
	f("tok_unknown", payment.ErrInvalidToken, payment.OutcomeNotCharged, nil)
	f(testpay.TokenError, payment.ErrGateway, payment.OutcomeNotCharged, nil)
	f(testpay.TokenLostReply, payment.ErrGateway, payment.OutcomeCharged, nil)
	f(testpay.TokenTimeoutAfterCharge, payment.ErrGateway, payment.OutcomeCharged, nil)
	f(testpay.TokenErrorAfterCharge, payment.ErrGateway, payment.OutcomeCharged, nil)

	// A retry under a lost reply's key gets the stored answer (the fault
	// hit the first delivery only): the same payment, not a second one.
	key := "att-" + testpay.TokenLostReply
	c, err := g.Charge(ctx, chargeReq(key, testpay.TokenLostReply))
	if paid := charged(s.audit(), key); err != nil || len(paid) != 1 || paid[0].ID != c.ID {
		t.Fatalf("retry of a lost reply: %+v, %v; ledger %+v", c, err, paid)
	}
}

// TestLookupFenceIsFinal: after Lookup answered NotCharged for a key, no
// request under that key can charge (the fence holds the key), and a
// Lookup racing an attempt still in progress answers an error, never
// NotCharged. Seen failing: with the fence create sent with confirm=true
// and the token, it charged, and the fence check below found a payment.
func TestLookupFenceIsFinal(t *testing.T) {
	s := startSim(t, simConfig(t))
	g := s.gateway(5 * time.Second)
	ctx := context.Background()

	res, err := g.Lookup(ctx, chargeReq("never-sent", testpay.TokenOK))
	if err != nil || res.Outcome != payment.OutcomeNotCharged {
		t.Fatalf("lookup of an unused key = %+v, %v", res, err)
	}
	_, err = g.Charge(ctx, chargeReq("never-sent", testpay.TokenOK))
	if err == nil || payment.NothingCharged(err) {
		t.Fatalf("charge after the fence: %v, want an unknown-outcome error", err)
	}
	if n := len(charged(s.audit(), "never-sent")); n != 0 {
		t.Fatalf("a fenced key charged %d times", n)
	}
	res, err = g.Lookup(ctx, chargeReq("never-sent", testpay.TokenOK))
	if err != nil || res.Outcome != payment.OutcomeNotCharged {
		t.Fatalf("second lookup = %+v, %v", res, err)
	}
	// The fence's PaymentIntent is canceled (tidiness).
	for _, pi := range s.audit() {
		if pi.Metadata[stripegw.MetaFence] == "1" && pi.Status != testpay.StatusCanceled {
			t.Fatalf("fence %s left %s", pi.ID, pi.Status)
		}
	}

	// A slow charge in progress: Lookup must not settle it.
	done := make(chan error, 1)
	go func() { _, err := g.Charge(ctx, chargeReq("in-flight", testpay.TokenSlow)); done <- err }()
	time.Sleep(100 * time.Millisecond)
	if res, err := g.Lookup(ctx, chargeReq("in-flight", testpay.TokenSlow)); err == nil {
		t.Fatalf("lookup during the charge answered %+v", res)
	}
	if err := <-done; err != nil {
		t.Fatalf("slow charge: %v", err)
	}
	if res, err := g.Lookup(ctx, chargeReq("in-flight", testpay.TokenSlow)); err != nil || res.Outcome != payment.OutcomeCharged {
		t.Fatalf("lookup after the charge = %+v, %v", res, err)
	}
}

// TestRefunds: a refund under one key refunds once however often it is
// sent; more than is left, another key after a full refund and an unknown
// payment are refused; the ledger's amount_refunded is the truth checked.
// Seen failing: with the check of what is left to refund removed.
func TestRefunds(t *testing.T) {
	s := startSim(t, simConfig(t))
	g := s.gateway(5 * time.Second)
	ctx := context.Background()
	c, err := g.Charge(ctx, chargeReq("r1", testpay.TokenOK))
	if err != nil {
		t.Fatal(err)
	}
	rr := payment.RefundRequest{Key: "refund-r1", ChargeID: c.ID, Amount: usd, OrderID: "ord-r1"}
	r1, err := g.Refund(ctx, rr)
	if err != nil || r1.Status != payment.RefundSucceeded {
		t.Fatalf("refund = %+v, %v", r1, err)
	}
	r2, err := g.Refund(ctx, rr)
	if err != nil || r2.ID != r1.ID {
		t.Fatalf("same key again = %+v, %v; want %s", r2, err, r1.ID)
	}
	for _, pi := range s.audit() {
		if pi.ID == c.ID && (pi.AmountRefunded != usd.Amount || len(pi.Refunds.Data) != 1) {
			t.Fatalf("ledger: refunded %d in %d refunds", pi.AmountRefunded, len(pi.Refunds.Data))
		}
	}
	f := func(req payment.RefundRequest) {
		t.Helper()
		if _, err := g.Refund(ctx, req); !errors.Is(err, payment.ErrRefundRefused) {
			t.Fatalf("refund %+v: %v, want ErrRefundRefused", req, err)
		}
	}
	f(payment.RefundRequest{Key: "refund-r1-b", ChargeID: c.ID, Amount: usd, OrderID: "ord-r1"})
	f(payment.RefundRequest{Key: "refund-x", ChargeID: "pi_nope", Amount: usd, OrderID: "x"})
	c2, err := g.Charge(ctx, chargeReq("r2", testpay.TokenOK))
	if err != nil {
		t.Fatal(err)
	}
	f(payment.RefundRequest{Key: "refund-r2", ChargeID: c2.ID, Amount: api.Money{Amount: usd.Amount + 1, Currency: "USD"}, OrderID: "ord-r2"})
	st, b := s.call("GET", "/v1/refunds/"+r1.ID, nil)
	if st != 200 || !strings.Contains(string(b), c.ID) {
		t.Fatalf("GET refund: %d %s", st, b)
	}
}

// TestIdempotencyKeys checks Stripe's rules on the wire: the same key with
// the same parameters replays the stored answer (Idempotent-Replayed);
// other parameters get 400 idempotency_error; a request while another
// with the key runs gets 409; a key older than key_ttl is forgotten. Seen
// failing: with the parameters' fingerprint not compared.
func TestIdempotencyKeys(t *testing.T) {
	cfg := simConfig(t)
	cfg.KeyTTL = time.Second
	s := startSim(t, cfg)
	form := url.Values{"amount": {"500"}, "currency": {"eur"}, "confirm": {"true"}, "payment_method": {"tok_ok"}}
	st1, b1 := s.call("POST", "/v1/payment_intents", form, "Idempotency-Key", "k1")
	st2, b2 := s.call("POST", "/v1/payment_intents", form, "Idempotency-Key", "k1")
	if st1 != 200 || st2 != 200 || string(b1) != string(b2) {
		t.Fatalf("replay: %d %s / %d %s", st1, b1, st2, b2)
	}
	other := url.Values{"amount": {"501"}, "currency": {"eur"}, "confirm": {"true"}, "payment_method": {"tok_ok"}}
	if st, b := s.call("POST", "/v1/payment_intents", other, "Idempotency-Key", "k1"); st != 400 || !strings.Contains(string(b), `"idempotency_error"`) {
		t.Fatalf("other parameters: %d %s", st, b)
	}
	if n := len(s.audit()); n != 1 {
		t.Fatalf("%d payment intents, want 1", n)
	}
	slow := url.Values{"amount": {"500"}, "currency": {"eur"}, "confirm": {"true"}, "payment_method": {"tok_slow"}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.call("POST", "/v1/payment_intents", slow, "Idempotency-Key", "k2") }()
	time.Sleep(100 * time.Millisecond)
	if st, b := s.call("POST", "/v1/payment_intents", slow, "Idempotency-Key", "k2"); st != 409 {
		t.Fatalf("concurrent request: %d %s", st, b)
	}
	wg.Wait()
	time.Sleep(cfg.KeyTTL)
	if st, b := s.call("POST", "/v1/payment_intents", other, "Idempotency-Key", "k1"); st != 200 {
		t.Fatalf("expired key: %d %s", st, b)
	}
}

// TestRestartKeepsLedger stops the simulator and starts it on the same
// ledger: payments, refunds and stored answers are all still there, and a
// replayed key does not charge again.
func TestRestartKeepsLedger(t *testing.T) {
	s := startSim(t, simConfig(t))
	g := s.gateway(5 * time.Second)
	ctx := context.Background()
	c, err := g.Charge(ctx, chargeReq("keep", testpay.TokenOK))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Refund(ctx, payment.RefundRequest{Key: "rf", ChargeID: c.ID, Amount: api.Money{Amount: 500, Currency: "USD"}, OrderID: "o"}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Charge(ctx, chargeReq("dec", testpay.TokenDecline)); !errors.Is(err, payment.ErrDeclined) {
		t.Fatal(err)
	}
	before := s.audit()
	s.restart()
	after := s.audit()
	if len(after) != len(before) {
		t.Fatalf("%d payment intents after restart, %d before", len(after), len(before))
	}
	for i := range before {
		if before[i].ID != after[i].ID || before[i].Status != after[i].Status || before[i].AmountRefunded != after[i].AmountRefunded {
			t.Fatalf("payment intent %d changed across the restart: %+v → %+v", i, before[i], after[i])
		}
	}
	c2, err := g.Charge(ctx, chargeReq("keep", testpay.TokenOK))
	if err != nil || c2.ID != c.ID {
		t.Fatalf("replay after restart = %+v, %v; want %s", c2, err, c.ID)
	}
	if _, err := g.Charge(ctx, chargeReq("dec", testpay.TokenDecline)); !errors.Is(err, payment.ErrDeclined) {
		t.Fatalf("stored decline after restart: %v", err)
	}
	if n := len(s.audit()); n != len(before) {
		t.Fatalf("replays after restart created payments: %d, want %d", n, len(before))
	}
}

// TestLedgerTornTail: a last line cut short by a crash is dropped at
// start (and later records follow a clean line); a damaged line before it
// stops the start, naming the line. Seen failing: without the cut, the
// next record glued to the torn line and the restart refused the ledger.
func TestLedgerTornTail(t *testing.T) {
	cfg := simConfig(t)
	s := startSim(t, cfg)
	if _, err := s.gateway(5*time.Second).Charge(context.Background(), chargeReq("t1", testpay.TokenOK)); err != nil {
		t.Fatal(err)
	}
	s.stop()
	f, err := os.OpenFile(cfg.Ledger, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`{"seq":2,"pi":{"id":"pi_torn`)
	f.Close()
	s.start()
	if n := len(s.audit()); n != 1 {
		t.Fatalf("%d payment intents after a torn tail, want 1", n)
	}
	if _, err := s.gateway(5*time.Second).Charge(context.Background(), chargeReq("t2", testpay.TokenOK)); err != nil {
		t.Fatalf("charge after the torn tail was cut: %v", err)
	}
	s.restart() // the record after the cut is readable
	if n := len(s.audit()); n != 2 {
		t.Fatalf("%d payment intents after the restart, want 2", n)
	}
	s.stop()
	b, _ := os.ReadFile(cfg.Ledger)
	lines := strings.SplitAfter(string(b), "\n")
	lines[0] = "garbage\n"
	if err := os.WriteFile(cfg.Ledger, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := testpay.NewServer(cfg, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("damaged ledger: %v, want an error naming line 1", err)
	}
}

// callAuth sends a request with the given Authorization header.
func (s *sim) callAuth(method, path, auth string) (int, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }

// Lookup without the attempt's token (an order that kept only gateway,
// key and amount) still finds a charge and still fences an unused key.
func TestLookupWithoutToken(t *testing.T) {
	s := startSim(t, simConfig(t))
	g := s.gateway(5 * time.Second)
	ctx := context.Background()
	if _, err := g.Charge(ctx, chargeReq("nt-lost", testpay.TokenLostReply)); err == nil {
		t.Fatal("lost reply answered")
	}
	noToken := func(key string) payment.ChargeRequest { r := chargeReq(key, ""); r.Token = ""; return r }
	if res, err := g.Lookup(ctx, noToken("nt-lost")); err != nil || res.Outcome != payment.OutcomeCharged {
		t.Fatalf("lookup of a lost reply without token = %+v, %v", res, err)
	}
	if res, err := g.Lookup(ctx, noToken("nt-unused")); err != nil || res.Outcome != payment.OutcomeNotCharged {
		t.Fatalf("lookup of an unused key without token = %+v, %v", res, err)
	}
}
