package httpserver

import (
	"math/rand/v2"

	"github.com/valyala/fasthttp"

	"shopedge/core/api"
)

// HeaderRequestID carries the request id in both directions.
const HeaderRequestID = "X-Request-ID"

// canonicalRequestID is HeaderRequestID as fasthttp normalises it, so
// setting it skips normalisation on every request.
var canonicalRequestID = []byte("X-Request-Id")

// maxRequestIDLen bounds an accepted client-supplied request id.
const maxRequestIDLen = 128

// RequestID returns the request's id: the client's X-Request-ID when it was
// valid, else a random one generated on first use. The id is kept on the
// response, which carries it back; only responses that asked for an id
// carry one. Error responses always do (the middleware asks), and so do
// forwarded writes (the forwarder asks), all of them no-store. A
// cacheable answer (a product page) never asks: a client's id on it would
// be stored by a CDN and served to everyone. The slice is valid only until
// the handler returns or resets the response; copy it to keep it.
func RequestID(ctx *fasthttp.RequestCtx) []byte {
	if id := ctx.Response.Header.Peek(HeaderRequestID); len(id) > 0 {
		return id
	}
	if id := ctx.Request.Header.PeekCanonical(canonicalRequestID); validRequestID(id) {
		ctx.Response.Header.SetCanonical(canonicalRequestID, id)
		return ctx.Response.Header.Peek(HeaderRequestID)
	}
	var buf [32]byte
	newRequestID(&buf)
	ctx.Response.Header.SetCanonical(canonicalRequestID, buf[:])
	return ctx.Response.Header.Peek(HeaderRequestID)
}

// newRequestID fills buf with a random 128-bit id: 32 nibbles written as
// hex, except every eighth, which is written as a letter from g to v. No
// run of digits is then longer than seven, so an id never looks like card
// data (the core rejects any request carrying a card-number-like digit run
// in a header, and the edge forwards its request id), and that holds by
// construction, with no scan on the hot path.
func newRequestID(buf *[32]byte) {
	const hexDigits = "0123456789abcdef"
	const letters = "ghijklmnopqrstuv"
	a, b := rand.Uint64(), rand.Uint64()
	for i := range 32 {
		w := a
		if i >= 16 {
			w = b
		}
		nib := (w >> (60 - 4*uint(i%16))) & 0xf
		if i%8 == 7 {
			buf[i] = letters[nib]
		} else {
			buf[i] = hexDigits[nib]
		}
	}
}

// validRequestID accepts 1 to 128 printable ASCII characters without
// spaces that do not look like a card number: such an id is replaced like
// any other invalid one, so it is never echoed, forwarded or logged.
func validRequestID(id []byte) bool {
	if len(id) == 0 || len(id) > maxRequestIDLen {
		return false
	}
	for _, c := range id {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return !api.ContainsCardNumber(id)
}
