package testpay

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"shopedge/core/api"
	"shopedge/core/payment"
)

func newGW(t *testing.T, slow time.Duration) *Gateway {
	t.Helper()
	g, err := New(Config{SlowDelay: slow})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestTokens(t *testing.T) {
	g := newGW(t, time.Millisecond)
	usd := api.Money{Amount: 100, Currency: "USD"}
	f := func(token string, want error) {
		t.Helper()
		c, err := g.Charge(context.Background(), payment.ChargeRequest{Key: "k-" + token, Token: token, Amount: usd})
		id := c.ID
		if want == nil {
			if err != nil || id == "" {
				t.Fatalf("%s: id %q err %v", token, id, err)
			}
			return
		}
		if !errors.Is(err, want) || id != "" {
			t.Fatalf("%s: id %q err %v, want %v", token, id, err, want)
		}
	}
	f(TokenOK, nil)
	f(TokenSlow, nil)
	f(TokenDecline, payment.ErrDeclined)
	f(TokenInsufficientFunds, payment.ErrInsufficientFunds)
	f(TokenError, payment.ErrGateway)
	f("tok_nope", payment.ErrInvalidToken)
	if n, _ := g.Stats(); n != 2 {
		t.Fatalf("charges %d, want 2", n)
	}
	if !payment.IsDecline(payment.ErrInsufficientFunds) || payment.IsDecline(payment.ErrGateway) {
		t.Fatal("IsDecline misclassifies")
	}
}

func TestSameKeyChargesOnce(t *testing.T) {
	g := newGW(t, 0)
	usd := api.Money{Amount: 100, Currency: "USD"}
	var wg sync.WaitGroup
	ids := make([]string, 50)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _ := g.Charge(context.Background(), payment.ChargeRequest{Key: "same", Token: TokenOK, Amount: usd})
			ids[i] = c.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || id == "" {
			t.Fatalf("ids differ: %q vs %q", id, ids[0])
		}
	}
	if n, _ := g.Stats(); n != 1 {
		t.Fatalf("charged %d times", n)
	}
	for range 2 {
		if _, err := g.Refund(context.Background(), payment.RefundRequest{Key: "r", ChargeID: ids[0], Amount: usd}); err != nil {
			t.Fatal(err)
		}
	}
	if _, r := g.Stats(); r != 1 {
		t.Fatalf("refunded %d times", r)
	}
	if _, err := g.Refund(context.Background(), payment.RefundRequest{Key: "x", ChargeID: "ch_x", Amount: usd}); !errors.Is(err, payment.ErrRefundRefused) {
		t.Fatal(err)
	}
}

func TestSlowHonoursTimeout(t *testing.T) {
	g := newGW(t, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := g.Charge(ctx, payment.ChargeRequest{Key: "k", Token: TokenSlow, Amount: api.Money{Amount: 1, Currency: "USD"}})
	if !errors.Is(err, payment.ErrGateway) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	if n, _ := g.Stats(); n != 0 {
		t.Fatal("charged after timeout")
	}
}

func TestValidate(t *testing.T) {
	if err := (Config{SlowDelay: -1}).Validate(); err == nil {
		t.Fatal("negative delay accepted")
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLookupFencesUnusedKeys(t *testing.T) {
	g := newGW(t, 0)
	ctx := context.Background()
	req := payment.ChargeRequest{Key: "k", Token: TokenOK, Amount: api.Money{Amount: 5, Currency: "USD"}}
	if r, err := g.Lookup(ctx, req); err != nil || r.Outcome != payment.OutcomeNotCharged {
		t.Fatalf("lookup of an unused key: %+v %v", r, err)
	}
	if _, err := g.Charge(ctx, req); err == nil || payment.NothingCharged(err) {
		t.Fatalf("a charge under a fenced key: %v, want an error of unknown outcome", err)
	}
	if n, _ := g.Stats(); n != 0 {
		t.Fatal("a fenced key charged")
	}
	req.Key = "k2"
	c, err := g.Charge(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := g.Lookup(ctx, req); err != nil || r.Outcome != payment.OutcomeCharged || r.ChargeID != c.ID {
		t.Fatalf("lookup of a charge: %+v %v", r, err)
	}
	req.Key, req.Token = "k3", TokenDecline
	_, _ = g.Charge(ctx, req)
	if r, err := g.Lookup(ctx, req); err != nil || r.Outcome != payment.OutcomeDeclined || !payment.IsDecline(r.Decline) {
		t.Fatalf("lookup of a decline: %+v %v", r, err)
	}
}

func TestParseToken(t *testing.T) {
	f := func(tok string, want Behaviour, brand, country string, ok bool) {
		t.Helper()
		b, c, gotOK := ParseToken(tok)
		if b != want || gotOK != ok || (ok && (c.Brand != brand || c.Country != country)) {
			t.Fatalf("%s: %v %+v %v; want %v %s %s %v", tok, b, c, gotOK, want, brand, country, ok)
		}
	}
	f("tok_ok", BehaveOK, "visa", "US", true)
	f("tok_ok_visa_de", BehaveOK, "visa", "DE", true)
	f("tok_ok_mastercard", BehaveOK, "mastercard", "US", true)
	f("tok_ok_fr", BehaveOK, "visa", "FR", true)
	f("tok_error", BehaveError, "visa", "US", true)
	f("tok_error_after_charge", BehaveErrorAfterCharge, "visa", "US", true)
	f("tok_error_after_charge_amex_gb", BehaveErrorAfterCharge, "amex", "GB", true)
	f("tok_insufficient_funds_jcb_jp", BehaveInsufficientFunds, "jcb", "JP", true)
	f("tok_lost_reply", BehaveLostReply, "visa", "US", true)
	f("tok_timeout_after_charge_de", BehaveTimeoutAfterCharge, "visa", "DE", true)
	f("tok_okay", BehaveInvalid, "", "", false)
	f("tok_ok_visa_deu", BehaveInvalid, "", "", false)
	f("tok_ok_DE", BehaveInvalid, "", "", false)
	f("tok_ok_visa_de_x", BehaveInvalid, "", "", false)
	f("tok_ok_", BehaveInvalid, "", "", false)
	f("ok", BehaveInvalid, "", "", false)
	f("", BehaveInvalid, "", "", false)
}

// The in-process gateway's faults charge and report an unknown outcome;
// Lookup finds the charge.
func TestInProcessFaultTokens(t *testing.T) {
	g := newGW(t, time.Millisecond)
	usd := api.Money{Amount: 100, Currency: "USD"}
	for _, tok := range []string{TokenLostReply, TokenTimeoutAfterCharge, TokenErrorAfterCharge + "_visa_de"} {
		req := payment.ChargeRequest{Key: "k-" + tok, Token: tok, Amount: usd}
		if _, err := g.Charge(context.Background(), req); !errors.Is(err, payment.ErrGateway) {
			t.Fatalf("%s: %v", tok, err)
		}
		res, err := g.Lookup(context.Background(), req)
		if err != nil || res.Outcome != payment.OutcomeCharged {
			t.Fatalf("%s: lookup %+v %v", tok, res, err)
		}
	}
	if n, _ := g.Stats(); n != 3 {
		t.Fatalf("%d charges, want 3", n)
	}
}
