package forward

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
)

// SoldOutSet tells which SKUs are sold out, from the edge's view of the
// core's change feed (edge/soldout.Set).
type SoldOutSet interface {
	SoldOut(sku []byte) bool
}

// maxAnsweredBody is the largest request body the edge answers in a
// core's stead: the smallest body limit a core can be configured with
// (shopapi.max_body_bytes), so a core would never have refused it as too
// large. Larger bodies are forwarded.
const maxAnsweredBody = 256

// digestExpiryMargin: a digest whose cart expires sooner than this is not
// used (the core and the edge's clocks may differ a little); the checkout
// is forwarded.
const digestExpiryMargin = time.Minute

// The edge answers a request itself, as the core would, when it knows it
// can only be refused for a sold-out SKU (see the README, "Sold out at the
// edge"):
//   - a cart add (PUT of an item, a positive quantity) of a sold-out SKU:
//     409 api.SoldOutError, whatever the cart (the core checks the SKU
//     first);
//   - a checkout whose valid body names a cart whose digest (the
//     HeaderCartDigest the core signed, sent back by the client) verifies,
//     with a sold-out line: 409 api.OutOfStockError naming the sold-out
//     lines (the core names those first).
//
// Everything the core would check before (the fields, the body size, the
// card screen, the per-client budgets) has been checked already. A lying
// client (an old digest, a digest sent with a retry of a checkout that
// went through) only gets a wrong 409 for its own cart; the core still
// decides every checkout the edge forwards.

// soldOutItem answers a cart add of sku when it is sold out and the body
// is one the core reads as a positive quantity.
func (f *Forwarder) soldOutItem(ctx *fasthttp.RequestCtx, cartID, sku string) bool {
	if !f.cfg.SoldOut.SoldOut(s2b(sku)) {
		return false
	}
	body := ctx.Request.Body()
	if len(body) == 0 || len(body) > maxAnsweredBody {
		return false
	}
	// The core's shape (shopapi.quantityBody): a missing quantity, a
	// fraction, a string or an out-of-range number is its 400.
	var q struct {
		Quantity *int64 `json:"quantity"`
	}
	if json.Unmarshal(body, &q) != nil || q.Quantity == nil || *q.Quantity < 1 {
		return false
	}
	f.writeSoldOut(ctx, f.answers.item(sku, *q.Quantity))
	f.m.soldOutItem.Inc()
	return true
}

// cartDigest verifies the cart digest ctx's checkout of cartID carries,
// decoding it into buf (a [384]byte: the longest), and returns it when it
// verifies under one of the keys and its cart does not expire within
// digestExpiryMargin. The digest aliases buf.
func (f *Forwarder) cartDigest(ctx *fasthttp.RequestCtx, cartID string, buf []byte) (api.CartDigest, bool) {
	enc := ctx.Request.Header.Peek(api.HeaderCartDigest)
	if len(enc) == 0 {
		return nil, false
	}
	var d api.CartDigest
	err := api.ErrBadCartDigest
	for _, dg := range f.digesters {
		if d, err = dg.Verify(buf, cartID, enc); err == nil {
			break
		}
	}
	if err != nil {
		f.m.digestInvalid.Inc()
		return nil, false
	}
	if time.Unix(d.ExpiresAt(), 0).Before(time.Now().Add(digestExpiryMargin)) {
		f.m.digestExpired.Inc()
		return nil, false
	}
	f.m.digestValid.Inc()
	return d, true
}

// soldOutCheckout answers a checkout of a cart whose verified digest d
// holds a sold-out line.
func (f *Forwarder) soldOutCheckout(ctx *fasthttp.RequestCtx, d api.CartDigest) bool {
	if len(ctx.Request.Body()) > maxAnsweredBody {
		return false
	}
	// A plain loop over the lines (no closure) keeps the digest's buffer
	// where the caller put it.
	var short []api.ShortLine
	for off, ok := 0, true; ; {
		var sku []byte
		var qty int64
		if sku, qty, off, ok = d.Line(off); !ok {
			break
		}
		if f.cfg.SoldOut.SoldOut(sku) {
			short = append(short, api.ShortLine{SKU: string(sku), Requested: qty})
		}
	}
	switch len(short) {
	case 0:
		return false
	case 1:
		f.writeSoldOut(ctx, f.answers.checkout(short[0].SKU, short[0].Requested))
	default:
		f.writeSoldOut(ctx, api.ErrorJSON(api.OutOfStockError(short)))
	}
	f.m.soldOutCheckout.Inc()
	return true
}

// digestBufs holds the buffers cart digests are decoded into.
var digestBufs = sync.Pool{New: func() any { return new([384]byte) }}

// writeSoldOut writes a 409 with body, marked as the edge's answer.
func (f *Forwarder) writeSoldOut(ctx *fasthttp.RequestCtx, body []byte) {
	ctx.SetStatusCode(fasthttp.StatusConflict)
	ctx.Response.Header.SetContentType("application/json")
	ctx.Response.Header.Set(api.HeaderAnsweredBy, "edge")
	ctx.Response.SetBodyRaw(body)
}

// soldOutAnswers caches the rendered sold-out bodies by kind, SKU and
// quantity (most buyers of a sold-out SKU send the same one): fixed slots
// indexed by a hash, each holding the last body rendered there. The bodies
// are immutable once published.
type soldOutAnswers struct {
	seed  maphash.Seed
	slots [256]atomic.Pointer[soldOutAnswer]
}

type soldOutAnswer struct {
	checkout bool
	sku      string
	qty      int64
	body     []byte
}

func newSoldOutAnswers() *soldOutAnswers { return &soldOutAnswers{seed: maphash.MakeSeed()} }

// item returns the body of a cart add of qty × sku (api.SoldOutError).
func (a *soldOutAnswers) item(sku string, qty int64) []byte {
	return a.get(false, sku, qty, func() *api.Error { return api.SoldOutError(sku, qty) })
}

// checkout returns the body of a checkout whose one sold-out line is
// qty × sku (api.OutOfStockError).
func (a *soldOutAnswers) checkout(sku string, qty int64) []byte {
	return a.get(true, sku, qty, func() *api.Error {
		return api.OutOfStockError([]api.ShortLine{{SKU: sku, Requested: qty}})
	})
}

func (a *soldOutAnswers) get(checkout bool, sku string, qty int64, render func() *api.Error) []byte {
	h := maphash.String(a.seed, sku)
	if checkout {
		h = ^h
	}
	slot := &a.slots[h%uint64(len(a.slots))]
	if b := slot.Load(); b != nil && b.checkout == checkout && b.qty == qty && b.sku == sku {
		return b.body
	}
	// sku may alias the request: the cache keeps a copy.
	b := &soldOutAnswer{checkout: checkout, sku: strings.Clone(sku), qty: qty, body: api.ErrorJSON(render())}
	slot.Store(b)
	return b.body
}

// s2b returns s's bytes without copying; they must not be modified.
func s2b(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
