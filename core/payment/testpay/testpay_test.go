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
		id, err := g.Charge(context.Background(), token, usd, "k-"+token)
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
			ids[i], _ = g.Charge(context.Background(), TokenOK, usd, "same")
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
	if err := g.Refund(context.Background(), ids[0], usd); err != nil {
		t.Fatal(err)
	}
	if err := g.Refund(context.Background(), ids[0], usd); err != nil {
		t.Fatal(err)
	}
	if _, r := g.Stats(); r != 1 {
		t.Fatalf("refunded %d times", r)
	}
	if err := g.Refund(context.Background(), "ch_x", usd); !errors.Is(err, payment.ErrUnknownCharge) {
		t.Fatal(err)
	}
}

func TestSlowHonoursTimeout(t *testing.T) {
	g := newGW(t, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := g.Charge(ctx, TokenSlow, api.Money{Amount: 1, Currency: "USD"}, "k")
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
