package httpserver

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

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

// TestRequestIDWithoutMiddleware: a handler run without the middleware
// (the edge's forwarder in a test binary) still gets the client's valid id,
// echoed on the response, or a new one for an invalid or missing id.
func TestRequestIDWithoutMiddleware(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"rid-42", "rid-42"}, {"", ""}, {"bad id with spaces", ""}, {strings.Repeat("x", 200), ""},
	} {
		var ctx fasthttp.RequestCtx
		if c.in != "" {
			ctx.Request.Header.Set(HeaderRequestID, c.in)
		}
		got := string(RequestID(&ctx))
		if c.want != "" && got != c.want || c.want == "" && (len(got) != 32 || got == c.in) {
			t.Fatalf("in %q: id %q", c.in, got)
		}
		if again := string(RequestID(&ctx)); again != got || string(ctx.Response.Header.Peek(HeaderRequestID)) != got {
			t.Fatalf("in %q: id %q, then %q, on the response %q", c.in, got, again, ctx.Response.Header.Peek(HeaderRequestID))
		}
	}
}
