package bench

import (
	"errors"
	"net"
	"strconv"

	"github.com/valyala/fasthttp"
)

// ErrorKind classifies the outcome of one request: "" for a success (status
// below 400), "connect" when no connection could be made, "timeout",
// "status_<code>" for a 4xx/5xx answer, and "io" for any other error.
func ErrorKind(err error, status int) string {
	if err != nil {
		var op *net.OpError
		switch {
		case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout):
			if errors.Is(err, fasthttp.ErrDialTimeout) {
				return "connect"
			}
			return "timeout"
		case errors.As(err, &op) && op.Op == "dial", errors.Is(err, fasthttp.ErrNoFreeConns):
			return "connect"
		}
		var te interface{ Timeout() bool }
		if errors.As(err, &te) && te.Timeout() {
			return "timeout"
		}
		return "io"
	}
	if status >= 400 {
		return "status_" + strconv.Itoa(status)
	}
	return ""
}
