package api

import (
	"errors"
	"fmt"
	"net/http"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"
)

// Error codes. Each maps to one HTTP status in Status.
//
// ECodeUnavailable is the answer of a process that cannot serve (starting,
// draining, store unreachable, overloaded): the one 503 an edge's breaker
// counts against a core. Application answers that share its status carry
// their own code (ECodePaymentUnknown: the core is healthy, the payment
// gateway's answer is not known yet; ECodeRefundPending: an order is
// cancelled, its refund not confirmed yet).
const (
	ECodeInvalid         = "invalid"                // 400
	ECodeCardData        = "card_data_rejected"     // 400
	ECodeUnauthorized    = "unauthorized"           // 401
	ECodeNotFound        = "not_found"              // 404
	ECodeMethod          = "method_not_allowed"     // 405
	ECodeRequestTimeout  = "request_timeout"        // 408
	ECodeConflict        = "conflict"               // 409
	ECodeOutOfStock      = "out_of_stock"           // 409
	ECodeInFlight        = "request_in_flight"      // 409
	ECodeGone            = "gone"                   // 410
	ECodeTooLarge        = "too_large"              // 413
	ECodeKeyReused       = "idempotency_key_reused" // 422
	ECodePaymentDeclined = "payment_declined"       // 402
	ECodeTooMany         = "too_many_requests"      // 429
	ECodeHeaderTooLarge  = "header_too_large"       // 431
	ECodeInternal        = "internal"               // 500
	ECodeUnavailable     = "unavailable"            // 503
	ECodePaymentUnknown  = "payment_unknown"        // 503
	ECodeRefundPending   = "refund_pending"         // 503
	ECodeTimeout         = "timeout"                // 504
)

var statusByCode = map[string]int{
	ECodeInvalid:         http.StatusBadRequest,
	ECodeCardData:        http.StatusBadRequest,
	ECodeUnauthorized:    http.StatusUnauthorized,
	ECodeNotFound:        http.StatusNotFound,
	ECodeMethod:          http.StatusMethodNotAllowed,
	ECodeRequestTimeout:  http.StatusRequestTimeout,
	ECodeConflict:        http.StatusConflict,
	ECodeOutOfStock:      http.StatusConflict,
	ECodeInFlight:        http.StatusConflict,
	ECodeGone:            http.StatusGone,
	ECodeTooLarge:        http.StatusRequestEntityTooLarge,
	ECodeKeyReused:       http.StatusUnprocessableEntity,
	ECodePaymentDeclined: http.StatusPaymentRequired,
	ECodeTooMany:         http.StatusTooManyRequests,
	ECodeHeaderTooLarge:  http.StatusRequestHeaderFieldsTooLarge,
	ECodeInternal:        http.StatusInternalServerError,
	ECodeUnavailable:     http.StatusServiceUnavailable,
	ECodePaymentUnknown:  http.StatusServiceUnavailable,
	ECodeRefundPending:   http.StatusServiceUnavailable,
	ECodeTimeout:         http.StatusGatewayTimeout,
}

// Error is shopedge's one application error. Handlers return it (or wrap it);
// WriteError renders it. Details is optional machine-readable context (e.g.
// the short lines of an out-of-stock checkout).
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	Details any    `json:"details,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an ECodeInvalid error naming field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: ECodeInvalid, Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the *Error in err's chain, or ECodeInternal.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ECodeInternal
}

// Status returns the HTTP status for code (500 for unknown codes).
func Status(code string) int {
	if s, ok := statusByCode[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error *Error `json:"error"`
}

// WriteError renders err as {"error":{…}} with the status of its code.
// Errors that are not *Error are rendered as internal without their text,
// so nothing internal leaks; the caller logs those.
func WriteError(ctx *fasthttp.RequestCtx, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: ECodeInternal, Message: "internal error"}
	}
	body, _ := json.Marshal(ErrorBody{Error: e})
	ctx.Response.Header.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetStatusCode(Status(e.Code))
	ctx.SetBody(body)
}
