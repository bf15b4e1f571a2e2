// Package shopapi serves the core's public cart, checkout and order routes
// on fasthttp. The edge forwards the same routes here unchanged.
//
// Every request is screened before anything else: a body over
// Config.MaxBodyBytes is 413, and a card-number-like digit run in the URI,
// a header or the body is 400 card_data_rejected (and is never logged).
// Every response carries Cache-Control: no-store.
package shopapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/fasthttp/router"
	json "github.com/goccy/go-json"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/core/cart"
	"shopedge/core/checkout"
	"shopedge/internal/config"
	"shopedge/store"
)

// Config configures the routes.
type Config struct {
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes int `yaml:"max_body_bytes"`
}

// DefaultConfig returns the defaults: bodies up to 16 KiB.
func DefaultConfig() Config { return Config{MaxBodyBytes: 16 << 10} }

// Validate reports the first invalid field.
func (c Config) Validate() error {
	if c.MaxBodyBytes < 256 || c.MaxBodyBytes > 1<<20 {
		return config.Invalid("max_body_bytes", "must be within [256, 1MiB], got %d", c.MaxBodyBytes)
	}
	return nil
}

// IdempotentReplayedHeader is set to "true" on a checkout answer replayed
// from its Idempotency-Key.
const IdempotentReplayedHeader = "Idempotent-Replayed"

// API holds the route handlers. It keeps no per-request state.
type API struct {
	carts  *cart.Service
	co     *checkout.Service
	cfg    Config
	log    zerolog.Logger
	router CheckoutRouter
}

// CheckoutRouter may answer a validated checkout itself, by handing it to
// the core that owns its cart's hot SKU (core/cluster); it reports whether
// it did; when it did not, the checkout runs here and done (when not nil)
// is called once it has ended.
type CheckoutRouter interface {
	RouteCheckout(ctx *fasthttp.RequestCtx, cartID string) (handled bool, done func())
}

// SetCheckoutRouter makes r see every valid checkout before it runs here.
// Call it before Register.
func (a *API) SetCheckoutRouter(r CheckoutRouter) { a.router = r }

// New returns the routes over carts and co, or an error naming the
// invalid setting of cfg.
func New(carts *cart.Service, co *checkout.Service, cfg Config, log zerolog.Logger) (*API, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cannot create the shop API: %w", err)
	}
	return &API{carts: carts, co: co, cfg: cfg, log: log}, nil
}

// Register adds the public cart, checkout and order routes to r.
func (a *API) Register(r *router.Router) {
	r.POST("/v1/carts", a.wrap("create_cart", a.createCart))
	r.GET("/v1/carts/{id}", a.wrap("get_cart", a.getCart))
	r.PUT("/v1/carts/{id}/items/{sku}", a.wrap("set_item", a.setItem))
	r.DELETE("/v1/carts/{id}/items/{sku}", a.wrap("delete_item", a.deleteItem))
	r.POST("/v1/checkout", a.wrap("checkout", a.checkout))
	r.GET("/v1/orders/{id}", a.wrap("get_order", a.getOrder))
	r.POST("/v1/orders/{id}/cancel", a.wrap("cancel_order", a.cancelOrder))
}

type handler func(ctx *fasthttp.RequestCtx) error

// wrap screens the request, runs h and renders its error. Only internal
// errors are logged, with the route name and never request data.
func (a *API) wrap(route string, h handler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		err := a.screen(ctx)
		if err == nil {
			err = h(ctx)
		}
		if err == nil {
			return
		}
		switch api.ErrorCode(err) {
		case api.ECodeInternal:
			a.log.Error().Err(err).Str("route", route).Msg("request failed")
			err = unavailable(err)
		case api.ECodePaymentUnknown:
			// The order keeps its stock; a retry of the key after this
			// long looks the charge up.
			ctx.Response.Header.Set("Retry-After", strconv.FormatInt(a.co.PaymentRetryAfter(), 10))
		}
		api.WriteError(ctx, err)
	}
}

var (
	errCardData = api.Errorf(api.ECodeCardData, "the request contains what looks like a card number; send a payment token instead")
	errTooLarge = api.Errorf(api.ECodeTooLarge, "the request body is too large")
)

// screen rejects oversized bodies and any card data in the path, query,
// headers or body, read decoded (see api.CardDataIn).
func (a *API) screen(ctx *fasthttp.RequestCtx) error {
	if len(ctx.Request.Body()) > a.cfg.MaxBodyBytes {
		return errTooLarge
	}
	if api.CardDataIn(&ctx.Request) != "" {
		return errCardData
	}
	return nil
}

// unavailable turns the store failures that mean this core cannot serve
// now (closed while draining, a transaction that kept conflicting on a hot
// key, a deadline) into api.ECodeUnavailable, the one 503 an edge counts
// against a core; other errors are returned as they are.
func unavailable(err error) error {
	if errors.Is(err, store.ErrClosed) || errors.Is(err, store.ErrConflict) || errors.Is(err, context.DeadlineExceeded) {
		return api.Errorf(api.ECodeUnavailable, "this core cannot serve the request now; retry")
	}
	return err
}

func param(ctx *fasthttp.RequestCtx, name string) string {
	s, _ := ctx.UserValue(name).(string)
	return s
}

// writeJSON renders v with status.
func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cannot encode response: %w", err)
	}
	writeBody(ctx, status, b)
	return nil
}

// writeCart renders cart c with status and its digest header.
func writeCart(ctx *fasthttp.RequestCtx, status int, c api.Cart) error {
	if c.Digest != "" {
		ctx.Response.Header.Set(api.HeaderCartDigest, c.Digest)
	}
	return writeJSON(ctx, status, c)
}

func writeBody(ctx *fasthttp.RequestCtx, status int, b []byte) {
	ctx.Response.Header.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetStatusCode(status)
	ctx.SetBody(b)
}

// decode parses a JSON object body into v; unknown fields are ignored.
func decode(ctx *fasthttp.RequestCtx, v any) error {
	b := ctx.Request.Body()
	if len(b) == 0 {
		return api.Invalid("body", "a JSON object is required")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return api.Invalid("body", "is not a valid JSON object of the expected shape")
	}
	return nil
}

func (a *API) createCart(ctx *fasthttp.RequestCtx) error {
	c, err := a.carts.Create(ctx)
	if err != nil {
		return err
	}
	return writeCart(ctx, http.StatusCreated, c)
}

func (a *API) getCart(ctx *fasthttp.RequestCtx) error {
	c, err := a.carts.Get(ctx, param(ctx, "id"))
	if err != nil {
		return err
	}
	return writeCart(ctx, http.StatusOK, c)
}

// quantityBody is the body of PUT /v1/carts/{id}/items/{sku}. A pointer, so
// a missing quantity is told apart from 0; json rejects fractions, strings
// and out-of-range numbers for an int64.
type quantityBody struct {
	Quantity *int64 `json:"quantity"`
}

func (a *API) setItem(ctx *fasthttp.RequestCtx) error {
	var q quantityBody
	if err := decode(ctx, &q); err != nil {
		return api.Invalid("quantity", "must be a whole number from 0 to %d", a.carts.Config().MaxQuantity)
	}
	if q.Quantity == nil {
		return api.Invalid("quantity", "is required")
	}
	c, err := a.carts.SetQuantity(ctx, param(ctx, "id"), param(ctx, "sku"), *q.Quantity)
	if err != nil {
		return err
	}
	return writeCart(ctx, http.StatusOK, c)
}

func (a *API) deleteItem(ctx *fasthttp.RequestCtx) error {
	c, err := a.carts.RemoveLine(ctx, param(ctx, "id"), param(ctx, "sku"))
	if err != nil {
		return err
	}
	return writeCart(ctx, http.StatusOK, c)
}

func (a *API) checkout(ctx *fasthttp.RequestCtx) error {
	key := string(ctx.Request.Header.Peek("Idempotency-Key"))
	if err := api.ValidateIdempotencyKey(key); err != nil {
		return err
	}
	var req api.CheckoutRequest
	if err := decode(ctx, &req); err != nil {
		return err
	}
	if a.router != nil {
		// Only a valid request is handed to another core.
		if err := checkout.ValidateRequest(key, req); err != nil {
			return err
		}
		handled, done := a.router.RouteCheckout(ctx, req.CartID)
		if handled {
			return nil // answered by the core that owns the cart's hot SKU
		}
		if done != nil {
			defer done()
		}
	}
	fp := checkout.Fingerprint("POST", "/v1/checkout", ctx.Request.Body())
	// The checkout must finish (charge, then record) even if the client
	// goes away; the service bounds the gateway call itself.
	res, err := a.co.Checkout(context.WithoutCancel(ctx), key, fp, req)
	if err != nil {
		return err
	}
	if res.Replayed {
		ctx.Response.Header.Set(IdempotentReplayedHeader, "true")
	}
	writeBody(ctx, res.Status, res.Body)
	return nil
}

func (a *API) getOrder(ctx *fasthttp.RequestCtx) error {
	o, err := a.co.Order(ctx, param(ctx, "id"), string(ctx.QueryArgs().Peek("token")))
	if err != nil {
		return err
	}
	return writeJSON(ctx, http.StatusOK, o)
}

func (a *API) cancelOrder(ctx *fasthttp.RequestCtx) error {
	o, err := a.co.Cancel(context.WithoutCancel(ctx), param(ctx, "id"), string(ctx.QueryArgs().Peek("token")))
	if err != nil {
		return err
	}
	return writeJSON(ctx, http.StatusOK, o)
}
