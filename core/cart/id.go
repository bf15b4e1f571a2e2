package cart

import (
	"crypto/rand"
	"encoding/hex"

	"shopedge/core/api"
)

// IDLen is the length of cart, order and token ids: 128 bits in hex.
const IDLen = 32

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

// ValidID reports whether id has the shape NewID produces.
func ValidID(id string) bool {
	if len(id) != IDLen {
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
