package httpserver

import (
	"testing"

	"shopedge/core/api"
)

// Generated request ids never look like card data: the core would reject
// every request carrying one (the edge forwards its id).
func TestNewRequestIDNeverCardLike(t *testing.T) {
	var buf [32]byte
	for i := 0; i < 100000; i++ {
		newRequestID(&buf)
		if api.ContainsCardNumber(buf[:]) {
			t.Fatalf("request id %s looks like a card number", buf)
		}
	}
}
