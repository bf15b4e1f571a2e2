package cluster

import (
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"shopedge/core/api"
)

// RouteCheckout hands the checkout of cartID in ctx to the core that owns
// its cart's hottest SKU, when that SKU is hot at this core and its owner
// is another core: it then writes the owner's answer to ctx and reports
// true. Otherwise — nothing hot, this core owns the SKU, the checkout was
// handed over already, the owner cannot be reached — it reports false and
// the caller runs the checkout here, calling done (when not nil) once it
// has ended, so that the checkouts in flight are counted. Call it after the
// request was validated; the body is sent as it came.
func (c *Cluster) RouteCheckout(ctx *fasthttp.RequestCtx, cartID string) (handled bool, done func()) {
	if len(ctx.Request.Header.Peek(HeaderForwardedBy)) > 0 {
		c.received.Inc()
		return false, nil
	}
	if c.cfg.HotRate == 0 && c.cfg.HotConcurrency == 0 || len(*c.live.Load()) < 2 {
		return false, nil
	}
	// An edge sent it to the owner of this SKU of the cart: when that is
	// this core in this core's view too, it runs here, the cart unread.
	// Otherwise (the edge's view of the cores differs) it is routed as
	// any other.
	if sku := ctx.Request.Header.Peek(api.HeaderRouteSKU); len(sku) > 0 {
		if c.isSelf(c.owner(string(sku))) {
			c.edgeRouted.Inc()
			return false, nil
		}
		c.edgeMisrouted.Inc()
	}
	now := time.Now().Unix()
	look := c.heat.arrive(now, c.cfg.HotRate, c.cfg.HotConcurrency)
	var skus []string
	if look {
		var err error
		if skus, err = c.cartSKUs(ctx, cartID); err != nil {
			skus = nil
		}
	}
	done = func() { c.heat.leave(skus) }
	hot := c.heat.classify(now, skus, c.cfg.HotRate, c.cfg.HotConcurrency)
	if hot == "" {
		return false, done
	}
	o := c.owner(hot)
	if o.ID == "" || c.isSelf(o) || c.isDown(o.Addr) {
		return false, done
	}
	err := c.forward(ctx, o.Addr)
	if err != nil {
		c.forwardErrors.Inc()
		c.markDown(o.Addr)
		c.log.Warn().Err(err).Str("owner", o.Addr).Str("sku", hot).Msg("cannot hand a hot SKU's checkout to its owner; running it here")
		return false, done
	}
	done()
	c.forwarded.Inc()
	return true, nil
}

// isSelf reports whether member m is this core: its id, or a record of
// this core's address under another id (this process's earlier life,
// until its lease ends).
func (c *Cluster) isSelf(m member) bool { return m.ID == c.id || m.Addr == *c.addr.Load() }

// downFor is how long a peer that did not answer is passed over.
const downFor = 2 * time.Second

func (c *Cluster) isDown(addr string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.down[addr]
	return ok && time.Now().Before(until)
}

func (c *Cluster) markDown(addr string) {
	c.mu.Lock()
	c.down[addr] = time.Now().Add(downFor)
	c.mu.Unlock()
}

func (c *Cluster) client(addr string) *fasthttp.HostClient {
	c.mu.Lock()
	defer c.mu.Unlock()
	hc := c.clients[addr]
	if hc == nil {
		hc = &fasthttp.HostClient{
			Addr: addr, Name: "shopedge-core", MaxConns: 1024,
			ReadTimeout: c.timeout, WriteTimeout: 5 * time.Second, MaxIdleConnDuration: time.Minute,
			// Never resent: a checkout that may have reached the owner
			// runs here next, and its Idempotency-Key sorts it out.
			MaxIdemponentCallAttempts: 1,
			RetryIfErr:                func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
		}
		c.clients[addr] = hc
	}
	return hc
}

// Request headers a handed-over checkout keeps, and answer headers passed
// back; nothing else crosses.
var (
	forwardRequestHeaders = []string{"Content-Type", "Accept", "Idempotency-Key", "X-Request-ID", "X-Forwarded-For"}
	forwardAnswerHeaders  = []string{"Content-Type", "Cache-Control", "Retry-After", "Idempotent-Replayed", "X-Request-ID"}
)

// forward sends the checkout in ctx to addr and copies its answer into ctx.
// An error means no answer came (nothing was written to ctx): the
// checkout may or may not have started at the owner, and runs here next
// under the same Idempotency-Key, which tells the two apart.
func (c *Cluster) forward(ctx *fasthttp.RequestCtx, addr string) error {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI("/v1/checkout")
	req.Header.SetHost(addr)
	for _, h := range forwardRequestHeaders {
		if v := ctx.Request.Header.Peek(h); len(v) > 0 {
			req.Header.SetBytesV(h, v)
		}
	}
	req.Header.Set(HeaderForwardedBy, c.id)
	req.SetBodyRaw(ctx.Request.Body())
	if err := c.client(addr).DoTimeout(req, resp, c.timeout); err != nil {
		return fmt.Errorf("%w: %w", errNoAnswer, err)
	}
	ctx.Response.SetStatusCode(resp.StatusCode())
	for _, h := range forwardAnswerHeaders {
		if v := resp.Header.Peek(h); len(v) > 0 {
			ctx.Response.Header.SetBytesV(h, v)
		}
	}
	ctx.Response.SetBody(resp.Body())
	return nil
}
