package httpapi

import (
	"context"
	"strconv"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/core/checkout"
)

// Payments is what the payment admin routes read (implemented by
// *checkout.Service).
type Payments interface {
	ListUnresolved(ctx context.Context, cursor string, limit int) ([]checkout.UnresolvedPayment, string, error)
	ListRefunds(ctx context.Context, state, cursor string, limit int) ([]checkout.RefundInfo, string, error)
}

// DefaultListLimit is the page size of a payment listing that names none.
const DefaultListLimit = 100

// RegisterPayments mounts the payment admin routes on r (admin bearer
// token):
//
//	GET /admin/v1/payments/unresolved?limit=&after=   orders whose charge outcome is not known yet
//	GET /admin/v1/refunds?state=pending|refused|all&limit=&after=   refunds not confirmed by their gateway
//
// Both answer {"<items>":[…],"next":"cursor"}: pass next as after for the
// following page ("" at the end). limit is 1–1000 (default 100).
func (a *API) RegisterPayments(r *router.Router, p Payments) {
	r.GET("/admin/v1/payments/unresolved", a.admin(func(ctx *fasthttp.RequestCtx) error {
		limit, err := listLimit(ctx)
		if err != nil {
			return err
		}
		items, next, err := p.ListUnresolved(ctx, string(ctx.QueryArgs().Peek("after")), limit)
		if err != nil {
			return err
		}
		if items == nil {
			items = []checkout.UnresolvedPayment{}
		}
		return writeJSON(ctx, map[string]any{"payments": items, "next": next})
	}))
	r.GET("/admin/v1/refunds", a.admin(func(ctx *fasthttp.RequestCtx) error {
		limit, err := listLimit(ctx)
		if err != nil {
			return err
		}
		state := string(ctx.QueryArgs().Peek("state"))
		if state == "" {
			state = checkout.RefundsPending
		}
		items, next, err := p.ListRefunds(ctx, state, string(ctx.QueryArgs().Peek("after")), limit)
		if err != nil {
			return err
		}
		if items == nil {
			items = []checkout.RefundInfo{}
		}
		return writeJSON(ctx, map[string]any{"refunds": items, "next": next})
	}))
}

// listLimit reads the limit query parameter (DefaultListLimit if absent).
func listLimit(ctx *fasthttp.RequestCtx) (int, error) {
	v := ctx.QueryArgs().Peek("limit")
	if len(v) == 0 {
		return DefaultListLimit, nil
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 1 || n > checkout.MaxListLimit {
		return 0, api.Invalid("limit", "must be a whole number within [1, %d]", checkout.MaxListLimit)
	}
	return n, nil
}
