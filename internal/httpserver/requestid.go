package httpserver

import (
	"encoding/hex"
	"math/rand/v2"

	"github.com/valyala/fasthttp"

	"shopedge/core/api"
)

// HeaderRequestID carries the request id in both directions.
const HeaderRequestID = "X-Request-ID"

// maxRequestIDLen bounds an accepted client-supplied request id.
const maxRequestIDLen = 128

// RequestID returns the request's id: the client's X-Request-ID when it was
// valid, else one the server generated. The slice is valid only until the
// handler returns; copy it to keep it.
func RequestID(ctx *fasthttp.RequestCtx) []byte {
	return ctx.Request.Header.Peek(HeaderRequestID)
}

// ensureRequestID keeps a valid incoming id or replaces it with a random
// 128-bit hex id, storing it on the request (for RequestID) and the response.
func ensureRequestID(ctx *fasthttp.RequestCtx) {
	id := ctx.Request.Header.Peek(HeaderRequestID)
	if !validRequestID(id) {
		var buf [32]byte
		newRequestID(&buf)
		ctx.Request.Header.SetBytesV(HeaderRequestID, buf[:])
		id = ctx.Request.Header.Peek(HeaderRequestID)
	}
	ctx.Response.Header.SetBytesV(HeaderRequestID, id)
}

// newRequestID fills buf with a random 128-bit hex id. Ids that happen to
// hold a card-number-like digit run (about 1 in 250) are redrawn: the core
// rejects requests carrying card data in any header, and the edge forwards
// its request id.
func newRequestID(buf *[32]byte) {
	for {
		var raw [16]byte
		putUint64(raw[:8], rand.Uint64())
		putUint64(raw[8:], rand.Uint64())
		hex.Encode(buf[:], raw[:])
		if !api.ContainsCardNumber(buf[:]) {
			return
		}
	}
}

// validRequestID accepts 1 to 128 printable ASCII characters without spaces.
func validRequestID(id []byte) bool {
	if len(id) == 0 || len(id) > maxRequestIDLen {
		return false
	}
	for _, c := range id {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

func putUint64(b []byte, v uint64) {
	_ = b[7]
	for i := range 8 {
		b[i] = byte(v >> (56 - 8*i))
	}
}
