// Package httpapi serves the core's catalog admin routes (/admin/v1/…,
// bearer token) and the internal feed the edges follow (/internal/v1/…:
// snapshot, changes, product) on fasthttp.
//
// Server settings these routes need: POST /admin/v1/import reads the
// request body stream when the server sets StreamRequestBody (otherwise
// MaxRequestBodySize must hold a whole import); GET /internal/v1/changes
// holds a request for up to Config.ChangesWait; GET /internal/v1/snapshot
// streams the whole catalog from one read transaction, so the server's
// WriteTimeout must allow a full snapshot to a slow edge.
package httpapi

import (
	"crypto/subtle"
	"errors"
	"strconv"

	"github.com/fasthttp/router"
	json "github.com/goccy/go-json"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/core/catalog"
	"shopedge/core/changelog"
)

// API holds the admin and feed handlers. Create it with New and mount it
// with Register. CDN purges are a Purger's work (see NewPurger): it follows
// the change log these handlers write to.
type API struct {
	cat       *catalog.Service
	log       *changelog.Log
	cfg       Config
	logger    zerolog.Logger
	followers *Followers
}

// New returns the API. cfg must be valid (see Config.Validate).
func New(cat *catalog.Service, log *changelog.Log, cfg Config, logger zerolog.Logger) *API {
	return &API{cat: cat, log: log, cfg: cfg, logger: logger, followers: NewFollowers()}
}

// Followers returns the tracker of the edges polling this API's change
// feed (for Purger.WaitForEdges).
func (a *API) Followers() *Followers { return a.followers }

// Register mounts the routes on r.
func (a *API) Register(r *router.Router) {
	r.PUT("/admin/v1/products/{id}", a.admin(a.putProduct))
	r.DELETE("/admin/v1/products/{id}", a.admin(a.deleteProduct))
	r.GET("/admin/v1/products/{id}", a.admin(a.getProduct))
	r.PUT("/admin/v1/stock/{sku}", a.admin(a.putStock))
	r.GET("/admin/v1/stock/{sku}", a.admin(a.getStock))
	r.POST("/admin/v1/import", a.admin(a.importProducts))
	r.POST("/admin/v1/purge", a.admin(a.purge))
	r.GET("/internal/v1/snapshot", a.internal(a.snapshot))
	r.GET("/internal/v1/changes", a.internal(a.changes))
	r.GET("/internal/v1/products/{id}", a.internal(a.feedProduct))
}

type handler func(ctx *fasthttp.RequestCtx) error

// admin requires the admin bearer token, then runs h, rendering its error.
func (a *API) admin(h handler) fasthttp.RequestHandler {
	return a.guard(a.cfg.AdminToken, false, h)
}

// internal requires the internal token unless the routes are configured
// open, and announces this core's longest checkout on every answer.
func (a *API) internal(h handler) fasthttp.RequestHandler {
	max := strconv.FormatInt(a.cfg.CheckoutMax.Milliseconds(), 10)
	announce := func(ctx *fasthttp.RequestCtx) error {
		if a.cfg.CheckoutMax > 0 {
			ctx.Response.Header.Set(api.HeaderCheckoutMax, max)
		}
		return h(ctx)
	}
	if a.cfg.InternalOpen && a.cfg.InternalToken == "" {
		return a.guard("", true, announce)
	}
	return a.guard(a.cfg.InternalToken, false, announce)
}

// guard requires "Authorization: Bearer {token}", or nothing when open;
// an empty token without open refuses everyone.
func (a *API) guard(token string, open bool, h handler) fasthttp.RequestHandler {
	want := []byte("Bearer " + token)
	return func(ctx *fasthttp.RequestCtx) {
		if !open && (token == "" || subtle.ConstantTimeCompare(ctx.Request.Header.Peek("Authorization"), want) != 1) {
			ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="shopedge"`)
			api.WriteError(ctx, api.Errorf(api.ECodeUnauthorized, "missing or wrong bearer token"))
			return
		}
		if err := h(ctx); err != nil {
			a.writeError(ctx, err)
		}
	}
}

func (a *API) writeError(ctx *fasthttp.RequestCtx, err error) {
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code == api.ECodeInternal {
		a.logger.Error().Err(err).Bytes("method", ctx.Method()).Bytes("path", ctx.Path()).Msg("request failed")
	}
	api.WriteError(ctx, err)
}

// writeJSON renders v with status 200.
func writeJSON(ctx *fasthttp.RequestCtx, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx.Response.Header.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetBody(b)
	return nil
}

func param(ctx *fasthttp.RequestCtx, name string) string {
	s, _ := ctx.UserValue(name).(string)
	return s
}
