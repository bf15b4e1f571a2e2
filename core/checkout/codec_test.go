package checkout

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
	"shopedge/core/cart"
)

func testOrder() *orderRec {
	return &orderRec{
		ID: newOrderID(time.Now().UnixNano()), TokenHash: hashKey("tok"), Status: api.OrderPaid,
		Email: "a&b+<c>@example.com", CartID: cart.NewID(), ChargeID: "ch_1", RefundPending: true,
		IdemKey: hashKey("key"), CreatedAt: 1_800_000_000, ExpiresAt: 1_800_000_900, LeaseUntil: -3,
		Totals: api.Money{Amount: 3*4999 + 1, Currency: "USD"},
		Lines: []api.CartLine{
			{SKU: "a", ProductID: "pa", Name: `TV 55" <4K> & more ü`, Quantity: 3, UnitPrice: api.Money{Amount: 4999, Currency: "USD"}, LineTotal: api.Money{Amount: 3 * 4999, Currency: "USD"}},
			{SKU: "b", ProductID: "pb", Name: "", Quantity: 1, UnitPrice: api.Money{Amount: 1, Currency: "USD"}, LineTotal: api.Money{Amount: 1, Currency: "USD"}},
		},
	}
}

func TestOrderRecordRoundTrip(t *testing.T) {
	for _, st := range statusCodes[1:] {
		o := testOrder()
		o.Status = st
		v := encodeOrderRec(nil, o)
		back, err := decodeOrderRec(o.ID, v)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, o) {
			t.Fatalf("round trip:\n%+v\n%+v", o, back)
		}
		// Every truncation and a trailing byte are refused, never misread.
		for n := range len(v) {
			if _, err := decodeOrderRec(o.ID, v[:n]); err == nil {
				t.Fatalf("truncated to %d of %d bytes accepted", n, len(v))
			}
		}
		if _, err := decodeOrderRec(o.ID, append(v, 0)); err == nil {
			t.Fatal("trailing byte accepted")
		}
	}
}

func TestIdemRecordRoundTrip(t *testing.T) {
	body, err := json.Marshal(&api.Order{ID: "x", Email: "a&b+<c>@example.com", Lines: []api.CartLine{{Name: `TV 55" <4K> & more ü`}}})
	if err != nil {
		t.Fatal(err)
	}
	f := func(r *idemRec) {
		t.Helper()
		v := encodeIdem(nil, r)
		back, err := decodeIdem(v)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, r) {
			t.Fatalf("round trip:\n%+v\n%+v", r, back)
		}
		for n := range len(v) {
			if _, err := decodeIdem(v[:n]); err == nil {
				t.Fatalf("truncated to %d of %d bytes accepted", n, len(v))
			}
		}
	}
	fp := Fingerprint("POST", "/v1/checkout", []byte("{}"))
	f(&idemRec{Fingerprint: fp, State: idemDone, Status: 201, Body: body, ExpiresAt: 1_800_086_400})
	f(&idemRec{Fingerprint: fp, State: idemDone, Status: 409, Body: []byte(`{}`), ExpiresAt: 1})
	f(&idemRec{Fingerprint: fp, State: idemOrder, OrderID: newOrderID(1), Token: cart.NewID(), ExpiresAt: 7})
	// Fingerprints and tokens that are not lowercase hex are kept as is.
	f(&idemRec{Fingerprint: "F00", State: idemOrder, OrderID: newOrderID(1), Token: "tok en", ExpiresAt: 7})
	f(&idemRec{Fingerprint: "ABCD", State: idemDone, Status: 402, Body: []byte(`{"a":1}`)})
}

func TestOrderIDs(t *testing.T) {
	prev := ""
	for i := range 10000 {
		id := newOrderID(1_800_000_000_000_000_000 + 1000*int64(i))
		raw, ok := parseOrderID(id)
		if !ok || raw.String() != id || api.ContainsCardNumber([]byte(id)) {
			t.Fatalf("bad id %q", id)
		}
		// Keys of later orders sort after earlier ones.
		if prev != "" && bytes.Compare(orderKey(prev), orderKey(id)) >= 0 {
			t.Fatalf("%s does not sort after %s", id, prev)
		}
		prev = id
	}
	// A prefix without digits at its end never joins a digit run, so ids
	// of the same time share it.
	const t0 = 0x7abcdefabcdefabc
	for range 1000 {
		a, b := newOrderID(t0), newOrderID(t0)
		if a == b || a[:16] != b[:16] || a[:16] != "7abcdefabcdefabc" {
			t.Fatalf("same-time ids %s %s", a, b)
		}
	}
	// A digit-only prefix that reads as a card number with the random
	// part is moved on rather than kept.
	for range 1000 {
		if id := newOrderID(5); api.ContainsCardNumber([]byte(id)) {
			t.Fatalf("id %s looks like a card number", id)
		}
	}
	for _, bad := range []string{"", prev[:47], prev + "0", strings.ToUpper(prev), "g" + prev[1:], cart.NewID()} {
		if _, ok := parseOrderID(bad); ok {
			t.Fatalf("accepted %q", bad)
		}
	}
	if id := resvKeyID(resvKey(9, prev)); id != prev {
		t.Fatalf("resv key id %q", id)
	}
	h := hashKey("k")
	if got, ok := idemExpKeyHash(idemExpKey(9, 10, h)); !ok || got != h {
		t.Fatal("idemexp key hash")
	}
}
