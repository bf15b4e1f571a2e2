package httpapi

import (
	"context"
	"errors"
	"strings"

	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/edge/coreclient"
	"shopedge/edge/pages"
)

// errUnknown marks a product the core does not have.
var errUnknown = errors.New("unknown product")

// Negative-cache keys: "i" + id, "s" + slug.
func negKey(kind byte, v string) []byte {
	k := make([]byte, 0, 1+len(v))
	return append(append(k, kind), v...)
}

// miss serves id after fetching it from the core.
func (a *API) miss(ctx *fasthttp.RequestCtx, id string, v pages.Variant) {
	r, err := a.fetch(id, v)
	if err != nil {
		a.fetchFailed(ctx, err, "id", id)
		return
	}
	a.write(ctx, r.EntryOf(v), v, false)
}

// missSlug serves an HTML page whose slug the edge does not know. Slugs end
// in "-{id}", so the id is fetched; the page is served only if the core's
// product really has that slug.
func (a *API) missSlug(ctx *fasthttp.RequestCtx, slug string) {
	a.misses.Inc()
	if _, err := a.neg.Get(negKey('s', slug)); err == nil {
		a.negHits.Inc()
		api.WriteError(ctx, api.Errorf(api.ECodeNotFound, "no product at this address"))
		return
	}
	i := strings.LastIndexByte(slug, '-')
	id := slug[i+1:]
	if i < 0 || checkID([]byte(id)) != "" {
		a.rememberMissing('s', slug)
		api.WriteError(ctx, api.Errorf(api.ECodeNotFound, "no product at this address"))
		return
	}
	v := variant(ctx, pages.HTML)
	r, err := a.fetch(id, v)
	if err == nil && r.Slug != slug {
		a.rememberMissing('s', slug)
		err = errUnknown
	}
	if err != nil {
		a.fetchFailed(ctx, err, "slug", slug)
		return
	}
	a.write(ctx, r.EntryOf(v), v, false)
}

func (a *API) rememberMissing(kind byte, v string) {
	_ = a.neg.Set(negKey(kind, v), nil, int(a.cfg.NegativeTTL.Seconds()))
}

func (a *API) fetchFailed(ctx *fasthttp.RequestCtx, err error, field, v string) {
	if errors.Is(err, errUnknown) {
		api.WriteError(ctx, api.Errorf(api.ECodeNotFound, "no product with this %s", field))
		return
	}
	a.deps.Log.Warn().Err(err).Str(field, v).Msg("cannot fetch missing product from core")
	api.WriteError(ctx, api.Errorf(api.ECodeUnavailable, "the catalog is unavailable; retry later"))
	ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, a.retryAfter)
}

// fetch returns id rendered for a request for v (its JSON and v; the
// other representations are rendered when asked for): from the JSON the
// page store holds when it has it, else from the core, asked at most once
// at a time per id and representation however many requests miss
// together. An id the core does not know is remembered briefly.
func (a *API) fetch(id string, v pages.Variant) (*pages.Rendered, error) {
	// A product the feed created since it was remembered as unknown is
	// known to the page store: the negative entry no longer applies.
	if _, err := a.neg.Get(negKey('i', id)); err == nil && !a.deps.Pages.Known([]byte(id)) {
		a.negHits.Inc()
		return nil, errUnknown
	}
	res, err, _ := a.flights.Do(string(rune('0'+v))+id, func() (any, error) {
		if r, ok := a.deps.Loader.FillFor(id, v); ok {
			return r, nil // rendered from the JSON a snapshot load stored
		}
		a.fetches.Inc()
		seq := a.deps.Pages.Seq()
		ctx, cancel := context.WithTimeout(context.Background(), a.cfg.FetchTimeout)
		defer cancel()
		p, err := a.deps.Core.Product(ctx, id)
		if errors.Is(err, coreclient.ErrNotFound) || (err == nil && p.ID != id) {
			a.rememberMissing('i', id)
			return nil, errUnknown
		}
		if err != nil {
			a.fetchErrors.Inc()
			return nil, err
		}
		return a.deps.Loader.PutFor(p, seq, v)
	})
	if err != nil {
		return nil, err
	}
	return res.(*pages.Rendered), nil
}
