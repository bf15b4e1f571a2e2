package api

// The shapes of the identifiers in the public write routes' URLs. The core
// makes these ids (core/cart, core/checkout) and the catalog checks SKUs
// the same way (catalog.ValidID); the edge checks path and query values
// with these before it rebuilds a core URL from them, so nothing else can
// reach a core. A test in this package keeps them equal to the core's own
// checks.

// ValidCartID reports whether id has the shape of a cart id: 32 or 48
// lowercase hex characters.
func ValidCartID(id string) bool {
	return (len(id) == 32 || len(id) == 48) && lowerHex(id)
}

// ValidOrderID reports whether id has the shape of an order id: 48
// lowercase hex characters.
func ValidOrderID(id string) bool { return len(id) == 48 && lowerHex(id) }

// ValidOrderToken reports whether t has the shape of an order's access
// token: 32 lowercase hex characters.
func ValidOrderToken(t string) bool { return len(t) == 32 && lowerHex(t) }

// MaxSKULen is the longest SKU (and product id) the catalog accepts.
const MaxSKULen = 128

// ValidSKU reports whether s is a catalog identifier, as every SKU is: 1
// to MaxSKULen bytes of [A-Za-z0-9._~-], not starting with a dot, without
// "..". Each byte is unreserved in a URL, so a valid SKU needs no escaping.
func ValidSKU(s string) bool {
	if len(s) == 0 || len(s) > MaxSKULen || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '~' || c == '-') {
			return false
		}
		if c == '.' && i > 0 && s[i-1] == '.' {
			return false
		}
	}
	return true
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
