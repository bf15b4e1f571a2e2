package checkout

import (
	"context"
	"testing"

	"shopedge/core/cart"
	"shopedge/store"
)

// TestStalePreparationIsRedone changes what a prepared reservation read
// before its transaction runs: the transaction must notice and decide from
// what the store holds then.
func TestStalePreparationIsRedone(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, openEmbedded(t), nil, nil)
	e.product("prep", usd(100), 10)
	n := 0
	reserve := func(change func(q reserveReq)) reserveRes {
		t.Helper()
		n++
		cartID := e.cartWith("prep", 2)
		q := reserveReq{keyHash: hashKey(e.keyNS + cartID), fp: "f", cartID: cartID, email: "a@example.com", orderID: newOrderID(int64(n)), token: cart.NewID()}
		if q.prep = e.co.prepare(ctx, q); q.prep == nil {
			t.Fatal("not prepared")
		}
		change(q)
		var rr reserveRes
		err := e.st.Update(ctx, func(tx store.Txn) (err error) { rr, err = e.co.reserveTx(tx, q); return err })
		if err != nil {
			t.Fatal(err)
		}
		return rr
	}
	if rr := reserve(func(reserveReq) {}); rr.order == nil || rr.order.Totals.Amount != 200 {
		t.Fatalf("unchanged: %+v", rr)
	}
	// The price changed.
	rr := reserve(func(reserveReq) {
		if _, err := e.cat.Put(ctx, e.productDef("prep", usd(150))); err != nil {
			t.Fatal(err)
		}
	})
	if rr.order == nil || rr.order.Totals.Amount != 300 || rr.order.Lines[0].UnitPrice.Amount != 150 {
		t.Fatalf("after a price change: %+v", rr.order)
	}
	// The cart changed.
	rr = reserve(func(q reserveReq) {
		if _, err := e.carts.SetQuantity(ctx, q.cartID, "prep", 3); err != nil {
			t.Fatal(err)
		}
	})
	if rr.order == nil || rr.order.Lines[0].Quantity != 3 {
		t.Fatalf("after a cart change: %+v", rr.order)
	}
	// Another request took the key meanwhile.
	rr = reserve(func(q reserveReq) {
		err := e.st.Update(ctx, func(tx store.Txn) error {
			return saveIdemTx(tx, q.keyHash, &idemRec{Fingerprint: "f", State: idemDone, Status: 409, Body: []byte(`{}`)}, true, 1)
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	if rr.order != nil || !rr.replayed || rr.status != 409 {
		t.Fatalf("after the key was taken: %+v", rr)
	}
	if s := e.stock("prep"); s.Reserved != 2+2+3 {
		t.Fatalf("stock %+v", s)
	}
}
