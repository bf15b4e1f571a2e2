package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash"
	"sync"
)

// HeaderCartDigest carries a cart digest: a core sets it on its answers to
// the cart routes (create, read, item changes) when it has a digest key
// and the cart is not frozen by a checkout; a client sends the latest one
// it got back on the first checkout of that cart, so that any edge can
// answer a checkout that a sold-out SKU makes impossible without asking a
// core (see CartDigester). Edges pass it through; a core ignores it on
// requests.
const HeaderCartDigest = "X-Shopedge-Cart-Digest"

// HeaderAnsweredBy is set to "edge" on the answers an edge gives by itself
// in a core's stead (a SKU it knows to be sold out): the same status and
// body the core would give, from the edge's view of the change feed.
const HeaderAnsweredBy = "X-Shopedge-Answered-By"

// HeaderRouteSKU is set by an edge on a checkout it sent to the core that
// owns this SKU of the cart (edge/forward's checkout routing, by the
// rendezvous hash of internal/rendezvous): a core that computes the same
// owner, itself, runs the checkout without reading the cart to decide
// where it goes (core/cluster). Edges never pass a client's.
const HeaderRouteSKU = "X-Shopedge-Route-SKU"

// Limits of a cart digest.
const (
	// MaxCartDigestLen is the longest encoded digest a core issues (and an
	// edge reads): carts whose lines do not fit get none.
	MaxCartDigestLen = 512
	// cartDigestMACLen is the length of the truncated HMAC-SHA256 tag.
	cartDigestMACLen = 16
	cartDigestV1     = 1
	// cartDigestHeadLen is version, expiry (uint32) and line count.
	cartDigestHeadLen = 1 + 4 + 1
)

// cartDigestContext separates the digest's MAC from any other use of the
// key.
var cartDigestContext = []byte("shopedge cart digest v1\x00")

// ErrBadCartDigest is returned for a digest that is malformed or whose MAC
// does not verify under the key (tampered with, another cart's, another
// key's).
var ErrBadCartDigest = errors.New("invalid cart digest")

// MinCartDigestKeyLen is the shortest digest key the tiers accept.
const MinCartDigestKeyLen = 16

// CartDigester signs and verifies cart digests with one shared key. A
// digest states, under the core's signature, a cart's lines (SKU and
// quantity, in the cart's order) and the cart's expiry, bound to the cart
// id; the id itself is not in it (the checkout body names the cart).
//
// Wire format, then base64url without padding:
//
//	1 byte   version (1)
//	4 bytes  the cart's expires_at, unix seconds, big-endian
//	1 byte   number of lines n (≤ 255)
//	n ×      1 byte SKU length, the SKU, the quantity as a uvarint
//	16 bytes HMAC-SHA256(key, "shopedge cart digest v1\0" ‖ cart id ‖ "\0" ‖ all the bytes above), truncated
//
// A one-line cart's digest is ~40 characters. It is safe for concurrent
// use.
type CartDigester struct {
	key  []byte
	macs sync.Pool // hash.Hash (HMAC-SHA256 under key)
}

// NewCartDigester returns a digester with key (copied), which should be at
// least MinCartDigestKeyLen random bytes.
func NewCartDigester(key []byte) *CartDigester {
	d := &CartDigester{key: append([]byte(nil), key...)}
	d.macs.New = func() any { return &macState{h: hmac.New(sha256.New, d.key)} }
	return d
}

// macState is one HMAC with scratch space: buffers handed to the hash's
// methods escape, so they live here rather than on the stack.
type macState struct {
	h   hash.Hash
	id  [64]byte
	sum [sha256.Size]byte
	// payload is a copy of what is signed or verified: the hash's Write
	// is an interface call, so handing it the caller's buffer would move
	// that buffer to the heap.
	payload [MaxCartDigestLen]byte
}

// CartDigestLine is one line a digest states.
type CartDigestLine struct {
	SKU      string
	Quantity int64
}

// Sign returns the digest of cart id expiring at expiresAt with lines, in
// order. It returns "" when the cart cannot have one: more than 255 lines,
// a SKU longer than MaxSKULen or empty, a quantity below 1, an expiry
// outside uint32, or an encoding longer than MaxCartDigestLen.
func (d *CartDigester) Sign(id string, expiresAt int64, lines []CartDigestLine) string {
	if len(lines) > 255 || expiresAt < 0 || expiresAt > 1<<32-1 {
		return ""
	}
	var stack [256]byte
	b := append(stack[:0], cartDigestV1)
	b = binary.BigEndian.AppendUint32(b, uint32(expiresAt))
	b = append(b, byte(len(lines)))
	for _, l := range lines {
		if len(l.SKU) == 0 || len(l.SKU) > MaxSKULen || l.Quantity < 1 {
			return ""
		}
		b = append(b, byte(len(l.SKU)))
		b = append(b, l.SKU...)
		b = binary.AppendUvarint(b, uint64(l.Quantity))
	}
	b = d.mac(b, id, b)
	if base64.RawURLEncoding.EncodedLen(len(b)) > MaxCartDigestLen {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// mac appends the truncated tag of (id, payload) to dst.
func (d *CartDigester) mac(dst []byte, id string, payload []byte) []byte {
	m := d.macs.Get().(*macState)
	m.h.Reset()
	m.h.Write(cartDigestContext)
	m.h.Write(append(append(m.id[:0], id...), 0))
	m.h.Write(append(m.payload[:0], payload...))
	s := m.h.Sum(m.sum[:0])
	dst = append(dst, s[:cartDigestMACLen]...)
	d.macs.Put(m)
	return dst
}

// CartDigest is a verified digest's content (see CartDigester.Verify). It
// aliases the buffer it was decoded into.
type CartDigest []byte

// ExpiresAt returns the cart's expiry as the core saw it when it signed.
func (c CartDigest) ExpiresAt() int64 { return int64(binary.BigEndian.Uint32(c[1:5])) }

// Len returns the number of lines.
func (c CartDigest) Len() int { return int(c[5]) }

// Lines calls yield with each line's SKU (aliasing the digest) and
// quantity, in the cart's order, until it returns false.
func (c CartDigest) Lines(yield func(sku []byte, qty int64) bool) {
	for off, ok := 0, true; ; {
		var sku []byte
		var qty int64
		if sku, qty, off, ok = c.Line(off); !ok || !yield(sku, qty) {
			return
		}
	}
}

// Line returns the line at offset off of the lines (0: the first) and the
// offset of the next; ok is false past the last line. Unlike Lines, a
// loop over Line needs no closure, so the digest's buffer can stay on the
// caller's stack.
func (c CartDigest) Line(off int) (sku []byte, qty int64, next int, ok bool) {
	p := c[cartDigestHeadLen+off:]
	if len(p) == 0 {
		return nil, 0, off, false
	}
	n := int(p[0])
	q, w := binary.Uvarint(p[1+n:])
	return p[1 : 1+n : 1+n], int64(q), off + 1 + n + w, true
}

// DecodedCartDigestLen is the buffer Verify needs for a digest of n
// encoded bytes.
func DecodedCartDigestLen(n int) int { return base64.RawURLEncoding.DecodedLen(n) }

// Verify decodes enc into buf and checks it is a digest this key signed
// for cart id. buf must hold DecodedCartDigestLen(len(enc)) bytes (a
// [384]byte array on the stack holds the longest). It returns the
// digest's content, aliasing buf, or ErrBadCartDigest. It does not
// allocate.
func (d *CartDigester) Verify(buf []byte, id string, enc []byte) (CartDigest, error) {
	if len(enc) == 0 || len(enc) > MaxCartDigestLen || len(buf) < DecodedCartDigestLen(len(enc)) {
		return nil, ErrBadCartDigest
	}
	n, err := base64.RawURLEncoding.Decode(buf, enc)
	if err != nil || n < cartDigestHeadLen+cartDigestMACLen {
		return nil, ErrBadCartDigest
	}
	raw := buf[:n]
	payload, tag := raw[:n-cartDigestMACLen], raw[n-cartDigestMACLen:]
	var want [cartDigestMACLen]byte
	if !hmac.Equal(d.mac(want[:0], id, payload), tag) {
		return nil, ErrBadCartDigest
	}
	if !wellFormed(payload) {
		return nil, ErrBadCartDigest
	}
	return CartDigest(payload), nil
}

// wellFormed checks the structure of a payload whose MAC verified: only a
// leaked key could make it fail, but Lines must never read out of bounds.
func wellFormed(p []byte) bool {
	if len(p) < cartDigestHeadLen || p[0] != cartDigestV1 {
		return false
	}
	lines := int(p[5])
	p = p[cartDigestHeadLen:]
	for range lines {
		if len(p) < 1 {
			return false
		}
		n := int(p[0])
		if n == 0 || len(p) < 1+n {
			return false
		}
		qty, w := binary.Uvarint(p[1+n:])
		if w <= 0 || qty < 1 || qty > 1<<62 {
			return false
		}
		p = p[1+n+w:]
	}
	return len(p) == 0
}
