package api

import (
	"bytes"
	"testing"
)

var sinkBool bool

func benchBody() []byte {
	return bytes.Repeat([]byte(`{"cart_id":"9f86d081884c7d659a2feaa0c55ad015","payment_token":"tok_ok","email":"buyer@example.com","n":123456789012}`), 8)
}

func BenchmarkContainsCardNumber(b *testing.B) {
	body := benchBody()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		sinkBool = ContainsCardNumber(body)
	}
}

// BenchmarkContainsCardNumberBaseline is a plain byte scan over the same
// input (bytes.IndexByte for a byte that is absent), the floor any scanner
// pays.
func BenchmarkContainsCardNumberBaseline(b *testing.B) {
	body := benchBody()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		sinkBool = bytes.IndexByte(body, 0xff) >= 0
	}
}
