// Package httpapi is the edge's public HTTP surface: product JSON and HTML
// pages served from the precomputed page store (a lookup and a write, no
// allocation on a hit), misses fetched from the core once per key, the
// edge-local purge, and mount points for autocomplete and the forwarded
// cart/checkout routes. Public read routes are answered by the edge
// itself; only the write routes the forwarder lists (forward.Endpoint)
// reach a core, each rebuilt from its validated parameters.
package httpapi

import (
	"strconv"
	"sync"

	"github.com/VictoriaMetrics/metrics"
	"github.com/coocood/freecache"
	"github.com/fasthttp/router"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
	"golang.org/x/sync/singleflight"

	"shopedge/core/api"
	"shopedge/edge/coreclient"
	"shopedge/edge/forward"
	"shopedge/edge/pages"
)

// FeedState is what the API needs to know about the change feed;
// *follow.Follower implements it.
type FeedState interface {
	Ready() bool     // the first snapshot load has completed
	Connected() bool // the core answers; false means pages are served stale
}

// Deps are the API's collaborators. Pages, Loader, Follower, Core and
// Metrics are required; Suggest and Forward are mounted when non-nil.
type Deps struct {
	Pages *pages.Cache
	// Loader renders into Pages what a request missed.
	Loader   *pages.Loader
	Follower FeedState
	Core     *coreclient.Client
	Log      zerolog.Logger
	Metrics  *metrics.Set
	// Suggest serves GET /v1/suggest.
	Suggest fasthttp.RequestHandler
	// Forward are the write routes forwarded to a core (cart, checkout,
	// order): forward.Forwarder.Endpoints.
	Forward []forward.Endpoint
}

// API serves the edge's read path. It holds no per-request state and is
// safe for concurrent use.
type API struct {
	deps Deps
	cfg  Config

	cacheControl []byte
	retryAfter   string
	token        []byte
	neg          *freecache.Cache
	flights      singleflight.Group
	bufs         sync.Pool
	// The product handlers as values, made once for Dispatch.
	productJSON, productHTML fasthttp.RequestHandler

	hits, misses, notModified, fetches, fetchErrors, negHits, badRequests, stale *metrics.Counter
}

// New returns the API. cfg must have passed Validate.
func New(deps Deps, cfg Config) *API {
	ms := deps.Metrics
	a := &API{
		deps:         deps,
		cfg:          cfg,
		cacheControl: []byte(cfg.cacheControl()),
		retryAfter:   strconv.Itoa(int(cfg.RetryAfter.Seconds())),
		token:        []byte(cfg.AdminToken),
		neg:          freecache.NewCache(cfg.NegativeCacheBytes),
		hits:         ms.NewCounter("shopedge_edge_product_hits_total"),
		misses:       ms.NewCounter("shopedge_edge_product_misses_total"),
		notModified:  ms.NewCounter("shopedge_edge_product_not_modified_total"),
		fetches:      ms.NewCounter("shopedge_edge_product_fetches_total"),
		fetchErrors:  ms.NewCounter("shopedge_edge_product_fetch_errors_total"),
		negHits:      ms.NewCounter("shopedge_edge_product_negative_hits_total"),
		badRequests:  ms.NewCounter("shopedge_edge_product_bad_requests_total"),
		stale:        ms.NewCounter("shopedge_edge_product_stale_total"),
	}
	a.bufs.New = func() any { b := make([]byte, 0, 16<<10); return &b }
	a.productJSON, a.productHTML = a.ProductJSON, a.ProductHTML
	return a
}

// Register mounts the edge's public routes on r. When r has no NotFound or
// MethodNotAllowed handler yet, it installs JSON ones.
func (a *API) Register(r *router.Router) {
	if r.NotFound == nil {
		r.NotFound = NotFound
	}
	if r.MethodNotAllowed == nil {
		r.MethodNotAllowed = func(ctx *fasthttp.RequestCtx) {
			api.WriteError(ctx, api.Errorf(api.ECodeMethod, "method %s not allowed here", ctx.Method()))
		}
	}
	// Public read routes: answered by the edge, never forwarded.
	r.GET("/v1/products/{id}", a.ProductJSON)
	r.HEAD("/v1/products/{id}", a.ProductJSON)
	r.GET("/products/{slug}", a.ProductHTML)
	r.HEAD("/products/{slug}", a.ProductHTML)
	if h := a.deps.Suggest; h != nil {
		r.GET("/v1/suggest", h)
	}
	// This edge's own admin route.
	r.POST("/admin/v1/purge", a.Purge)
	// The write routes of the public API, forwarded to a core.
	for _, ep := range a.deps.Forward {
		r.Handle(ep.Method, ep.Path, ep.Handler)
	}
}

// Ready reports whether the edge can serve the catalog (for /readyz): true
// once the first snapshot load has completed.
func (a *API) Ready() bool { return a.deps.Follower.Ready() }

// NotFound answers unknown routes with a JSON 404.
func NotFound(ctx *fasthttp.RequestCtx) {
	api.WriteError(ctx, api.Errorf(api.ECodeNotFound, "no such route"))
}
