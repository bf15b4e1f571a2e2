package checkout

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"

	"shopedge/core/api"
	"shopedge/store"
)

// Order ids are 24 bytes in lowercase hex (48 characters): the creation
// time in unix nanoseconds (8 bytes big-endian) followed by 128 random bits
// from crypto/rand. The random part keeps the id as unguessable as a cart
// id; the time prefix makes the store keys of new orders (ord/{24 raw
// bytes}) land at the end of the key space, so a batch of new orders dirties
// a few tail pages of the embedded store instead of one random page each.
// The id reveals when the order was placed, which its body says anyway.
const (
	orderIDRaw = 24
	orderIDLen = 2 * orderIDRaw
)

type orderID [orderIDRaw]byte

// newOrderID returns a fresh order id created at unixNano. Ids that happen
// to contain a card-number-like digit run are redrawn (after three tries
// with the time moved on by a nanosecond, in case the prefix is the
// culprit), so an id in a URL never trips the card-data filter.
func newOrderID(unixNano int64) string {
	var raw orderID
	var h [orderIDLen]byte
	for try := 1; ; try++ {
		binary.BigEndian.PutUint64(raw[:8], uint64(unixNano))
		_, _ = rand.Read(raw[8:]) // crypto/rand.Read never fails
		hex.Encode(h[:], raw[:])
		if !api.ContainsCardNumber(h[:]) {
			return string(h[:])
		}
		if try%3 == 0 {
			unixNano++
		}
	}
}

// parseOrderID decodes an id of newOrderID's shape (lowercase hex only).
func parseOrderID(id string) (raw orderID, ok bool) {
	if len(id) != orderIDLen {
		return raw, false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return raw, false
		}
	}
	_, err := hex.Decode(raw[:], []byte(id))
	return raw, err == nil
}

func (r orderID) String() string { return hex.EncodeToString(r[:]) }

// unixNano returns the creation time the id starts with.
func (r orderID) unixNano() int64 { return int64(binary.BigEndian.Uint64(r[:8])) }

// orderKeyRaw returns ord/{24 raw bytes}.
func orderKeyRaw(r orderID) []byte {
	b := make([]byte, 0, len(store.NSOrder)+orderIDRaw)
	return append(append(b, store.NSOrder...), r[:]...)
}

// orderKey returns the key of a valid order id (see parseOrderID).
func orderKey(id string) []byte {
	r, _ := parseOrderID(id)
	return orderKeyRaw(r)
}

// resvKey returns resv/{expiry unix s BE}{order id raw}: due entries sort
// first, and within a second the time-prefixed ids keep inserts in order.
func resvKey(expires int64, id string) []byte {
	r, _ := parseOrderID(id)
	return resvKeyRaw(expires, r)
}

func resvKeyRaw(expires int64, r orderID) []byte {
	b := make([]byte, 0, len(store.NSResv)+8+orderIDRaw)
	b = append(b, store.NSResv...)
	b = store.AppendUint64(b, uint64(expires))
	return append(b, r[:]...)
}

// resvKeyID returns the order id of a resvKey ("" if malformed).
func resvKeyID(k []byte) string {
	if len(k) != len(store.NSResv)+8+orderIDRaw {
		return ""
	}
	var r orderID
	copy(r[:], k[len(store.NSResv)+8:])
	return r.String()
}

// keyHash is the SHA-256 of an Idempotency-Key; records are stored under it.
type keyHash [32]byte

// idemKey returns idem/{sha256 raw}.
func idemKey(h keyHash) []byte {
	b := make([]byte, 0, len(store.NSIdem)+len(h))
	return append(append(b, store.NSIdem...), h[:]...)
}

// idemExpKey returns idemexp/{expiry unix s BE}{created unix ns BE}{hash}:
// due entries sort first, and the creation time keeps a batch's inserts
// together at the end of the index.
func idemExpKey(expires, createdNs int64, h keyHash) []byte {
	b := make([]byte, 0, len(store.NSIdemExp)+16+len(h))
	b = append(b, store.NSIdemExp...)
	b = store.AppendUint64(b, uint64(expires))
	b = store.AppendUint64(b, uint64(createdNs))
	return append(b, h[:]...)
}

// idemExpKeyHash returns the hash of an idemExpKey (ok false if malformed).
func idemExpKeyHash(k []byte) (h keyHash, ok bool) {
	if len(k) != len(store.NSIdemExp)+16+len(h) {
		return h, false
	}
	copy(h[:], k[len(store.NSIdemExp)+16:])
	return h, true
}

// payqKey returns payq/{order id raw}: the order's entry in the queue of
// payments to reconcile.
func payqKey(r orderID) []byte {
	b := make([]byte, 0, len(store.NSPayQ)+orderIDRaw)
	return append(append(b, store.NSPayQ...), r[:]...)
}

// payqKeyID returns the order id of a payqKey (ok false if malformed).
func payqKeyID(k []byte) (r orderID, ok bool) {
	if len(k) != len(store.NSPayQ)+orderIDRaw {
		return r, false
	}
	copy(r[:], k[len(store.NSPayQ):])
	return r, true
}

// rfqKey returns rfq/{order id raw}{attempt}: the refund queue's work item
// for the refund of attempt i's charge.
func rfqKey(r orderID, i int) []byte {
	b := make([]byte, 0, len(store.NSRefundQ)+orderIDRaw+1)
	b = append(append(b, store.NSRefundQ...), r[:]...)
	return append(b, byte(i))
}

// rfqKeyID returns the order id and attempt of an rfqKey (ok false if
// malformed).
func rfqKeyID(k []byte) (r orderID, i int, ok bool) {
	if len(k) != len(store.NSRefundQ)+orderIDRaw+1 {
		return r, 0, false
	}
	copy(r[:], k[len(store.NSRefundQ):])
	return r, int(k[len(k)-1]), true
}
