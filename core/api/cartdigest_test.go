package api_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"shopedge/core/api"
)

const (
	digestCart  = "0000018f2a3b4c5d0123456789abcdef0123456789abcdef"
	digestOther = "0000018f2a3b4c5d0123456789abcdef0123456789abcdee"
)

var digestKey = []byte("0123456789abcdef-digest-key")

type line struct {
	sku string
	qty int64
}

func readLines(d api.CartDigest) []line {
	var out []line
	for sku, qty := range d.Lines {
		out = append(out, line{string(sku), qty})
	}
	return out
}

func verify(dg *api.CartDigester, id, enc string) (api.CartDigest, error) {
	var buf [384]byte
	return dg.Verify(buf[:], id, []byte(enc))
}

// TestCartDigestRoundTrip: what the core signs, the edge reads back line
// by line, in order, with the cart's expiry.
func TestCartDigestRoundTrip(t *testing.T) {
	dg := api.NewCartDigester(digestKey)
	f := func(lines ...api.CartDigestLine) {
		t.Helper()
		enc := dg.Sign(digestCart, 1_800_000_000, lines)
		if enc == "" {
			t.Fatalf("no digest for %v", lines)
		}
		d, err := verify(dg, digestCart, enc)
		if err != nil {
			t.Fatalf("verify %q: %v", enc, err)
		}
		if d.ExpiresAt() != 1_800_000_000 || d.Len() != len(lines) {
			t.Fatalf("expiry %d, %d lines", d.ExpiresAt(), d.Len())
		}
		got := readLines(d)
		for i, l := range lines {
			if got[i] != (line{l.SKU, l.Quantity}) {
				t.Fatalf("line %d: %v, want %v", i, got[i], l)
			}
		}
	}
	f()
	f(api.CartDigestLine{SKU: "fs-hot-1", Quantity: 1})
	f(api.CartDigestLine{SKU: "a", Quantity: 999}, api.CartDigestLine{SKU: strings.Repeat("s", 128), Quantity: 1 << 40},
		api.CartDigestLine{SKU: "b.c_d~e-f", Quantity: 127}, api.CartDigestLine{SKU: "g", Quantity: 128})
	if enc := dg.Sign(digestCart, 1_800_000_000, []api.CartDigestLine{{SKU: "fs-hot-1", Quantity: 1}}); len(enc) > 48 {
		t.Errorf("one-line digest %q: %d characters", enc, len(enc))
	}
}

// TestCartDigestRefused: a digest that was not signed by this key for this
// cart never verifies — any byte changed (payload or tag), another cart,
// another key, cut short, lengthened, or not base64.
func TestCartDigestRefused(t *testing.T) {
	dg := api.NewCartDigester(digestKey)
	enc := dg.Sign(digestCart, 1_800_000_000, []api.CartDigestLine{{SKU: "fs-hot-1", Quantity: 2}, {SKU: "x", Quantity: 1}})
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		t.Fatal(err)
	}
	bad := func(what, e string) {
		t.Helper()
		if _, err := verify(dg, digestCart, e); err == nil {
			t.Errorf("%s: %q verified", what, e)
		}
	}
	for i := range raw {
		for _, bit := range []byte{0x01, 0x80} {
			b := bytes.Clone(raw)
			b[i] ^= bit
			bad("byte changed", base64.RawURLEncoding.EncodeToString(b))
		}
	}
	if _, err := verify(dg, digestOther, enc); err == nil {
		t.Error("verified for another cart")
	}
	if _, err := verify(api.NewCartDigester([]byte("another-key-0123456789")), digestCart, enc); err == nil {
		t.Error("verified under another key")
	}
	bad("cut short", enc[:len(enc)-1])
	bad("tag dropped", base64.RawURLEncoding.EncodeToString(raw[:len(raw)-16]))
	bad("byte appended", base64.RawURLEncoding.EncodeToString(append(bytes.Clone(raw), 0)))
	bad("padding", enc+"=")
	bad("not base64", "!"+enc[1:])
	bad("empty", "")
	bad("too long", strings.Repeat("A", api.MaxCartDigestLen+4))
	// A tampered quantity re-signed with another key is still refused.
	forged := api.NewCartDigester([]byte("attacker-key-0123456789")).Sign(digestCart, 1_800_000_000, []api.CartDigestLine{{SKU: "fs-hot-1", Quantity: 1}})
	bad("forged", forged)
}

// TestCartDigestNotIssued: carts a digest cannot describe get none.
func TestCartDigestNotIssued(t *testing.T) {
	dg := api.NewCartDigester(digestKey)
	many := make([]api.CartDigestLine, 40)
	for i := range many {
		many[i] = api.CartDigestLine{SKU: strings.Repeat("k", 10) + string(rune('a'+i%26)), Quantity: 1}
	}
	for what, c := range map[string]struct {
		exp   int64
		lines []api.CartDigestLine
	}{
		"too long":      {1, many},
		"empty sku":     {1, []api.CartDigestLine{{SKU: "", Quantity: 1}}},
		"long sku":      {1, []api.CartDigestLine{{SKU: strings.Repeat("s", 129), Quantity: 1}}},
		"zero quantity": {1, []api.CartDigestLine{{SKU: "a", Quantity: 0}}},
		"expiry":        {1 << 32, nil},
		"negative":      {-1, nil},
	} {
		if enc := dg.Sign(digestCart, c.exp, c.lines); enc != "" {
			t.Errorf("%s: digest %q", what, enc)
		}
	}
}

func BenchmarkCartDigestVerify(b *testing.B) {
	dg := api.NewCartDigester(digestKey)
	enc := []byte(dg.Sign(digestCart, 1_800_000_000, []api.CartDigestLine{{SKU: "fs-hot-1", Quantity: 1}}))
	b.ReportAllocs()
	var buf [384]byte
	for b.Loop() {
		if _, err := dg.Verify(buf[:], digestCart, enc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCartDigestBase64 is the baseline twin of the verify benchmark:
// decoding the same digest without checking its tag.
func BenchmarkCartDigestBase64(b *testing.B) {
	dg := api.NewCartDigester(digestKey)
	enc := []byte(dg.Sign(digestCart, 1_800_000_000, []api.CartDigestLine{{SKU: "fs-hot-1", Quantity: 1}}))
	b.ReportAllocs()
	var buf [384]byte
	for b.Loop() {
		if _, err := base64.RawURLEncoding.Decode(buf[:], enc); err != nil {
			b.Fatal(err)
		}
	}
}
