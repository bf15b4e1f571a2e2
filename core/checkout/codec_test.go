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
	"shopedge/core/payment"
)

func testOrder() *orderRec {
	return &orderRec{
		ID: newOrderID(time.Now().UnixNano()), TokenHash: hashKey("tok"), Status: api.OrderPaid,
		Email: "a&b+<c>@example.com", CartID: cart.NewID(), PayToken: "tok_ok_visa_de",
		Attempts: []attempt{
			{Gateway: "primary", Outcome: payment.OutcomeNotCharged},
			{Gateway: "backup", Outcome: payment.OutcomeCharged, ChargeID: "ch_1", Refund: refundPending, RefundID: "re_1"},
			{Gateway: "third"},
		},
		PaidBy: 2, Queued: true, Indexed: true,
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

// encodeOrderRecV1 is the version 1 encoder (before charge attempts were
// recorded), kept to test that its records still decode.
func encodeOrderRecV1(o *orderRec, chargeID string, refundPending bool) []byte {
	var flags byte
	if refundPending {
		flags |= flagRefundPendingV1
	}
	if o.Indexed {
		flags |= flagIndexed
	}
	b := append([]byte(nil), recVersion1, statusCode(o.Status), flags)
	b = append(b, o.TokenHash[:]...)
	b = append(b, o.IdemKey[:]...)
	b = appendStr(b, o.CartID)
	b = appendStr(b, o.Email)
	b = appendStr(b, chargeID)
	b = appendVarint(b, o.CreatedAt)
	b = appendVarint(b, o.ExpiresAt)
	b = appendVarint(b, o.LeaseUntil)
	b = appendVarint(b, o.Totals.Amount)
	b = appendStr(b, o.Totals.Currency)
	b = appendUvarint(b, uint64(len(o.Lines)))
	for i := range o.Lines {
		l := &o.Lines[i]
		b = appendStr(b, l.SKU)
		b = appendStr(b, l.ProductID)
		b = appendStr(b, l.Name)
		b = appendVarint(b, l.Quantity)
		b = appendVarint(b, l.UnitPrice.Amount)
		b = appendStr(b, l.UnitPrice.Currency)
		b = appendVarint(b, l.LineTotal.Amount)
		b = appendStr(b, l.LineTotal.Currency)
	}
	return b
}

// TestOrderRecordV1 decodes version 1 records: the attempt each implies
// (one, under the order id, at the gateway the core then had), and the
// rest of the order as it was.
func TestOrderRecordV1(t *testing.T) {
	f := func(status, chargeID string, refundPending bool, want []attempt, paidBy int) {
		t.Helper()
		o := testOrder()
		o.Status, o.Attempts, o.PaidBy, o.PayToken, o.Queued = status, nil, 0, "", false
		back, err := decodeOrderRec(o.ID, encodeOrderRecV1(o, chargeID, refundPending))
		if err != nil {
			t.Fatal(err)
		}
		o.Attempts, o.PaidBy = want, paidBy
		if !reflect.DeepEqual(back, o) {
			t.Fatalf("v1 %s:\n%+v\n%+v", status, o, back)
		}
		if back.chargeID() != chargeID || o.chargeRequest(0).Key != o.ID {
			t.Fatalf("v1 %s: charge %q key %q", status, back.chargeID(), o.chargeRequest(0).Key)
		}
	}
	f(api.OrderPendingPayment, "", false, []attempt{{Gateway: v1Gateway}}, 0)
	f(api.OrderPaid, "ch_9", false, []attempt{{Gateway: v1Gateway, Outcome: payment.OutcomeCharged, ChargeID: "ch_9"}}, 1)
	f(api.OrderCancelled, "ch_9", true, []attempt{{Gateway: v1Gateway, Outcome: payment.OutcomeCharged, ChargeID: "ch_9", Refund: refundPending}}, 1)
	f(api.OrderCancelled, "ch_9", false, []attempt{{Gateway: v1Gateway, Outcome: payment.OutcomeCharged, ChargeID: "ch_9", Refund: refundSucceeded}}, 1)
	f(api.OrderPaymentFailed, "", false, []attempt{{Gateway: v1Gateway, Outcome: payment.OutcomeDeclined}}, 0)
	f(api.OrderExpired, "", false, nil, 0)
	f(api.OrderCancelled, "", false, nil, 0)
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
