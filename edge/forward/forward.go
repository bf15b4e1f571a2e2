// Package forward carries the edge's cart, checkout and order requests to a
// core. It forwards exactly the write routes of the public API (see
// routes.go), each rebuilt from its validated parameters with an
// allow-list of headers, after per-client budgets (limits.go) and the
// card-number screen. One fasthttp HostClient and one circuit breaker per
// core address, a bound on requests in flight, and fast 503 + Retry-After
// answers when no core can take the request, so a struggling core never
// holds the edge's connections hostage; only a core's own failures open
// its breaker (breaker.go).
package forward

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	json "github.com/goccy/go-json"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/internal/config"
	"shopedge/internal/httpserver"
)

// Header names the forwarder reads or writes.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderRequestID      = httpserver.HeaderRequestID
)

// maxIdempotencyKey is the longest Idempotency-Key a core accepts.
const maxIdempotencyKey = 255

// Forwarder forwards requests to the cores. It is safe for concurrent use;
// create it once with New and keep it for the edge's lifetime.
type Forwarder struct {
	cfg        Config
	log        zerolog.Logger
	backends   []*backend
	next       atomic.Uint32
	inFlight   atomic.Int64
	retryAfter string
	limits     *limiter
	m          *forwardMetrics
	// warnedMax is the core's announced longest checkout last logged as
	// exceeding CheckoutTimeout (milliseconds).
	warnedMax atomic.Int64
	// digesters verify cart digests (one per DigestKeys entry); answers
	// caches the sold-out bodies (soldout.go).
	digesters []*api.CartDigester
	answers   *soldOutAnswers
	// routing is set when checkouts are routed to their SKU's owner
	// (Config.RouteCheckouts with DigestKeys); addrs are the backends'
	// addresses, the rendezvous nodes; heat counts checkouts per SKU
	// (route.go).
	routing bool
	addrs   []string
	heat    *skuHeat
}

// backend is one core address with its connection pool and breaker.
type backend struct {
	addr string
	hc   *fasthttp.HostClient
	cb   *breaker
}

// New returns a Forwarder over cfg.Addrs. Its metrics are registered on ms.
func New(cfg Config, log zerolog.Logger, ms *metrics.Set) (*Forwarder, error) {
	if err := config.Validate(&cfg); err != nil {
		return nil, fmt.Errorf("cannot create forwarder: %w", err)
	}
	if ms == nil {
		return nil, errors.New("cannot create forwarder: nil metrics set")
	}
	f := &Forwarder{
		cfg:        cfg,
		log:        log.With().Str("component", "forward").Logger(),
		retryAfter: strconv.Itoa(int((cfg.RetryAfter + time.Second - 1) / time.Second)),
		limits:     newLimiter(cfg.Limits),
		answers:    newSoldOutAnswers(),
		heat:       newSKUHeat(),
		addrs:      cfg.Addrs,
	}
	for _, k := range cfg.DigestKeys {
		if k != "" {
			f.digesters = append(f.digesters, api.NewCartDigester([]byte(k)))
		}
	}
	f.routing = cfg.RouteCheckouts && len(f.digesters) > 0
	f.m = newForwardMetrics(ms, f)
	for _, addr := range cfg.Addrs {
		b := &backend{addr: addr, hc: f.newHostClient(addr)}
		b.cb = newBreaker(cfg.BreakerFailures, cfg.BreakerOpenFor, cfg.BreakerHalfOpenRequests, func(from, to breakerState) {
			f.log.Warn().Str("core", addr).Str("from", from.String()).Str("to", to.String()).
				Msg("core circuit breaker changed state")
		})
		f.m.registerBackend(ms, b)
		f.backends = append(f.backends, b)
	}
	return f, nil
}

func (f *Forwarder) newHostClient(addr string) *fasthttp.HostClient {
	dialTimeout := f.cfg.DialTimeout
	return &fasthttp.HostClient{
		Addr:                      addr,
		Name:                      "shopedge-edge-forward",
		MaxConns:                  f.cfg.MaxConnsPerAddr,
		MaxConnWaitTimeout:        f.cfg.Timeout,
		MaxIdleConnDuration:       30 * time.Second,
		MaxResponseBodySize:       f.cfg.MaxResponseBodySize,
		MaxIdemponentCallAttempts: f.cfg.MaxAttempts,
		// Each request's deadline (DoDeadline) bounds it: a checkout's
		// is longer than a cart read's.
		Dial: func(a string) (net.Conn, error) {
			return fasthttp.DialTimeout(a, dialTimeout)
		},
		// HostClient retries GET, HEAD and PUT by default. A write may run
		// twice only when the core can recognise the replay by its key.
		RetryIfErr: func(req *fasthttp.Request, _ int, err error) (bool, bool) {
			if errors.Is(err, fasthttp.ErrTimeout) {
				return false, false
			}
			return false, retryable(req)
		},
	}
}

// retryable reports whether req may be sent to a core more than once.
func retryable(req *fasthttp.Request) bool {
	h := &req.Header
	if h.IsGet() || h.IsHead() {
		return true
	}
	return len(h.Peek(HeaderIdempotencyKey)) > 0
}

// Close closes the idle connections to the cores. Requests still being
// forwarded finish; the edge calls Close after its server has stopped.
func (f *Forwarder) Close() error {
	for _, b := range f.backends {
		b.hc.CloseIdleConnections()
	}
	return nil
}

// InFlight returns the number of requests being forwarded now.
func (f *Forwarder) InFlight() int { return int(f.inFlight.Load()) }

// Endpoints returns the forwarded routes with their handlers, for the
// edge's router. Nothing else reaches a core through the edge.
func (f *Forwarder) Endpoints() []Endpoint {
	eps := make([]Endpoint, len(routes))
	for i := range routes {
		rt := &routes[i]
		eps[i] = Endpoint{Method: rt.method, Path: rt.pattern, Handler: func(ctx *fasthttp.RequestCtx) { f.handle(ctx, rt) }}
	}
	return eps
}

// CheckoutTimeout returns the bound of a checkout or cancel now:
// Config.CheckoutTimeout, or the core's announced longest checkout plus
// Config.CheckoutMargin when that is longer (logged once per announced
// value, naming the setting to raise).
func (f *Forwarder) CheckoutTimeout() time.Duration {
	d := f.cfg.CheckoutTimeout
	if f.cfg.CoreCheckoutMax == nil {
		return d
	}
	max := f.cfg.CoreCheckoutMax()
	if max < d {
		return d
	}
	if f.warnedMax.Swap(max.Milliseconds()) != max.Milliseconds() {
		f.log.Error().Dur("forward.checkout_timeout", d).Dur("core_longest_checkout", max).
			Dur("using", max+f.cfg.CheckoutMargin).
			Msg("forward.checkout_timeout must exceed the core's longest checkout; raise it")
	}
	return max + f.cfg.CheckoutMargin
}

// handle forwards ctx's request on rt to a core and writes the core's
// answer (or a JSON error) to ctx. It keeps nothing of ctx after
// returning.
func (f *Forwarder) handle(ctx *fasthttp.RequestCtx, rt *route) {
	start := time.Now()
	// The request id (the client's when valid, else a new one) goes on the
	// response now, so that early errors carry it too; buildRequest sends
	// the same id to the core.
	httpserver.RequestID(ctx)
	defer func() {
		ctx.Response.Header.Set("Cache-Control", "no-store")
		f.m.duration.UpdateDuration(start)
	}()

	if n := f.inFlight.Add(1); n > int64(f.cfg.MaxInFlight) {
		f.inFlight.Add(-1)
		f.m.rejectedInFlight.Inc()
		f.unavailable(ctx, "too many requests in flight to the core")
		return
	}
	defer f.inFlight.Add(-1)

	ip := f.limits.clientIP(ctx)
	var keyBuf [24]byte
	client := clientKey(keyBuf[:0], ip)
	var kb [64]byte
	if wait := f.limits.take(keyed(kb[:0], kindClientBucket, client), f.cfg.Limits.ClientRate, f.cfg.Limits.ClientBurst); wait > 0 {
		f.tooMany(ctx, f.m.limitedClient, wait, "too many requests from this client")
		return
	}

	var p [2]string
	req, e := f.check(ctx, rt, &p)
	if e != nil {
		api.WriteError(ctx, e)
		return
	}
	cart := p[0]
	if rt.checkout {
		cart = req.cartID
	}
	if (rt.cartPath || rt.checkout) && cart != "" {
		if wait := f.limits.take(keyed(kb[:0], kindCartBucket, []byte(cart)), f.cfg.Limits.CartRate, f.cfg.Limits.CartBurst); wait > 0 {
			f.tooMany(ctx, f.m.limitedCart, wait, "too many writes to this cart")
			return
		}
	}
	if rt.checkout && !f.checkoutAllowed(ctx, client, cart) {
		return
	}
	if f.cfg.SoldOut != nil && rt.name == "set_item" && f.soldOutItem(ctx, p[0], p[1]) {
		return
	}
	// A checkout with a verified cart digest: the edge may answer it
	// itself (a sold-out line), else it goes to the owner of one of its
	// SKUs first (route.go).
	var orderBuf [16]int
	var skuBuf [api.MaxSKULen]byte
	var order []int
	var routeSKU []byte
	if rt.checkout && req.checkout && len(f.digesters) > 0 && (f.cfg.SoldOut != nil || f.routing) {
		buf := digestBufs.Get().(*[384]byte)
		d, ok := f.cartDigest(ctx, req.req.CartID, buf[:])
		if ok && f.cfg.SoldOut != nil && f.soldOutCheckout(ctx, d) {
			digestBufs.Put(buf)
			return
		}
		if ok && f.routing {
			order, routeSKU = f.checkoutOrder(orderBuf[:0], skuBuf[:0], d)
		}
		digestBufs.Put(buf)
	}

	out := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(out)
	defer fasthttp.ReleaseResponse(resp)
	var ipBuf [48]byte
	buildRequest(out, ctx, rt, &p, req.token, appendIP(ipBuf[:0], ip))
	if len(routeSKU) > 0 {
		// The owner core runs it without reading the cart to route it.
		out.Header.SetBytesV(api.HeaderRouteSKU, routeSKU)
	}

	timeout := f.cfg.Timeout
	if rt.slow {
		timeout = f.CheckoutTimeout()
	}
	if !f.do(ctx, rt, out, resp, start.Add(timeout), timeout, order) {
		return
	}
	copyResponse(ctx, resp)
	if rt.checkout && paymentFailed(resp) {
		f.m.failedPayments.Inc()
		f.limits.count(keyed(kb[:0], kindFailClient, client), f.cfg.Limits.FailedPaymentsPerClient, true)
		if cart != "" {
			f.limits.count(keyed(kb[:0], kindFailCart, []byte(cart)), f.cfg.Limits.FailedPaymentsPerCart, true)
		}
	}
}

// appendIP appends ip's text form to dst without allocating.
func appendIP(dst []byte, ip net.IP) []byte {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return dst
	}
	return a.Unmap().AppendTo(dst)
}

// checked is what check read from a request besides its path parameters.
type checked struct {
	token  string // the order's access token (routes taking one)
	cartID string // a checkout's cart (when its body names a valid one)
	// req is a checkout's body; checkout is set when it is valid as the
	// core checks it (api.ValidateCheckout, with the Idempotency-Key).
	req      *api.CheckoutRequest
	checkout bool
}

// check validates ctx's request on rt before it may cost a core
// anything: path parameters, query, body size, Idempotency-Key, and the
// card-number screen over every value forwarded or logged.
func (f *Forwarder) check(ctx *fasthttp.RequestCtx, rt *route, p *[2]string) (checked, *api.Error) {
	var c checked
	if e := rt.readParams(ctx, p); e != nil {
		f.m.rejectedInvalid.Inc()
		return c, e
	}
	if api.ContainsCardNumber([]byte(p[0])) || api.ContainsCardNumber([]byte(p[1])) ||
		api.ContainsCardNumber(ctx.URI().QueryString()) || api.ContainsCardDataArgs(ctx.QueryArgs()) {
		f.m.rejectedCardData.Inc()
		return c, errCardData
	}
	if rt.token {
		c.token = string(ctx.QueryArgs().Peek("token"))
		if !api.ValidOrderToken(c.token) {
			f.m.rejectedInvalid.Inc()
			return c, errNoOrder // as the core answers a wrong token
		}
	}
	body := ctx.Request.Body()
	if len(body) > f.cfg.MaxBodySize {
		f.m.rejectedTooLarge.Inc()
		return c, api.Errorf(api.ECodeTooLarge, "request body exceeds %d bytes", f.cfg.MaxBodySize)
	}
	key := ctx.Request.Header.Peek(HeaderIdempotencyKey)
	if len(key) > maxIdempotencyKey {
		f.m.rejectedInvalid.Inc()
		return c, api.Invalid(HeaderIdempotencyKey, "must be 1-%d printable ASCII bytes", maxIdempotencyKey)
	}
	if api.ContainsCardNumber(key) || api.ContainsCardNumber(ctx.Request.Header.Peek("Accept")) ||
		api.ContainsCardNumber(ctx.Request.Header.ContentType()) || (rt.body && api.ContainsCardDataJSON(body)) {
		f.m.rejectedCardData.Inc()
		return c, errCardData
	}
	if rt.checkout {
		// Allocated here only: a decode target escapes, and checked is
		// on the stack of every forwarded request.
		r := new(api.CheckoutRequest)
		if json.Unmarshal(body, r) == nil {
			if api.ValidCartID(r.CartID) {
				c.cartID = r.CartID
			}
			c.req = r
			c.checkout = len(body) > 0 && api.ValidateCheckout(string(key), *r) == nil
		}
	}
	return c, nil
}

var errCardData = api.Errorf(api.ECodeCardData, "card numbers are never accepted; pay with a payment token")

// checkoutAllowed applies the checkout caps of client and cart; it writes
// 429 and returns false when one is reached, else counts the checkout.
func (f *Forwarder) checkoutAllowed(ctx *fasthttp.RequestCtx, client []byte, cart string) bool {
	lc := f.cfg.Limits
	var kb [64]byte
	if ok, wait := f.limits.count(keyed(kb[:0], kindFailClient, client), lc.FailedPaymentsPerClient, false); !ok {
		f.tooMany(ctx, f.m.limitedFailedPayments, wait, "too many failed payments from this client")
		return false
	}
	if cart == "" {
		return true
	}
	if ok, wait := f.limits.count(keyed(kb[:0], kindFailCart, []byte(cart)), lc.FailedPaymentsPerCart, false); !ok {
		f.tooMany(ctx, f.m.limitedFailedPayments, wait, "too many failed payments for this cart")
		return false
	}
	if ok, wait := f.limits.count(keyed(kb[:0], kindCheckouts, []byte(cart)), lc.CheckoutsPerCart, true); !ok {
		f.tooMany(ctx, f.m.limitedCheckouts, wait, "too many checkouts of this cart")
		return false
	}
	return true
}

// paymentFailed reports whether a checkout answer says the payment failed:
// declined (402), or its outcome unknown (503 payment_unknown).
func paymentFailed(resp *fasthttp.Response) bool {
	switch resp.StatusCode() {
	case fasthttp.StatusPaymentRequired:
		return true
	case fasthttp.StatusServiceUnavailable:
		return errorCode(resp.Body()) == api.ECodePaymentUnknown
	}
	return false
}

// errorCode returns the code of a JSON error body, or "".
func errorCode(body []byte) string {
	if !bytes.HasPrefix(bytes.TrimSpace(body), []byte(`{"error"`)) {
		return ""
	}
	var eb api.ErrorBody
	if json.Unmarshal(body, &eb) != nil || eb.Error == nil {
		return ""
	}
	return eb.Error.Code
}

// healthOf classifies a core's answer for its breaker: a 503 is the
// core's own failure when it says unavailable, or when it is not the
// core's JSON at all (fasthttp's plain-text answer when its concurrency
// limit is reached); every other answer comes from a healthy core.
func healthOf(resp *fasthttp.Response) outcome {
	if resp.StatusCode() != fasthttp.StatusServiceUnavailable {
		return success
	}
	switch errorCode(resp.Body()) {
	case api.ECodeUnavailable, "":
		return failure
	}
	return success
}

// do sends req to the cores in turn, skipping open breakers: in order
// (indexes of f.backends, a checkout's rendezvous order) when it is not
// empty, else starting from the next in round-robin order. It returns true
// when resp holds a core answer; otherwise it has written an error to ctx.
func (f *Forwarder) do(ctx *fasthttp.RequestCtx, rt *route, req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time, timeout time.Duration, order []int) bool {
	n := len(f.backends)
	first := int(f.next.Add(1))
	open, canRetry := 0, retryable(req)
	for i := 0; i < n; i++ {
		var b *backend
		if len(order) == n {
			b = f.backends[order[i]]
		} else {
			b = f.backends[(first+i)%n]
		}
		probe, ok := b.cb.allow()
		if !ok {
			open++
			continue
		}
		req.SetHost(b.addr)
		err := b.hc.DoDeadline(req, resp, deadline)
		if err == nil {
			b.cb.done(probe, healthOf(resp))
			f.m.countStatus(resp.StatusCode())
			if rt.checkout {
				f.m.countRoute(len(order) == n, len(order) == n && b == f.backends[order[0]])
			}
			return true
		}
		switch {
		case errors.Is(err, fasthttp.ErrTimeout):
			if rt.slow {
				b.cb.done(probe, ignored) // the payment gateway's time, not the core's
			} else {
				b.cb.done(probe, failure)
			}
			f.m.errTimeout.Inc()
			api.WriteError(ctx, api.Errorf(api.ECodeTimeout, "core did not answer within %s", timeout))
			return false
		case notSent(err):
			b.cb.done(probe, failure)
			f.m.errDial.Inc()
			f.log.Debug().Str("core", b.addr).Err(err).Msg("cannot reach core")
		default:
			b.cb.done(probe, failure)
			f.m.errConn.Inc()
			f.log.Warn().Str("core", b.addr).Str("route", rt.name).Err(err).Msg("core connection failed")
			if !canRetry {
				f.unavailable(ctx, "core connection failed; the outcome is unknown (send an Idempotency-Key to retry safely)")
				return false
			}
		}
		if time.Now().After(deadline) {
			break
		}
	}
	if open == n {
		f.m.rejectedBreaker.Inc()
		f.unavailable(ctx, "every core is failing; writes are paused")
	} else {
		f.m.rejectedUnreachable.Inc()
		f.unavailable(ctx, "core unreachable")
	}
	return false
}

// notSent reports whether err means the request never left the edge, so
// another core may take it whatever its method.
func notSent(err error) bool {
	if errors.Is(err, fasthttp.ErrDialTimeout) || errors.Is(err, fasthttp.ErrNoFreeConns) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// unavailable writes a 503 with Retry-After.
func (f *Forwarder) unavailable(ctx *fasthttp.RequestCtx, msg string) {
	api.WriteError(ctx, api.Errorf(api.ECodeUnavailable, "%s; retry after %ss", msg, f.retryAfter))
	ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, f.retryAfter)
}

// tooMany writes a 429 with Retry-After (whole seconds, at least 1) and
// counts it on c.
func (f *Forwarder) tooMany(ctx *fasthttp.RequestCtx, c *metrics.Counter, wait time.Duration, msg string) {
	c.Inc()
	secs := int((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	api.WriteError(ctx, api.Errorf(api.ECodeTooMany, "%s; retry after %ds", msg, secs))
	ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, strconv.Itoa(secs))
}
