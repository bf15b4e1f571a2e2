package testpay

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/fasthttp/router"
	json "github.com/goccy/go-json"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
)

// Server is the Stripe-compatible simulator: PaymentIntents (create,
// retrieve, cancel, list, search), Refunds (create, retrieve) and the
// PaymentMethod of a test token, in Stripe's wire format, with Stripe's
// Idempotency-Key semantics and a ledger file that survives restarts.
// Create it with NewServer, register its routes, Close it after the HTTP
// server has stopped.
type Server struct {
	cfg ServerConfig
	log zerolog.Logger
	led *ledger
	now func() time.Time

	mu       sync.Mutex
	st       *state
	inflight map[string]bool // Idempotency-Keys of requests under way

	stop     chan struct{}
	stopOnce sync.Once
	sweeper  sync.WaitGroup
}

// NewServer opens (or creates) the ledger of cfg and replays it.
func NewServer(cfg ServerConfig, log zerolog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, now: time.Now, st: newState(cfg.KeyTTL), inflight: map[string]bool{}, stop: make(chan struct{})}
	led, last, err := openLedger(cfg.Ledger, s.st.apply)
	if err != nil {
		return nil, err
	}
	s.led = led
	log.Info().Str("ledger", cfg.Ledger).Int64("records", last).Int("payment_intents", len(s.st.order)).
		Int("refunds", len(s.st.refunds)).Int("idempotency_keys", len(s.st.idem)).Msg("ledger replayed")
	s.sweeper.Add(1)
	go s.sweepKeys()
	warmUp()
	return s, nil
}

// warmUp builds the JSON encoders of the answers and records now (the
// encoder compiles one per type on first use), not in the first charge.
func warmUp() {
	pi := &PaymentIntent{ID: "pi_warm", Metadata: map[string]string{"k": "v"}, Refunds: RefundList{Data: []*Refund{{ID: "re_warm"}}},
		LastPaymentError: &APIError{Type: "card_error"}}
	e := *pi.LastPaymentError
	e.PaymentIntent = pi
	rec := &record{Seq: 1, PI: pi, Refund: &Refund{ID: "re_warm"}, Idem: &idemEntry{Key: "k", Body: mustJSON(pi)}}
	_, _ = json.Marshal(rec)
	_ = errorBody(&e)
	_ = mustJSON(&list{Data: []*PaymentIntent{pi}})
}

// Close stops the key sweeper and closes the ledger; requests must be over.
func (s *Server) Close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	s.sweeper.Wait()
	return s.led.close()
}

// LedgerErr returns the write failure that broke the ledger, or nil. A
// broken server answers every request 500 and should be stopped.
func (s *Server) LedgerErr() error { return s.led.Err() }

// sweepKeys forgets expired Idempotency-Keys once a minute.
func (s *Server) sweepKeys() {
	defer s.sweeper.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			s.st.expireKeys(s.now())
			s.mu.Unlock()
		}
	}
}

// Register adds the API routes to r, and makes every unknown /v1/ route a
// Stripe-style 404.
func (s *Server) Register(r *router.Router) {
	r.POST("/v1/payment_intents", s.auth(s.createPaymentIntent))
	r.GET("/v1/payment_intents", s.auth(s.listPaymentIntents))
	r.GET("/v1/payment_intents/search", s.auth(s.searchPaymentIntents))
	r.GET("/v1/payment_intents/{id}", s.auth(s.getPaymentIntent))
	r.POST("/v1/payment_intents/{id}/cancel", s.auth(s.cancelPaymentIntent))
	r.POST("/v1/refunds", s.auth(s.createRefund))
	r.GET("/v1/refunds/{id}", s.auth(s.getRefund))
	r.GET("/v1/payment_methods/{id}", s.auth(s.getPaymentMethod))
	notFound, notAllowed := r.NotFound, r.MethodNotAllowed
	r.NotFound = func(ctx *fasthttp.RequestCtx) {
		if !bytes.HasPrefix(ctx.Path(), []byte("/v1/")) {
			notFound(ctx)
			return
		}
		writeError(ctx, 404, invalid("", "Unrecognized request URL (%s: %s).", ctx.Method(), clip(string(ctx.Path()))))
	}
	r.MethodNotAllowed = func(ctx *fasthttp.RequestCtx) {
		if !bytes.HasPrefix(ctx.Path(), []byte("/v1/")) {
			notAllowed(ctx)
			return
		}
		writeError(ctx, 405, invalid("", "Unrecognized request URL (%s: %s).", ctx.Method(), clip(string(ctx.Path()))))
	}
}

// auth checks the secret key: "Authorization: Bearer <key>", or Basic with
// the key as the user (curl -u key:).
func (s *Server) auth(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	want := []byte(s.cfg.SecretKey)
	return func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Request-Id", newID("req_"))
		h0 := ctx.Request.Header.Peek("Authorization")
		var got []byte
		if b, ok := bytes.CutPrefix(h0, []byte("Bearer ")); ok {
			got = b
		} else if b, ok := bytes.CutPrefix(h0, []byte("Basic ")); ok {
			if dec, err := base64.StdEncoding.DecodeString(string(b)); err == nil {
				got, _, _ = bytes.Cut(dec, []byte(":"))
			}
		}
		if len(h0) == 0 {
			writeError(ctx, 401, invalid("", "You did not provide an API key. Provide your API key in the Authorization header, using the Bearer auth scheme."))
			return
		}
		if subtle.ConstantTimeCompare(got, want) != 1 {
			writeError(ctx, 401, invalid("", "Invalid API Key provided."))
			return
		}
		if err := s.led.Err(); err != nil {
			writeError(ctx, 500, &APIError{Type: "api_error", Message: "testpay's ledger failed: " + err.Error()})
			return
		}
		h(ctx)
	}
}

// answer is what a state-changing request produced.
type answer struct {
	status int
	body   []byte
	// store keeps the answer under the request's Idempotency-Key.
	store bool
	// deliver is how the answer reaches the caller (BehaveOK: normally).
	deliver Behaviour
}

// begin starts a POST: it checks its Idempotency-Key and returns done=true
// when it answered already (a stored answer replayed, a key reused with
// other parameters, a request under the key in progress). Otherwise the
// key is marked in progress until finish.
func (s *Server) begin(ctx *fasthttp.RequestCtx, f form) (key, fingerprint string, done bool) {
	key = string(ctx.Request.Header.Peek("Idempotency-Key"))
	if key == "" {
		return "", "", false
	}
	if len(key) > maxIdemKey {
		writeError(ctx, 400, invalid("", "Idempotency-Key must be at most %d characters", maxIdemKey))
		return "", "", true
	}
	fingerprint = string(ctx.Method()) + " " + string(ctx.Path()) + "?" + f.canonical()
	s.mu.Lock()
	e := s.st.idemGet(key, s.now())
	if e == nil && s.inflight[key] {
		s.mu.Unlock()
		writeError(ctx, 409, invalidCode("", "idempotency_key_in_use",
			"There is currently another in-progress request using this Idempotency Key (%s). Try again later.", clip(key)))
		return "", "", true
	}
	if e == nil {
		s.inflight[key] = true
		s.mu.Unlock()
		return key, fingerprint, false
	}
	seq := s.st.seq
	s.mu.Unlock()
	if e.Fingerprint != fingerprint {
		writeError(ctx, 400, &APIError{Type: "idempotency_error", Message: fmt.Sprintf(
			"Keys for idempotent requests can only be used with the same parameters they were first used with. "+
				"Try using a key other than '%s' if you meant to execute a different request.", clip(key))})
		return "", "", true
	}
	if err := s.led.wait(seq); err != nil {
		writeError(ctx, 500, &APIError{Type: "api_error", Message: err.Error()})
		return "", "", true
	}
	ctx.Response.Header.Set("Idempotent-Replayed", "true")
	ctx.Response.Header.Set("Idempotency-Key", key)
	writeJSON(ctx, e.Status, e.Body)
	return "", "", true
}

// finish releases a key begin marked.
func (s *Server) finish(key string) {
	if key == "" {
		return
	}
	s.mu.Lock()
	delete(s.inflight, key)
	s.mu.Unlock()
}

// commit runs decide under the state lock; the record it returns (nil:
// none) is applied and logged, with the answer stored under key when
// asked, and commit returns once it is on disk.
func (s *Server) commit(key, fingerprint string, decide func(st *state, now time.Time) (*record, answer)) answer {
	s.mu.Lock()
	now := s.now()
	rec, a := decide(s.st, now)
	if a.store && key != "" {
		if rec == nil {
			rec = &record{}
		}
		rec.Idem = &idemEntry{Key: key, Fingerprint: fingerprint, Status: a.status, Body: a.body, At: now.UnixNano()}
	}
	if rec == nil {
		s.mu.Unlock()
		return a
	}
	rec.Seq = s.st.seq + 1
	line, err := json.Marshal(rec)
	if err != nil {
		s.mu.Unlock()
		return answer{status: 500, body: errorBody(&APIError{Type: "api_error", Message: "cannot encode a ledger record: " + err.Error()})}
	}
	_ = s.st.apply(rec) // records built here are always valid
	s.led.append(rec.Seq, append(line, '\n'))
	s.mu.Unlock()
	if err := s.led.wait(rec.Seq); err != nil {
		s.log.Error().Err(err).Msg("ledger write failed")
		return answer{status: 500, body: errorBody(&APIError{Type: "api_error", Message: err.Error()})}
	}
	return a
}

// deliver sends an answer the way the token asked.
func (s *Server) deliver(ctx *fasthttp.RequestCtx, key string, a answer) {
	if key != "" {
		ctx.Response.Header.Set("Idempotency-Key", key)
	}
	switch a.deliver {
	case BehaveLostReply:
		// Charged and logged; the answer is cut off on the way: the status
		// line and headers, half the body, then the connection closes.
		// (Closing before the first byte would not lose it: Go's transport
		// resends a request carrying an Idempotency-Key when a reused
		// connection closes unanswered, and gets the stored answer.)
		ctx.HijackSetNoResponse(true)
		head := fmt.Sprintf("HTTP/1.1 %d OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", a.status, len(a.body))
		part := append([]byte(head), a.body[:len(a.body)/2]...)
		ctx.Hijack(func(c net.Conn) { _, _ = c.Write(part); _ = c.Close() })
		return
	case BehaveTimeoutAfterCharge:
		s.sleep(s.cfg.TimeoutAfterChargeDelay)
	case BehaveErrorAfterCharge:
		writeError(ctx, 500, &APIError{Type: "api_error", Message: "An unknown error occurred after the request was processed (tok_error_after_charge)."})
		return
	}
	writeJSON(ctx, a.status, a.body)
}

// sleep waits d, or less when the server closes.
func (s *Server) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.stop:
	}
}

// requestForm reads the parameters: the body of a POST, the query of a GET.
func requestForm(ctx *fasthttp.RequestCtx) (form, *APIError) {
	if ctx.IsPost() {
		if ct := ctx.Request.Header.ContentType(); len(ctx.PostBody()) > 0 && !bytes.HasPrefix(ct, []byte("application/x-www-form-urlencoded")) {
			return form{}, invalid("", "Content-Type must be application/x-www-form-urlencoded, got %q", clip(string(ct)))
		}
		return parseForm(string(ctx.PostBody()))
	}
	return parseForm(string(ctx.URI().QueryString()))
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.Response.Header.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-cache, no-store")
	ctx.SetBody(body)
}

func writeError(ctx *fasthttp.RequestCtx, status int, e *APIError) {
	writeJSON(ctx, status, errorBody(e))
}

func errorBody(e *APIError) []byte {
	b, _ := json.Marshal(struct {
		Error *APIError `json:"error"`
	}{e})
	return b
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("BUG: cannot encode %T: %v", v, err))
	}
	return b
}

func pathID(ctx *fasthttp.RequestCtx) string {
	id, _ := ctx.UserValue("id").(string)
	return strings.Clone(id)
}
