// Package forward carries the edge's cart, checkout and order requests to a
// core: one fasthttp HostClient and one circuit breaker per core address, a
// bound on requests in flight, and fast 503 + Retry-After answers when the
// core cannot take the request, so a struggling core never holds the edge's
// connections hostage.
package forward

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
	"github.com/sony/gobreaker"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/internal/httpserver"
)

// Header names the forwarder reads or writes.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderRequestID      = httpserver.HeaderRequestID
)

// Forwarder forwards requests to the cores. It is safe for concurrent use;
// create it once with New and keep it for the edge's lifetime.
type Forwarder struct {
	cfg        Config
	log        zerolog.Logger
	backends   []*backend
	next       atomic.Uint32
	inFlight   atomic.Int64
	retryAfter string
	m          *forwardMetrics
}

// backend is one core address with its connection pool and breaker.
type backend struct {
	addr string
	hc   *fasthttp.HostClient
	cb   *gobreaker.TwoStepCircuitBreaker
}

// New returns a Forwarder over cfg.Addrs. Its metrics are registered on ms.
func New(cfg Config, log zerolog.Logger, ms *metrics.Set) (*Forwarder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cannot create forwarder: %w", err)
	}
	if ms == nil {
		return nil, errors.New("cannot create forwarder: nil metrics set")
	}
	f := &Forwarder{
		cfg:        cfg,
		log:        log.With().Str("component", "forward").Logger(),
		retryAfter: strconv.Itoa(int((cfg.RetryAfter + time.Second - 1) / time.Second)),
	}
	f.m = newForwardMetrics(ms, f)
	for _, addr := range cfg.Addrs {
		b := &backend{addr: addr, hc: f.newHostClient(addr)}
		b.cb = gobreaker.NewTwoStepCircuitBreaker(gobreaker.Settings{
			Name:        addr,
			MaxRequests: cfg.BreakerHalfOpenRequests,
			Timeout:     cfg.BreakerOpenFor,
			ReadyToTrip: func(c gobreaker.Counts) bool {
				return c.ConsecutiveFailures >= cfg.BreakerFailures
			},
			OnStateChange: func(name string, from, to gobreaker.State) {
				f.log.Warn().Str("core", name).Str("from", from.String()).
					Str("to", to.String()).Msg("core circuit breaker changed state")
			},
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
		Name:                      "shopedge-edge",
		MaxConns:                  f.cfg.MaxConnsPerAddr,
		MaxConnWaitTimeout:        f.cfg.Timeout,
		MaxIdleConnDuration:       30 * time.Second,
		MaxResponseBodySize:       f.cfg.MaxResponseBodySize,
		MaxIdemponentCallAttempts: f.cfg.MaxAttempts,
		ReadTimeout:               f.cfg.Timeout,
		WriteTimeout:              f.cfg.Timeout,
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

// Handle forwards ctx's request to a core and writes the core's answer (or
// a JSON error) to ctx. It keeps nothing of ctx after returning.
func (f *Forwarder) Handle(ctx *fasthttp.RequestCtx) {
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

	if len(ctx.Request.Body()) > f.cfg.MaxBodySize {
		f.m.rejectedTooLarge.Inc()
		api.WriteError(ctx, api.Errorf(api.ECodeTooLarge, "request body exceeds %d bytes", f.cfg.MaxBodySize))
		return
	}
	if api.ContainsCardNumber(ctx.Request.Body()) || api.ContainsCardNumber(ctx.URI().QueryString()) {
		f.m.rejectedCardData.Inc()
		api.WriteError(ctx, api.Errorf(api.ECodeCardData, "card numbers are never accepted; pay with a payment token"))
		return
	}

	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	buildRequest(req, ctx)

	if f.do(ctx, req, resp, start.Add(f.cfg.Timeout)) {
		copyResponse(ctx, resp)
	}
}

// do sends req to the cores in turn, starting from the next in round-robin
// order and skipping open breakers. It returns true when resp holds a core
// answer; otherwise it has written an error to ctx.
func (f *Forwarder) do(ctx *fasthttp.RequestCtx, req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time) bool {
	n := len(f.backends)
	first := int(f.next.Add(1))
	open, canRetry := 0, retryable(req)
	for i := 0; i < n; i++ {
		b := f.backends[(first+i)%n]
		done, err := b.cb.Allow()
		if err != nil {
			open++
			continue
		}
		req.SetHost(b.addr)
		err = b.hc.DoDeadline(req, resp, deadline)
		if err == nil {
			sc := resp.StatusCode()
			done(sc < 502 || sc > 504)
			f.m.countStatus(sc)
			return true
		}
		done(false)
		switch {
		case errors.Is(err, fasthttp.ErrTimeout):
			f.m.errTimeout.Inc()
			api.WriteError(ctx, api.Errorf(api.ECodeTimeout, "core did not answer within %s", f.cfg.Timeout))
			return false
		case notSent(err):
			f.m.errDial.Inc()
			f.log.Debug().Str("core", b.addr).Err(err).Msg("cannot reach core")
		default:
			f.m.errConn.Inc()
			f.log.Warn().Str("core", b.addr).Err(err).Msg("core connection failed")
			if !canRetry {
				api.WriteError(ctx, api.Errorf(api.ECodeUnavailable,
					"core connection failed; the outcome is unknown (send an Idempotency-Key to retry safely)"))
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
	ctx.Response.Header.Set("Retry-After", f.retryAfter)
}
