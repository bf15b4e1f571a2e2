package openapitest

import (
	"net/http"
	"strings"
	"testing"

	"shopedge/internal/openapi"
)

const product = `{"id":"p1","slug":"creme-brulee-p1","name":"Crème Brûlée","brand":"Acme","categories":["Food"],"popularity":3,` +
	`"skus":[{"sku":"p1","price":{"amount":450,"currency":"EUR"},"availability":"in_stock"}]}`

func jsonHeader() http.Header { return http.Header{"Content-Type": {"application/json"}} }

// TestCheckRules runs the rules of Check on hand-made exchanges: each
// "bad" one is a kind of drift the e2e hook must catch.
func TestCheckRules(t *testing.T) {
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ok := func(x Exchange) {
		t.Helper()
		if err := v.Check(x); err != nil {
			t.Errorf("want conforming: %v", err)
		}
	}
	bad := func(x Exchange, want string) {
		t.Helper()
		err := v.Check(x)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error with %q, got %v", want, err)
		}
	}
	get := func(tier openapi.Tier, url string, status int, body string) Exchange {
		return Exchange{Tier: tier, Method: "GET", URL: "http://127.0.0.1:1" + url, Status: status, Header: jsonHeader(), Body: []byte(body)}
	}
	notFound := `{"error":{"code":"not_found","message":"no such route"}}`
	ok(get(openapi.Edge, "/v1/products/p1", 200, product))
	ok(get(openapi.Edge, "/v1/products/nope", 404, `{"error":{"code":"not_found","message":"no product with this id"}}`))
	ok(get(openapi.Edge, "/no/such/route", 404, notFound))
	ok(get(openapi.Core, "/v1/products/p1", 404, notFound))                                                               // an edge-only route on a core
	bad(get(openapi.Edge, "/v1/products/p1", 200, strings.Replace(product, `"popularity":3,`, "", 1)), "popularity")      // a required field gone
	bad(get(openapi.Edge, "/v1/products/p1", 200, strings.Replace(product, `"brand"`, `"maker"`, 1)), "maker")            // an undocumented field
	bad(get(openapi.Edge, "/v1/products/p1", 200, strings.Replace(product, `"in_stock"`, `"plenty"`, 1)), "availability") // a value outside the enum
	bad(get(openapi.Edge, "/v1/products/p1", 418, `{"error":{"code":"teapot","message":"x"}}`), "418")                    // an undocumented status
	bad(get(openapi.Edge, "/v1/products/p1", 404, `{"error":"not found"}`), "error")                                      // not the envelope
	bad(get(openapi.Edge, "/no/such/route", 200, `{}`), "not a route")                                                    // an undocumented route
	bad(get(openapi.Core, "/v1/suggest?q=a", 200, `{"query":"a","products":[],"categories":[]}`), "not served by the core")
	bad(get(openapi.Edge, "/v1/suggest?q=a&limit=zero", 200, `{"query":"a","products":[],"categories":[]}`), "does not conform")
	ok(get(openapi.Edge, "/v1/suggest?q=a&limit=zero", 400, `{"error":{"code":"invalid","message":"limit: …","field":"limit"}}`))
	// Security: /admin/v1/stock needs a bearer token; without one, only an error will do.
	ok(get(openapi.Core, "/admin/v1/stock/p1", 401, `{"error":{"code":"unauthorized","message":"missing or wrong bearer token"}}`))
	bad(get(openapi.Core, "/admin/v1/stock/p1", 200, `{"on_hand":1,"reserved":0,"sold":0,"available":1}`), "does not conform")
	withToken := get(openapi.Core, "/admin/v1/stock/p1", 200, `{"on_hand":1,"reserved":0,"sold":0,"available":1}`)
	withToken.RequestHeader = http.Header{"Authorization": {"Bearer t"}}
	ok(withToken)
	// A body: checkout needs its Idempotency-Key; a body without a
	// Content-Type is read as JSON.
	order := `{"id":"o1","token":"t","status":"paid","email":"a@b.c","lines":[],"totals":{"amount":0,"currency":"USD"},"created_at":1}`
	co := Exchange{Tier: openapi.Edge, Method: "POST", URL: "http://127.0.0.1:1/v1/checkout", RequestHeader: http.Header{"Idempotency-Key": {"k1"}},
		RequestBody: []byte(`{"cart_id":"c","payment_token":"tok_ok","email":"a@b.c"}`), Status: 201, Header: jsonHeader(), Body: []byte(order)}
	ok(co)
	co.RequestHeader = nil
	bad(co, "Idempotency-Key")
	// HEAD and 304 carry no body.
	ok(Exchange{Tier: openapi.Edge, Method: "HEAD", URL: "http://127.0.0.1:1/v1/products/p1", Status: 200, Header: jsonHeader()})
	ok(Exchange{Tier: openapi.Edge, Method: "GET", URL: "http://127.0.0.1:1/v1/products/p1", Status: 304})
}
