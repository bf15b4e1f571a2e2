package forward

import (
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
)

// Endpoint is one write route the edge forwards: register Handler for
// Method and Path (a fasthttp/router pattern) on the edge's router.
type Endpoint struct {
	Method, Path string
	Handler      fasthttp.RequestHandler
}

// route is one of the write routes of the public API (DESIGN.md), the
// only requests an edge forwards. The core's URL is rebuilt from the
// route's validated parameters, never taken from the client's path: no
// encoding of a client's path (%2f, %2e, ..;, backslashes, overlong
// UTF-8…) can name another core route.
type route struct {
	name    string // metric label
	method  string
	pattern string
	// kind of each path parameter, in the pattern's order.
	params []paramKind
	// token: the route takes ?token= (an order's access token).
	token bool
	// body: the route forwards a JSON body (else none is sent).
	body bool
	// slow: the route calls the payment gateway, so the checkout timeout
	// bounds it and a timeout says nothing about the core.
	slow bool
	// cartPath: the first parameter is a cart the request writes (the
	// per-cart bucket applies); checkout: the cart comes from the body.
	cartPath, checkout bool
	// build appends the core's path from the validated parameters.
	build func(dst []byte, p *[2]string) []byte
}

// paramKind says how a path parameter is checked, and how an invalid one
// is answered: as the core would answer it.
type paramKind uint8

const (
	paramCart  paramKind = iota // a cart id: not_found when malformed (the core's answer)
	paramOrder                  // an order id: not_found when malformed
	paramSKU                    // a catalog SKU: invalid when malformed
)

// routes are the forwarded routes, in DESIGN.md's order.
var routes = []route{
	{name: "create_cart", method: "POST", pattern: "/v1/carts",
		build: func(dst []byte, _ *[2]string) []byte { return append(dst, "/v1/carts"...) }},
	{name: "get_cart", method: "GET", pattern: "/v1/carts/{id}", params: []paramKind{paramCart},
		build: func(dst []byte, p *[2]string) []byte { return append(append(dst, "/v1/carts/"...), p[0]...) }},
	{name: "set_item", method: "PUT", pattern: "/v1/carts/{id}/items/{sku}", params: []paramKind{paramCart, paramSKU},
		body: true, cartPath: true, build: itemPath},
	{name: "delete_item", method: "DELETE", pattern: "/v1/carts/{id}/items/{sku}", params: []paramKind{paramCart, paramSKU},
		cartPath: true, build: itemPath},
	{name: "checkout", method: "POST", pattern: "/v1/checkout", body: true, slow: true, checkout: true,
		build: func(dst []byte, _ *[2]string) []byte { return append(dst, "/v1/checkout"...) }},
	{name: "get_order", method: "GET", pattern: "/v1/orders/{id}", params: []paramKind{paramOrder}, token: true,
		build: func(dst []byte, p *[2]string) []byte { return append(append(dst, "/v1/orders/"...), p[0]...) }},
	{name: "cancel_order", method: "POST", pattern: "/v1/orders/{id}/cancel", params: []paramKind{paramOrder}, token: true, slow: true,
		build: func(dst []byte, p *[2]string) []byte {
			return append(append(append(dst, "/v1/orders/"...), p[0]...), "/cancel"...)
		}},
}

func itemPath(dst []byte, p *[2]string) []byte {
	return append(append(append(append(dst, "/v1/carts/"...), p[0]...), "/items/"...), p[1]...)
}

// paramNames are the router's names of the path parameters, in order.
var paramNames = [2]string{"id", "sku"}

// params reads and checks rt's path parameters from the router's values
// into p. It returns the error to answer when one is malformed.
func (rt *route) readParams(ctx *fasthttp.RequestCtx, p *[2]string) *api.Error {
	for i, kind := range rt.params {
		v, _ := ctx.UserValue(paramNames[i]).(string)
		switch kind {
		case paramCart:
			if !api.ValidCartID(v) {
				return errNoCart
			}
		case paramOrder:
			if !api.ValidOrderID(v) {
				return errNoOrder
			}
		case paramSKU:
			if !api.ValidSKU(v) {
				return errBadSKU
			}
		}
		p[i] = v
	}
	return nil
}

// Answers to malformed parameters, as the core gives them.
var (
	errNoCart  = api.Errorf(api.ECodeNotFound, "no such cart")
	errNoOrder = api.Errorf(api.ECodeNotFound, "no such order")
	errBadSKU  = &api.Error{Code: api.ECodeInvalid, Field: "sku", Message: "sku: 1-128 bytes of A-Z a-z 0-9 . _ ~ -, no leading dot, no \"..\""}
)
