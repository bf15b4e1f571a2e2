package httpapi

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/fasthttp/router"
	json "github.com/goccy/go-json"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"shopedge/core/api"
	"shopedge/core/catalog"
	"shopedge/core/changelog"
	"shopedge/core/checkout"
)

// fakePayments records what the routes asked for.
type fakePayments struct {
	cursor, state string
	limit         int
}

func (f *fakePayments) ListUnresolved(_ context.Context, cursor string, limit int) ([]checkout.UnresolvedPayment, string, error) {
	f.cursor, f.limit = cursor, limit
	return []checkout.UnresolvedPayment{{OrderID: "o1", Status: api.OrderPendingPayment, Attempts: []checkout.AttemptInfo{{Gateway: "testpay", Key: "o1", Outcome: "unknown"}}}}, "c2", nil
}

func (f *fakePayments) ListRefunds(_ context.Context, state, cursor string, limit int) ([]checkout.RefundInfo, string, error) {
	f.state, f.cursor, f.limit = state, cursor, limit
	if state != checkout.RefundsPending && state != checkout.RefundsRefused && state != checkout.RefundsAll {
		return nil, "", api.Invalid("state", "must be pending, refused or all")
	}
	return nil, "", nil
}

func TestPaymentRoutes(t *testing.T) {
	st := newTestStore(t)
	cfg := DefaultConfig()
	cfg.AdminToken = testToken
	log := changelog.New(st, changelog.DefaultConfig())
	a := New(catalog.New(st, log, catalog.DefaultConfig()), log, cfg, zerolog.Nop())
	fp := &fakePayments{}
	r := router.New()
	a.RegisterPayments(r, fp)
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: r.Handler}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	e := &testEnv{t: t, api: a, client: &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }, ReadTimeout: 5 * time.Second}}

	for _, path := range []string{"/admin/v1/payments/unresolved", "/admin/v1/refunds"} {
		e.expectError(e.do("GET", path, "", nil), 401, api.ECodeUnauthorized, "")
		e.expectError(e.do("GET", path, "wrong-token-x", nil), 401, api.ECodeUnauthorized, "")
		for _, bad := range []string{"0", "-1", "1001", "abc", "1.5"} {
			e.expectError(e.do("GET", path+"?limit="+bad, testToken, nil), 400, api.ECodeInvalid, "limit")
		}
	}
	res := e.do("GET", "/admin/v1/payments/unresolved?after=abcd&limit=7", testToken, nil)
	var page struct {
		Payments []checkout.UnresolvedPayment `json:"payments"`
		Next     string                       `json:"next"`
	}
	if res.status != 200 || json.Unmarshal(res.body, &page) != nil || len(page.Payments) != 1 || page.Next != "c2" || page.Payments[0].Attempts[0].Outcome != "unknown" {
		t.Fatalf("unresolved: %d %s", res.status, res.body)
	}
	if fp.cursor != "abcd" || fp.limit != 7 {
		t.Fatalf("asked for %+v", fp)
	}
	res = e.do("GET", "/admin/v1/refunds", testToken, nil)
	if res.status != 200 || string(res.body) != `{"next":"","refunds":[]}` || fp.state != checkout.RefundsPending || fp.limit != DefaultListLimit {
		t.Fatalf("refunds: %d %s (asked %+v)", res.status, res.body, fp)
	}
	e.expectError(e.do("GET", "/admin/v1/refunds?state=done", testToken, nil), 400, api.ECodeInvalid, "state")
}
