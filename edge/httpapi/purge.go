package httpapi

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"io"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
)

const maxPurgeKeys = 10000

// purgeResult is the body of a successful purge.
type purgeResult struct {
	Purged int  `json:"purged"`
	All    bool `json:"all,omitempty"`
}

// Purge serves POST /admin/v1/purge on this edge only: {"keys":[…]} drops
// the products named by ids or surrogate keys, {"all":true} drops every
// page. It needs "Authorization: Bearer {AdminToken}".
func (a *API) Purge(ctx *fasthttp.RequestCtx) {
	if !a.authorized(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)) {
		ctx.Response.Header.Set(fasthttp.HeaderWWWAuthenticate, `Bearer realm="shopedge-admin"`)
		api.WriteError(ctx, api.Errorf(api.ECodeUnauthorized, "a valid admin bearer token is required"))
		return
	}
	body := ctx.PostBody()
	if len(body) > a.cfg.MaxPurgeBodyBytes {
		api.WriteError(ctx, api.Errorf(api.ECodeTooLarge, "body: larger than %d bytes", a.cfg.MaxPurgeBodyBytes))
		return
	}
	req, err := parsePurge(body)
	if err != nil {
		api.WriteError(ctx, err)
		return
	}
	res := purgeResult{All: req.All}
	if req.All {
		a.deps.Pages.PurgeAll()
	} else {
		res.Purged = a.deps.Pages.Purge(req.Keys)
	}
	a.deps.Log.Info().Strs("keys", req.Keys).Bool("all", req.All).Int("purged", res.Purged).Msg("edge purge")
	out, _ := json.Marshal(res)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	ctx.SetBody(out)
}

// authorized compares the bearer token in constant time.
func (a *API) authorized(auth []byte) bool {
	tok, ok := bytes.CutPrefix(auth, []byte("Bearer "))
	if !ok || len(a.token) == 0 {
		return false
	}
	return subtle.ConstantTimeCompare(tok, a.token) == 1
}

// parsePurge decodes a purge body strictly: one JSON object, known fields
// only, either non-empty keys or all, each key a valid id or surrogate key.
func parsePurge(body []byte) (*api.Purge, error) {
	var req api.Purge
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, api.Invalid("body", "not a purge object: %v", err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return nil, api.Invalid("body", "trailing data after the JSON object")
	}
	switch {
	case req.All && len(req.Keys) > 0:
		return nil, api.Invalid("keys", `give "keys" or "all", not both`)
	case !req.All && len(req.Keys) == 0:
		return nil, api.Invalid("keys", `give a non-empty "keys" list or "all": true`)
	case len(req.Keys) > maxPurgeKeys:
		return nil, api.Invalid("keys", "more than %d keys", maxPurgeKeys)
	}
	for i, k := range req.Keys {
		if msg := checkID([]byte(k)); msg != "" {
			return nil, api.Invalid("keys", "key %d: %s", i, msg)
		}
	}
	return &req, nil
}
