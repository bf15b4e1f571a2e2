package cart

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"

	"shopedge/core/api"
)

// IDLen is the length of token ids (and of cart ids before time-ordered
// ones): 128 bits in hex.
const IDLen = 32

// CartIDLen is the length of a cart id from NewCartID: 24 bytes in hex.
const CartIDLen = 48

// NewID returns a fresh 128-bit random id from crypto/rand in lowercase hex.
// Ids that happen to contain a card-number-like digit run are redrawn, so an
// id in a URL never trips the card-data filter.
func NewID() string {
	var b [16]byte
	var h [IDLen]byte
	for {
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		hex.Encode(h[:], b[:])
		if !api.ContainsCardNumber(h[:]) {
			return string(h[:])
		}
	}
}

// NewCartID returns a fresh cart id created at unixNano: the time (8 bytes
// big-endian) followed by 128 random bits from crypto/rand, in lowercase
// hex. The random part keeps it as unguessable as NewID; the time prefix
// places the records of carts created together side by side in the store,
// so the checkouts of a sale, which consume carts created around the same
// time, delete them from a few pages instead of one random page each. The
// id reveals when the cart was created, which the cart says anyway. Ids
// that contain a card-number-like digit run are redrawn (after three tries
// with the time moved on by a nanosecond, in case the prefix is the
// culprit).
func NewCartID(unixNano int64) string {
	var b [CartIDLen / 2]byte
	var h [CartIDLen]byte
	for try := 1; ; try++ {
		binary.BigEndian.PutUint64(b[:8], uint64(unixNano))
		_, _ = rand.Read(b[8:]) // crypto/rand.Read never fails
		hex.Encode(h[:], b[:])
		if !api.ContainsCardNumber(h[:]) {
			return string(h[:])
		}
		if try%3 == 0 {
			unixNano++
		}
	}
}

// ValidID reports whether id has the shape NewCartID (or, for carts made
// before it, NewID) produces.
func ValidID(id string) bool {
	if len(id) != IDLen && len(id) != CartIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
