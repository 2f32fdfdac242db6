package taruvi

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Each maps to one HTTP status and one envelope code in the
// transports; the strings are the envelope codes of the public Taruvi SDKs.
const (
	EINVALID      = "VALIDATION_ERROR" // the input is malformed or breaks a rule
	EBADREQUEST   = "BAD_REQUEST"      // the request cannot be understood
	EUNAUTHORIZED = "UNAUTHORIZED"     // no valid credential
	EFORBIDDEN    = "FORBIDDEN"        // a valid credential without the right
	ENOTFOUND     = "NOT_FOUND"        // no such object (or not visible to the caller)
	ECONFLICT     = "CONFLICT"         // the object exists already or changed meanwhile
	ETOOLARGE     = "PAYLOAD_TOO_LARGE"
	EUNSUPPORTED  = "UNSUPPORTED_MEDIA_TYPE" // a body of a type the endpoint does not read
	ERATELIMITED  = "RATE_LIMITED"
	EUNAVAILABLE  = "SERVICE_UNAVAILABLE" // try again later (a tenant being migrated, draining)
	EINTERNAL     = "INTERNAL_ERROR"      // a bug or an outage; details are logged, not shown
)

// Error is an error whose code and message are safe to show to a caller.
// Fields, when set, map input field names to what is wrong with each.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
	Wrapped error // the cause, for logs; never shown to callers
	// RetryAfter, when set on ERATELIMITED or EUNAVAILABLE, is how long the
	// caller should wait (the Retry-After header).
	RetryAfter time.Duration
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Wrapped }

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("taruvi error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the message of the first *Error in err's chain, and a
// generic message for any other non-nil error so internals never leak.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	default:
		return "Internal error."
	}
}
