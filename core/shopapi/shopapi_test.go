package shopapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/router"
	json "github.com/goccy/go-json"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"shopedge/core/api"
	"shopedge/core/cart"
	"shopedge/core/catalog"
	"shopedge/core/changelog"
	"shopedge/core/checkout"
	"shopedge/core/payment"
	"shopedge/core/payment/testpay"
	"shopedge/internal/proctest"
	"shopedge/store"
	"shopedge/store/embedded"
)

type testShop struct {
	t      *testing.T
	cat    *catalog.Service
	client *fasthttp.Client
	logs   *proctest.SyncBuffer
	skus   []string
	onHand map[string]int64
}

func newShop(t *testing.T) *testShop { return newShopGateway(t, nil) }

// newShopGateway is newShop with gw as the one gateway (nil: testpay).
func newShopGateway(t *testing.T, gw payment.Gateway) *testShop {
	t.Helper()
	db, err := embedded.Open(filepath.Join(t.TempDir(), "shop.db"), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var st store.Store = db
	logs := &proctest.SyncBuffer{}
	log := zerolog.New(logs).Level(zerolog.DebugLevel)
	cat := catalog.New(st, changelog.New(st, changelog.DefaultConfig()), catalog.DefaultConfig())
	ccfg := cart.DefaultConfig()
	ccfg.MaxLines = 5
	carts, err := cart.New(st, cat, ccfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if gw == nil {
		gw, _ = testpay.New(testpay.Config{})
	}
	co, err := checkout.New(st, cat, payment.Single("testpay", gw), checkout.DefaultConfig(), log, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := router.New()
	a, err := New(carts, co, DefaultConfig(), log)
	if err != nil {
		t.Fatal(err)
	}
	a.Register(r)
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: r.Handler, MaxRequestBodySize: 1 << 20, ReadTimeout: 5 * time.Second, Logger: &zlog{log}}
	go func() { _ = srv.Serve(ln) }()
	s := &testShop{t: t, cat: cat, logs: logs, onHand: map[string]int64{}, client: &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}}
	t.Cleanup(func() {
		_ = srv.Shutdown()
		co.Close()
		// Stock is checked against what the test set, not against
		// available (computed from the other three when read). The
		// checkout package checks reserved and sold against its orders.
		for _, sku := range s.skus {
			st, err := cat.Stock(context.Background(), sku)
			if err != nil || st.OnHand != s.onHand[sku] || st.Reserved < 0 || st.Sold < 0 || st.Reserved+st.Sold > st.OnHand {
				t.Errorf("stock of %s broken: %+v (on hand set to %d) %v", sku, st, s.onHand[sku], err)
			}
		}
		_ = db.Close()
	})
	return s
}

type zlog struct{ l zerolog.Logger }

func (z *zlog) Printf(format string, args ...any) { z.l.Warn().Msgf(format, args...) }

func (s *testShop) product(sku string, price *api.Money, onHand int64) {
	s.t.Helper()
	p := &api.Product{ID: "p" + sku, Slug: "s" + sku, Name: "Name " + sku, SKUs: []api.SKU{{SKU: sku, Price: price}}}
	if _, err := s.cat.Put(context.Background(), p); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.cat.SetStock(context.Background(), sku, onHand); err != nil {
		s.t.Fatal(err)
	}
	s.skus = append(s.skus, sku)
	s.onHand[sku] = onHand
}

type resp struct {
	status   int
	body     []byte
	replayed string
}

// do sends a request; headers are name, value pairs.
func (s *testShop) do(method, uri, body string, headers ...string) resp {
	s.t.Helper()
	req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(res)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://core" + uri)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if body != "" {
		req.SetBodyString(body)
		req.Header.SetContentType("application/json")
	}
	if err := s.client.DoTimeout(req, res, 10*time.Second); err != nil {
		s.t.Fatal(err)
	}
	if cc := string(res.Header.Peek("Cache-Control")); cc != "no-store" {
		s.t.Errorf("%s %s: Cache-Control %q", method, uri, cc)
	}
	return resp{status: res.StatusCode(), body: append([]byte(nil), res.Body()...), replayed: string(res.Header.Peek(IdempotentReplayedHeader))}
}

func (s *testShop) want(r resp, status int, code string) {
	s.t.Helper()
	if r.status != status {
		s.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if code != "" {
		var eb api.ErrorBody
		if err := json.Unmarshal(r.body, &eb); err != nil || eb.Error == nil || eb.Error.Code != code {
			s.t.Fatalf("want code %s, got %s", code, r.body)
		}
	}
}

func (s *testShop) newCart() string {
	s.t.Helper()
	r := s.do("POST", "/v1/carts", "")
	s.want(r, 201, "")
	var c api.Cart
	if err := json.Unmarshal(r.body, &c); err != nil || !cart.ValidID(c.ID) || c.Lines == nil {
		s.t.Fatalf("cart %s: %v", r.body, err)
	}
	return c.ID
}

func decodeCart(t *testing.T, r resp) api.Cart {
	t.Helper()
	var c api.Cart
	if err := json.Unmarshal(r.body, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func checkoutBody(cartID, token, email string) string {
	return fmt.Sprintf(`{"cart_id":%q,"payment_token":%q,"email":%q}`, cartID, token, email)
}

func TestShopFlow(t *testing.T) {
	s := newShop(t)
	s.product("tv", &api.Money{Amount: 49999, Currency: "USD"}, 10)
	s.product("cable", &api.Money{Amount: 999, Currency: "USD"}, 10)
	id := s.newCart()
	// A price in the body is ignored; prices come from the catalog.
	r := s.do("PUT", "/v1/carts/"+id+"/items/tv", `{"quantity":2,"unit_price":{"amount":1,"currency":"USD"},"line_total":{"amount":1}}`)
	s.want(r, 200, "")
	s.want(s.do("PUT", "/v1/carts/"+id+"/items/cable", `{"quantity":3}`), 200, "")
	c := decodeCart(t, s.do("GET", "/v1/carts/"+id, ""))
	if c.Totals != (api.Money{Amount: 2*49999 + 3*999, Currency: "USD"}) || len(c.Lines) != 2 || c.Lines[0].UnitPrice.Amount != 49999 {
		t.Fatalf("cart %+v", c)
	}
	c = decodeCart(t, s.do("DELETE", "/v1/carts/"+id+"/items/cable", ""))
	if len(c.Lines) != 1 || c.Totals.Amount != 2*49999 {
		t.Fatalf("after delete %+v", c)
	}
	// Status and totals in the body are ignored.
	body := `{"cart_id":"` + id + `","payment_token":"tok_ok","email":"a@example.com","status":"paid","totals":{"amount":1,"currency":"USD"}}`
	r = s.do("POST", "/v1/checkout", body, "Idempotency-Key", "flow-1")
	s.want(r, 201, "")
	var o api.Order
	if err := json.Unmarshal(r.body, &o); err != nil || o.Status != api.OrderPaid || o.Totals.Amount != 2*49999 || o.Token == "" {
		t.Fatalf("order %s", r.body)
	}
	again := s.do("POST", "/v1/checkout", body, "Idempotency-Key", "flow-1")
	if again.status != 201 || !bytes.Equal(again.body, r.body) || again.replayed != "true" {
		t.Fatalf("replay %d %s", again.status, again.body)
	}
	s.want(s.do("POST", "/v1/checkout", strings.Replace(body, "a@example.com", "b@example.com", 1), "Idempotency-Key", "flow-1"), 422, api.ECodeKeyReused)
	// The paid order froze the cart: it shows the order and cannot change.
	if c := decodeCart(t, s.do("GET", "/v1/carts/"+id, "")); c.OrderID != o.ID {
		t.Fatalf("paid cart %+v", c)
	}
	s.want(s.do("PUT", "/v1/carts/"+id+"/items/tv", `{"quantity":1}`), 409, api.ECodeConflict)

	got := s.do("GET", "/v1/orders/"+o.ID+"?token="+o.Token, "")
	s.want(got, 200, "")
	for _, uri := range []string{"/v1/orders/" + o.ID, "/v1/orders/" + o.ID + "?token=x", "/v1/orders/" + o.ID + "?token=" + o.Token + "0", "/v1/orders/ffffffffffffffffffffffffffffffff?token=" + o.Token} {
		r := s.do("GET", uri, "")
		s.want(r, 404, api.ECodeNotFound)
		if bytes.Contains(r.body, []byte(o.ID)) {
			t.Fatalf("404 reveals the order: %s", r.body)
		}
	}
	s.want(s.do("POST", "/v1/orders/"+o.ID+"/cancel?token=nope", ""), 404, api.ECodeNotFound)
	r = s.do("POST", "/v1/orders/"+o.ID+"/cancel?token="+o.Token, "")
	s.want(r, 200, "")
	if err := json.Unmarshal(r.body, &o); err != nil || o.Status != api.OrderCancelled {
		t.Fatalf("cancel %s", r.body)
	}
	s.want(s.do("POST", "/v1/orders/"+o.ID+"/cancel?token="+o.Token, ""), 200, "")
	if st, _ := s.cat.Stock(context.Background(), "tv"); st.Available != 10 || st.Sold != 0 {
		t.Fatalf("not restocked %+v", st)
	}
}

func TestBadCartInput(t *testing.T) {
	s := newShop(t)
	s.product("a", &api.Money{Amount: 100, Currency: "USD"}, 10)
	s.product("eur", &api.Money{Amount: 100, Currency: "EUR"}, 10)
	s.product("free", nil, 10)
	for i := range 5 {
		s.product(fmt.Sprint("l", i), &api.Money{Amount: 1, Currency: "USD"}, 1)
	}
	id := s.newCart()
	item := "/v1/carts/" + id + "/items/a"
	for _, body := range []string{`{"quantity":-1}`, `{"quantity":1000}`, `{"quantity":1.5}`, `{"quantity":"2"}`, `{}`, `{"quantity":null}`, `[]`, ``, `{"quantity":99999999999999999999}`, `{"quantity":1e2}`, `not json`} {
		r := s.do("PUT", item, body)
		s.want(r, 400, api.ECodeInvalid)
		if !bytes.Contains(r.body, []byte(`"field":"quantity"`)) {
			t.Fatalf("%s: field not named: %s", body, r.body)
		}
	}
	s.want(s.do("PUT", "/v1/carts/"+id+"/items/nope", `{"quantity":1}`), 404, api.ECodeNotFound)
	s.want(s.do("PUT", "/v1/carts/"+id+"/items/free", `{"quantity":1}`), 409, api.ECodeConflict)
	s.want(s.do("PUT", "/v1/carts/"+strings.Repeat("0", 32)+"/items/a", `{"quantity":1}`), 404, api.ECodeNotFound)
	s.want(s.do("PUT", "/v1/carts/short/items/a", `{"quantity":1}`), 404, api.ECodeNotFound)
	s.want(s.do("PUT", item, `{"quantity":1}`), 200, "")
	s.want(s.do("PUT", "/v1/carts/"+id+"/items/eur", `{"quantity":1}`), 409, api.ECodeConflict)
	// Zero removes; unknown fields are ignored.
	c := decodeCart(t, s.do("PUT", item, `{"quantity":0,"id":"evil","lines":[{"sku":"x"}]}`))
	if len(c.Lines) != 0 || c.ID != id {
		t.Fatalf("zero did not remove: %+v", c)
	}
	// The line limit (5 here; 100 by default) makes huge carts impossible.
	for i := range 5 {
		s.want(s.do("PUT", fmt.Sprintf("/v1/carts/%s/items/l%d", id, i), `{"quantity":1}`), 200, "")
	}
	s.want(s.do("PUT", item, `{"quantity":1}`), 400, api.ECodeInvalid)
	// An oversized body is refused before parsing.
	s.want(s.do("PUT", item, `{"quantity":1,"pad":"`+strings.Repeat("x", 20000)+`"}`), 413, api.ECodeTooLarge)
}

func TestBadCheckoutInputChangesNothing(t *testing.T) {
	s := newShop(t)
	s.product("a", &api.Money{Amount: 100, Currency: "USD"}, 10)
	id := s.newCart()
	s.want(s.do("PUT", "/v1/carts/"+id+"/items/a", `{"quantity":2}`), 200, "")
	f := func(body, key, field string) {
		t.Helper()
		var r resp
		if key == "" {
			r = s.do("POST", "/v1/checkout", body)
		} else {
			r = s.do("POST", "/v1/checkout", body, "Idempotency-Key", key)
		}
		s.want(r, 400, api.ECodeInvalid)
		if !bytes.Contains(r.body, []byte(`"field":"`+field+`"`)) {
			t.Fatalf("field %s not named: %s", field, r.body)
		}
	}
	f(checkoutBody(id, "tok_ok", "a@example.com"), "", "Idempotency-Key")
	f(checkoutBody(id, "tok_ok", "a@example.com"), strings.Repeat("k", 256), "Idempotency-Key")
	f(checkoutBody(id, "tok_ok", "not-an-email"), "k1", "email")
	f(checkoutBody(id, "tok_ok", strings.Repeat("a", 250)+"@example.com"), "k1", "email")
	f(checkoutBody(id, "", "a@example.com"), "k1", "payment_token")
	f(checkoutBody(id, strings.Repeat("t", 129), "a@example.com"), "k1", "payment_token")
	f(checkoutBody("", "tok_ok", "a@example.com"), "k1", "cart_id")
	f(`[1,2]`, "k1", "body")
	if st, _ := s.cat.Stock(context.Background(), "a"); st.Reserved != 0 || st.Sold != 0 {
		t.Fatalf("bad input reserved stock: %+v", st)
	}
	// The same key is still free for a good request.
	s.want(s.do("POST", "/v1/checkout", checkoutBody(id, "tok_decline", "a@example.com"), "Idempotency-Key", "k1"), 402, api.ECodePaymentDeclined)
	s.want(s.do("POST", "/v1/checkout", checkoutBody(id, "tok_ok", "a@example.com"), "Idempotency-Key", "k2"), 201, "")
}

func TestCardDataRejectedAndNeverLogged(t *testing.T) {
	s := newShop(t)
	s.product("a", &api.Money{Amount: 100, Currency: "USD"}, 10)
	id := s.newCart()
	s.want(s.do("PUT", "/v1/carts/"+id+"/items/a", `{"quantity":1}`), 200, "")
	const pan = "4111 1111 1111 1111"
	for _, tc := range []struct{ method, uri, body string }{
		{"POST", "/v1/checkout", checkoutBody(id, "4111111111111111", "a@example.com")},
		{"POST", "/v1/checkout", checkoutBody(id, "tok_ok", "a@example.com")[:10] + `"card":"` + pan + `"}`},
		{"PUT", "/v1/carts/" + id + "/items/a", `{"quantity":1,"note":"4111-1111-1111-1111"}`},
		{"GET", "/v1/carts/" + id + "?card=4111111111111111", ""},
		{"GET", "/v1/orders/" + id + "?token=5555555555554444", ""},
		{"PUT", "/v1/carts/" + id + "/items/4111111111111111", `{"quantity":1}`},
		// Decoded values (issue 13): JSON escapes, other separators, a
		// percent-encoded or '+'-joined query, an encoded path segment.
		{"POST", "/v1/checkout", `{"cart_id":"` + id + `","payment_token":"tok_ok","email":"\u0034111111111111111@example.com"}`},
		{"POST", "/v1/checkout", `{"cart_id":"` + id + `","payment_token":"tok_ok","email":"41\u00311.1111.1111.1111@example.com"}`},
		{"POST", "/v1/checkout", checkoutBody(id, "4111_1111_1111_1111", "a@example.com")},
		{"POST", "/v1/checkout", checkoutBody(id, "4111+1111+1111+1111", "a@example.com")},
		{"POST", "/v1/checkout", checkoutBody(id, "4111 / 1111 / 1111 / 1111", "a@example.com")},
		{"POST", "/v1/checkout?pan=4111%201111%201111%201111", checkoutBody(id, "tok_ok", "a@example.com")},
		{"POST", "/v1/checkout?pan=4111+1111+1111+1111", checkoutBody(id, "tok_ok", "a@example.com")},
		{"POST", "/v1/checkout?pan=%34%31%31%31%31%31%31%31%31%31%31%31%31%31%31%31", checkoutBody(id, "tok_ok", "a@example.com")},
		{"PUT", "/v1/carts/" + id + "/items/%34111111111111111", `{"quantity":1}`},
	} {
		r := s.do(tc.method, tc.uri, tc.body, "Idempotency-Key", "card-1")
		s.want(r, 400, api.ECodeCardData)
		if bytes.Contains(r.body, []byte("4111")) {
			t.Fatalf("the error echoes the number: %s", r.body)
		}
	}
	// In a header.
	s.want(s.do("POST", "/v1/carts", "", "X-Note", pan), 400, api.ECodeCardData)
	s.want(s.do("POST", "/v1/checkout", checkoutBody(id, "tok_ok", "a@example.com"), "Idempotency-Key", "4111111111111111"), 400, api.ECodeCardData)
	if st, _ := s.cat.Stock(context.Background(), "a"); st.Reserved != 0 || st.Sold != 0 {
		t.Fatalf("card request reserved stock: %+v", st)
	}
	logs := s.logs.String()
	for _, needle := range []string{"4111111111111111", "4111 1111", "4111-1111", "5555555555554444"} {
		if strings.Contains(logs, needle) {
			t.Fatalf("card number in logs: %s", logs)
		}
	}
}

// TestOneCheckoutPerCart checks out one cart under two Idempotency-Keys (a
// double click): the second gets a 409 naming the first order, never a
// second reservation or charge; changes to the frozen cart get a 409 JSON
// body naming the order and change nothing; a declined checkout unfreezes
// the cart.
func TestOneCheckoutPerCart(t *testing.T) {
	s := newShop(t)
	s.product("a", &api.Money{Amount: 100, Currency: "USD"}, 10)
	s.product("b", &api.Money{Amount: 5, Currency: "USD"}, 10)
	id := s.newCart()
	s.want(s.do("PUT", "/v1/carts/"+id+"/items/a", `{"quantity":2}`), 200, "")
	// Declined: the cart is unfrozen and can change.
	s.want(s.do("POST", "/v1/checkout", checkoutBody(id, "tok_decline", "a@example.com"), "Idempotency-Key", "d1"), 402, api.ECodePaymentDeclined)
	s.want(s.do("PUT", "/v1/carts/"+id+"/items/a", `{"quantity":3}`), 200, "")
	first := s.do("POST", "/v1/checkout", checkoutBody(id, "tok_ok", "a@example.com"), "Idempotency-Key", "k1")
	s.want(first, 201, "")
	var o api.Order
	_ = json.Unmarshal(first.body, &o)
	second := s.do("POST", "/v1/checkout", checkoutBody(id, "tok_ok", "a@example.com"), "Idempotency-Key", "k2")
	s.want(second, 409, api.ECodeConflict)
	var eb struct {
		Error struct {
			Field   string            `json:"field"`
			Details map[string]string `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(second.body, &eb); err != nil || eb.Error.Details["order_id"] != o.ID || eb.Error.Details["status"] != api.OrderPaid {
		t.Fatalf("second checkout of the cart: %s", second.body)
	}
	for _, r := range []resp{
		s.do("PUT", "/v1/carts/"+id+"/items/b", `{"quantity":1}`),
		s.do("PUT", "/v1/carts/"+id+"/items/a", `{"quantity":9}`),
		s.do("DELETE", "/v1/carts/"+id+"/items/a", ""),
	} {
		s.want(r, 409, api.ECodeConflict)
		if err := json.Unmarshal(r.body, &eb); err != nil || eb.Error.Field != "cart_id" || eb.Error.Details["order_id"] != o.ID {
			t.Fatalf("change of a frozen cart: %s", r.body)
		}
	}
	if c := decodeCart(t, s.do("GET", "/v1/carts/"+id, "")); len(c.Lines) != 1 || c.Lines[0].Quantity != 3 {
		t.Fatalf("frozen cart changed: %+v", c)
	}
	if st, _ := s.cat.Stock(context.Background(), "a"); st.Sold != 3 || st.Reserved != 0 {
		t.Fatalf("stock %+v", st)
	}
}

// unknownGateway charges nothing and can never tell: every checkout's
// outcome stays unknown.
type unknownGateway struct{ payment.Gateway }

func (unknownGateway) Charge(context.Context, payment.ChargeRequest) (payment.Charge, error) {
	return payment.Charge{}, fmt.Errorf("read timeout: %w", payment.ErrGateway)
}

func (unknownGateway) Lookup(context.Context, payment.ChargeRequest) (payment.LookupResult, error) {
	return payment.LookupResult{}, fmt.Errorf("connection refused: %w", payment.ErrGateway)
}

// TestPaymentUnknownRetryAfter checks the 503 of a checkout whose payment
// outcome is unknown: code payment_unknown (not unavailable, which an
// edge's breaker counts), Retry-After set, the order named; a retry within
// it is in flight (409).
func TestPaymentUnknownRetryAfter(t *testing.T) {
	s := newShopGateway(t, unknownGateway{})
	s.product("a", &api.Money{Amount: 100, Currency: "USD"}, 1)
	id := s.newCart()
	s.want(s.do("PUT", "/v1/carts/"+id+"/items/a", `{"quantity":1}`), 200, "")
	req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(res)
	req.Header.SetMethod("POST")
	req.SetRequestURI("http://core/v1/checkout")
	req.Header.Set("Idempotency-Key", "u1")
	req.SetBodyString(checkoutBody(id, "tok_ok", "a@example.com"))
	if err := s.client.DoTimeout(req, res, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode() != 503 || string(res.Header.Peek("Retry-After")) != "2" || !bytes.Contains(res.Body(), []byte(`"code":"payment_unknown"`)) || !bytes.Contains(res.Body(), []byte(`"order_id"`)) {
		t.Fatalf("unknown payment: %d Retry-After %q %s", res.StatusCode(), res.Header.Peek("Retry-After"), res.Body())
	}
	s.want(s.do("POST", "/v1/checkout", checkoutBody(id, "tok_ok", "a@example.com"), "Idempotency-Key", "u1"), 409, api.ECodeInFlight)
	if st, _ := s.cat.Stock(context.Background(), "a"); st.Reserved != 1 {
		t.Fatalf("the order in doubt lost its reservation: %+v", st)
	}
}

// TestStoreOverloadIsUnavailable: store failures that mean this core cannot
// serve now become ECodeUnavailable (the 503 an edge's breaker counts);
// other errors keep their code.
func TestStoreOverloadIsUnavailable(t *testing.T) {
	f := func(err error, want string) {
		t.Helper()
		if got := api.ErrorCode(unavailable(err)); got != want {
			t.Fatalf("%v: code %q, want %q", err, got, want)
		}
	}
	f(fmt.Errorf("cannot create cart: %w", store.ErrClosed), api.ECodeUnavailable)
	f(fmt.Errorf("cannot reserve: %w", store.ErrConflict), api.ECodeUnavailable)
	f(context.DeadlineExceeded, api.ECodeUnavailable)
	f(errors.New("bug"), api.ECodeInternal)
	f(api.Errorf(api.ECodePaymentUnknown, "x"), api.ECodePaymentUnknown)
	f(api.Errorf(api.ECodeOutOfStock, "x"), api.ECodeOutOfStock)
}

// TestNewRejectsAnInvalidConfig: New names the invalid setting instead of
// serving with other settings than the ones given.
func TestNewRejectsAnInvalidConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxBodyBytes = 1
	a, err := New(nil, nil, cfg, zerolog.Nop())
	if a != nil || err == nil || !strings.Contains(err.Error(), "max_body_bytes") {
		t.Fatalf("New = %v, %v", a, err)
	}
}
