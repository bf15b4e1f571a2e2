// Package stripegw is shopedge's payment.Gateway for Stripe's PaymentIntents
// and Refunds API, spoken with the official client stripe-go. The same
// adapter serves a real Stripe account (https://api.stripe.com with a
// secret key) and the testpay simulator.
//
// A charge is one PaymentIntent created and confirmed in one request
// (confirm=true, payment_method=the token) under the attempt's key as its
// Idempotency-Key, with the key and the order id in its metadata.
//
// Lookup finds the PaymentIntent of an attempt by that metadata with
// Stripe's search API. Stripe's search is eventually consistent: a new
// PaymentIntent is usually searchable within a minute, sometimes an hour
// late during incidents. So "not found" proves nothing on its own, and
// Lookup fences the key before it answers OutcomeNotCharged: it sends a
// create under the same Idempotency-Key with parameters that cannot charge
// (confirm=false, no payment method). Stripe keeps the first request's
// parameters under a key for 24 hours and refuses a later request whose
// parameters differ (400 idempotency_error). If the fence is accepted, the
// original request never ran and can no longer run; if the fence is refused,
// the original did run and Lookup replays it under the same key, which
// returns the stored answer without executing anything again.
//
// stripe-go's own network retries are off: whether and when to retry is
// the checkout's decision, made with the order's record of the attempt.
package stripegw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/form"

	"shopedge/core/api"
	"shopedge/core/payment"
	"shopedge/internal/config"
)

// Metadata keys shopedge writes on its PaymentIntents and Refunds.
const (
	MetaAttempt = "shopedge_attempt" // the charge attempt's idempotency key
	MetaOrder   = "shopedge_order"   // the order id
	MetaFence   = "shopedge_fence"   // "1" on a PaymentIntent created by a Lookup fence
	MetaRefund  = "shopedge_refund"  // the refund's idempotency key
)

// Config configures one Stripe account.
type Config struct {
	// URL is the API base URL: https://api.stripe.com for Stripe, or a
	// testpay simulator's http://host:port.
	URL string
	// SecretKey is the account's secret key (sk_live_…, sk_test_…), sent as
	// the Bearer token. Never stored in a file of the repository: the core
	// reads it from the environment variable its configuration names.
	SecretKey string
	// Timeout bounds one HTTP request, connection included; the caller's
	// context may end it sooner.
	Timeout time.Duration
	// ConnectTimeout bounds establishing a connection. A request that could
	// not connect provably never reached the gateway (payment.ErrNotSent).
	ConnectTimeout time.Duration
	// MaxIdleConns bounds the idle keep-alive connections kept to the
	// gateway.
	MaxIdleConns int

	// Transport, if set, replaces the HTTP transport (tests record
	// requests with it).
	Transport http.RoundTripper
}

// DefaultConfig returns the defaults of the timeouts: 10 s per request,
// 2 s to connect, 64 idle connections.
func DefaultConfig() Config {
	return Config{Timeout: 10 * time.Second, ConnectTimeout: 2 * time.Second, MaxIdleConns: 64}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return config.Invalid("url", "required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return config.Invalid("url", "want http(s)://host[:port], got %q", c.URL)
	case c.SecretKey == "":
		return errors.New("secret key: required")
	case strings.ContainsAny(c.SecretKey, " \t\r\n"):
		return errors.New("secret key: must not contain white space")
	case c.Timeout <= 0 || c.Timeout > 10*time.Minute:
		return config.Invalid("timeout", "must be within (0, 10m], got %s", c.Timeout)
	case c.ConnectTimeout <= 0 || c.ConnectTimeout > c.Timeout:
		return config.Invalid("connect_timeout", "must be within (0, timeout], got %s", c.ConnectTimeout)
	case c.MaxIdleConns < 0:
		return config.Invalid("max_idle_conns", "must not be negative, got %d", c.MaxIdleConns)
	}
	return nil
}

// Gateway is one Stripe account. It implements payment.Gateway and is safe
// for concurrent use.
type Gateway struct {
	sc *stripe.Client
	hc *http.Client
}

var _ payment.Gateway = (*Gateway)(nil)

// New returns the gateway of cfg.
func New(cfg Config) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tr := cfg.Transport
	if tr == nil {
		tr = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   cfg.ConnectTimeout,
			MaxIdleConns:          cfg.MaxIdleConns,
			MaxIdleConnsPerHost:   cfg.MaxIdleConns,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: cfg.Timeout,
			ForceAttemptHTTP2:     true,
		}
	}
	hc := &http.Client{Timeout: cfg.Timeout, Transport: tr}
	backends := stripe.NewBackendsWithConfig(&stripe.BackendConfig{
		URL:               stripe.String(cfg.URL),
		HTTPClient:        hc,
		MaxNetworkRetries: stripe.Int64(0), // the checkout decides about retries
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
		EnableTelemetry:   stripe.Bool(false),
	})
	warmUp(backends.API, cfg.SecretKey)
	return &Gateway{sc: stripe.NewClient(cfg.SecretKey, stripe.WithBackends(backends)), hc: hc}, nil
}

// warmUp does at start what stripe-go does lazily on the first request,
// which would otherwise land on the first checkouts of a sale (measured
// against testpay in one process: the first charge took 44-47 ms, the next
// ones 1-4 ms; 12 ms with this warm-up and testpay's): build the client
// user-agent header (it runs `uname -a` in a subprocess while every
// concurrent first request waits), and the form encoder and JSON decoder
// of the PaymentIntent types (reflection over hundreds of fields).
func warmUp(api stripe.Backend, key string) {
	if b, ok := api.(*stripe.BackendImplementation); ok {
		_, _ = b.NewRequest(http.MethodGet, "/v1/payment_intents", key, "application/x-www-form-urlencoded", nil)
	}
	req := payment.ChargeRequest{Key: "warm-up", Token: "tok_warm", Amount: api2money, OrderID: "warm-up"}
	form.AppendTo(&form.Values{}, chargeParams(context.Background(), req))
	var pi stripe.PaymentIntent
	_ = json.Unmarshal([]byte(samplePaymentIntent), &pi)
	var se stripe.Error
	_ = json.Unmarshal([]byte(`{"type":"card_error","code":"card_declined","decline_code":"generic_decline","payment_intent":`+samplePaymentIntent+`}`), &se)
}

var api2money = api.Money{Amount: 100, Currency: "USD"}

// samplePaymentIntent is a PaymentIntent as Stripe answers a charge.
const samplePaymentIntent = `{"id":"pi_warm","object":"payment_intent","amount":100,"amount_received":100,
"currency":"usd","status":"succeeded","payment_method":"pm_warm","payment_method_types":["card"],
"capture_method":"automatic","confirmation_method":"automatic","created":1,"canceled_at":null,
"cancellation_reason":null,"description":null,"last_payment_error":{"type":"card_error","code":"card_declined",
"decline_code":"generic_decline","message":"declined"},"latest_charge":"ch_warm","livemode":false,
"metadata":{"shopedge_attempt":"warm"}}`

// Close releases idle connections.
func (g *Gateway) Close() { g.hc.CloseIdleConnections() }

// chargeParams are the parameters of a charge attempt's create request.
// They must be the same for the same request every time: Lookup replays
// them under the attempt's key to read the stored answer.
func chargeParams(ctx context.Context, req payment.ChargeRequest) *stripe.PaymentIntentCreateParams {
	p := &stripe.PaymentIntentCreateParams{
		Amount:        stripe.Int64(req.Amount.Amount),
		Currency:      stripe.String(strings.ToLower(req.Amount.Currency)),
		Confirm:       stripe.Bool(true),
		PaymentMethod: stripe.String(req.Token),
		// Card tokens only, confirmed on the server: a card that needs
		// authentication by the buyer is a decline, never a PaymentIntent
		// left waiting in requires_action.
		PaymentMethodTypes:    []*string{stripe.String("card")},
		ErrorOnRequiresAction: stripe.Bool(true),
		Metadata:              map[string]string{MetaAttempt: req.Key, MetaOrder: req.OrderID},
	}
	p.Context = ctx
	p.IdempotencyKey = stripe.String(req.Key)
	return p
}

// fenceParams are the parameters of a Lookup fence: a create under the
// attempt's key that cannot charge (no payment method, not confirmed).
func fenceParams(ctx context.Context, req payment.ChargeRequest) *stripe.PaymentIntentCreateParams {
	p := &stripe.PaymentIntentCreateParams{
		Amount:             stripe.Int64(req.Amount.Amount),
		Currency:           stripe.String(strings.ToLower(req.Amount.Currency)),
		Confirm:            stripe.Bool(false),
		PaymentMethodTypes: []*string{stripe.String("card")},
		Metadata:           map[string]string{MetaAttempt: req.Key, MetaOrder: req.OrderID, MetaFence: "1"},
	}
	p.Context = ctx
	p.IdempotencyKey = stripe.String(req.Key)
	return p
}

// checkKey checks an idempotency key: 1–255 printable ASCII bytes.
func checkKey(key string) error {
	if key == "" || len(key) > 255 {
		return fmt.Errorf("idempotency key must be 1-255 bytes, got %d", len(key))
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return fmt.Errorf("idempotency key must be printable ASCII, byte %d is %#x", i, key[i])
		}
	}
	return nil
}

func checkCharge(req payment.ChargeRequest) error {
	if err := checkKey(req.Key); err != nil {
		return err
	}
	switch {
	case req.Token == "":
		return errors.New("payment token: required")
	case req.Amount.Amount <= 0:
		return fmt.Errorf("amount: must be positive, got %d", req.Amount.Amount)
	case len(req.Amount.Currency) != 3:
		return fmt.Errorf("currency: want a three-letter ISO code, got %q", req.Amount.Currency)
	}
	return nil
}

// Charge implements payment.Gateway.
func (g *Gateway) Charge(ctx context.Context, req payment.ChargeRequest) (payment.Charge, error) {
	if err := checkCharge(req); err != nil {
		// Refused before anything was sent.
		return payment.Charge{}, fmt.Errorf("cannot charge: %v: %w", err, payment.ErrNotSent)
	}
	// Go's transport resends a request that carries an Idempotency-Key on
	// a new connection when a kept-alive one broke after the request was
	// written: a dial error of that resend does not prove the gateway never
	// got the first. So "not sent" needs no connection ever obtained.
	var connected atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { connected.Store(true) }})
	pi, err := g.sc.V1PaymentIntents.Create(ctx, chargeParams(ctx, req))
	if err != nil {
		var se *stripe.Error
		if connected.Load() && !errors.As(err, &se) {
			return payment.Charge{}, fmt.Errorf("cannot charge: %v (after a connection was made: the request may have reached the gateway): %w", err, payment.ErrGateway)
		}
		return payment.Charge{}, chargeError(err)
	}
	return chargeResult(pi)
}

// chargeResult maps the PaymentIntent a charge request returned.
func chargeResult(pi *stripe.PaymentIntent) (payment.Charge, error) {
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		return payment.Charge{ID: pi.ID}, nil
	case stripe.PaymentIntentStatusRequiresPaymentMethod:
		if pi.LastPaymentError != nil {
			return payment.Charge{}, declineError(pi.LastPaymentError)
		}
	}
	// processing, requires_action, …: not charged yet, maybe later.
	return payment.Charge{}, fmt.Errorf("cannot charge: payment intent %s is %s: %w", pi.ID, pi.Status, payment.ErrGateway)
}

// chargeError maps the error of a charge request.
func chargeError(err error) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		switch {
		case se.Type == stripe.ErrorTypeCard:
			return declineError(se)
		case se.HTTPStatusCode == http.StatusBadRequest && se.Type == stripe.ErrorTypeInvalidRequest &&
			(se.Param == "payment_method" || se.Code == stripe.ErrorCodeResourceMissing):
			return fmt.Errorf("cannot charge: %s: %w", se.Msg, payment.ErrInvalidToken)
		case se.HTTPStatusCode == http.StatusUnauthorized || se.HTTPStatusCode == http.StatusTooManyRequests:
			// Stripe refuses these before running the request: nothing
			// was charged, and another gateway may be tried.
			return fmt.Errorf("cannot charge: gateway refused the request (%d %s): %w", se.HTTPStatusCode, se.Msg, payment.ErrNotSent)
		}
		// 400 idempotency_error (the key was used with other parameters,
		// e.g. fenced by a Lookup), 409 (a request under the key in
		// progress), 5xx, other refusals: Lookup tells.
		return fmt.Errorf("cannot charge: gateway answered %d %s %s: %w", se.HTTPStatusCode, se.Type, se.Msg, payment.ErrGateway)
	}
	return transportError("charge", err)
}

// transportError maps an error that is not a Stripe error body: a
// connection that could not be made is ErrNotSent, anything else (a
// timeout, a reset or closed connection, an undecodable answer) leaves
// the outcome unknown.
func transportError(op string, err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return fmt.Errorf("cannot %s: %v: %w", op, err, payment.ErrNotSent)
	}
	return fmt.Errorf("cannot %s: %v: %w", op, err, payment.ErrGateway)
}

// declineError maps a card error to the decline sentinels.
func declineError(se *stripe.Error) error {
	switch {
	case se.DeclineCode == stripe.DeclineCodeInsufficientFunds:
		return fmt.Errorf("charge declined: %s: %w", se.Msg, payment.ErrInsufficientFunds)
	case se.Code == stripe.ErrorCodeResourceMissing || se.Param == "payment_method":
		return fmt.Errorf("charge declined: %s: %w", se.Msg, payment.ErrInvalidToken)
	}
	return fmt.Errorf("charge declined (%s %s): %s: %w", se.Code, se.DeclineCode, se.Msg, payment.ErrDeclined)
}
