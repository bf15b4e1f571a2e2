package cart

import (
	"context"
	"reflect"
	"testing"

	"shopedge/core/api"
	"shopedge/store"
)

// TestSoldOut: putting a sold-out SKU (none available) in a cart is 409
// api.SoldOutError, whatever the cart (unknown, frozen) and whatever the
// quantity (even beyond MaxQuantity): the answer depends on the SKU alone,
// which is what lets an edge give it. Removing the line still works, and a
// restock lets the SKU in again. It does not prove an edge answers the
// same (edge/forward's tests do).
func TestSoldOut(t *testing.T) {
	s, cat, _, st := newTest(t)
	ctx := context.Background()
	put(t, cat, "a", &api.Money{Amount: 5, Currency: "USD"})
	put(t, cat, "b", &api.Money{Amount: 7, Currency: "USD"})
	c, err := s.CreateWith(ctx, []Line{{SKU: "a", Quantity: 2}, {SKU: "b", Quantity: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.SetStock(ctx, "a", 0); err != nil {
		t.Fatal(err)
	}
	want := func(what string, err error, qty int64) {
		t.Helper()
		var ae *api.Error
		if !asAPI(err, &ae) || !reflect.DeepEqual(ae, api.SoldOutError("a", qty)) {
			t.Fatalf("%s: %v, want %v", what, err, api.SoldOutError("a", qty))
		}
	}
	_, err = s.SetQuantity(ctx, c.ID, "a", 3)
	want("change of a line", err, 3)
	_, err = s.SetQuantity(ctx, NewCartID(1), "a", 1)
	want("unknown cart", err, 1)
	_, err = s.SetQuantity(ctx, c.ID, "a", s.cfg.MaxQuantity+1)
	want("beyond max_quantity", err, s.cfg.MaxQuantity+1)
	if _, err := s.SetQuantity(ctx, c.ID, "a", -1); code(err) != api.ECodeInvalid {
		t.Fatalf("negative quantity: %v", err)
	}
	const order = "0123456789abcdef0123456789abcdef0123456789abcdef"
	frozen, err := s.CreateWith(ctx, []Line{{SKU: "b", Quantity: 1}})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(ctx, func(tx store.Txn) error {
		r, err := LoadTx(tx, frozen.ID, s.Now())
		if err != nil {
			return err
		}
		return FreezeTx(tx, r, order)
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.SetQuantity(ctx, frozen.ID, "a", 1)
	want("frozen cart", err, 1)
	// Nothing was written: the line is still 2.
	if got, err := s.Get(ctx, c.ID); err != nil || len(got.Lines) != 2 || got.Lines[0].Quantity != 2 {
		t.Fatalf("after refused writes: %+v %v", got, err)
	}
	if got, err := s.RemoveLine(ctx, c.ID, "a"); err != nil || len(got.Lines) != 1 {
		t.Fatalf("remove a sold-out line: %+v %v", got, err)
	}
	if _, err := cat.SetStock(ctx, "a", 1); err != nil {
		t.Fatal(err)
	}
	if got, err := s.SetQuantity(ctx, c.ID, "a", 1); err != nil || len(got.Lines) != 2 {
		t.Fatalf("after a restock: %+v %v", got, err)
	}
}

func asAPI(err error, e **api.Error) bool {
	x, ok := err.(*api.Error)
	if ok {
		*e = x
	}
	return ok
}

// TestDigest: with a key every cart answer carries a digest that verifies
// under it and states the stored lines (those the display leaves out too:
// a SKU without a price) and the expiry; a frozen cart and a service
// without a key give none.
func TestDigest(t *testing.T) {
	s, cat, _, st := newTest(t)
	key := []byte("cart-digest-test-key-0123")
	s.dig = api.NewCartDigester(key)
	ctx := context.Background()
	put(t, cat, "a", &api.Money{Amount: 5, Currency: "USD"})
	put(t, cat, "free", &api.Money{Amount: 5, Currency: "USD"})
	check := func(what string, c api.Cart, lines ...Line) {
		t.Helper()
		var buf [384]byte
		d, err := api.NewCartDigester(key).Verify(buf[:], c.ID, []byte(c.Digest))
		if err != nil {
			t.Fatalf("%s: digest %q: %v", what, c.Digest, err)
		}
		var got []Line
		for sku, qty := range d.Lines {
			got = append(got, Line{SKU: string(sku), Quantity: qty})
		}
		if d.ExpiresAt() != c.ExpiresAt || !reflect.DeepEqual(got, lines) {
			t.Fatalf("%s: digest of %v expiring %d, want %v expiring %d", what, got, d.ExpiresAt(), lines, c.ExpiresAt)
		}
	}
	c, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check("create", c)
	c, err = s.SetQuantity(ctx, c.ID, "a", 2)
	if err != nil {
		t.Fatal(err)
	}
	check("set", c, Line{"a", 2})
	if c, err = s.SetQuantity(ctx, c.ID, "free", 1); err != nil {
		t.Fatal(err)
	}
	put(t, cat, "free", nil) // no price any more: the display leaves it out
	if c, err = s.Get(ctx, c.ID); err != nil || len(c.Lines) != 1 {
		t.Fatalf("get %+v %v", c, err)
	}
	check("get", c, Line{"a", 2}, Line{"free", 1})
	if c, err = s.RemoveLine(ctx, c.ID, "free"); err != nil {
		t.Fatal(err)
	}
	check("remove", c, Line{"a", 2})
	if err := st.Update(ctx, func(tx store.Txn) error {
		r, err := LoadTx(tx, c.ID, s.Now())
		if err != nil {
			return err
		}
		return FreezeTx(tx, r, "0123456789abcdef0123456789abcdef0123456789abcdef")
	}); err != nil {
		t.Fatal(err)
	}
	if c, err = s.Get(ctx, c.ID); err != nil || c.Digest != "" {
		t.Fatalf("frozen cart: digest %q, %v", c.Digest, err)
	}
	s.dig = nil
	if c, err = s.Create(ctx); err != nil || c.Digest != "" {
		t.Fatalf("no key: digest %q, %v", c.Digest, err)
	}
}
