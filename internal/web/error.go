package web

import (
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"taruvi"
)

// errorStatus maps each error code to its HTTP status. It is the one place
// where codes meet statuses.
var errorStatus = map[string]int{
	taruvi.EBADREQUEST:   http.StatusBadRequest,
	taruvi.EINVALID:      http.StatusBadRequest,
	taruvi.EUNAUTHORIZED: http.StatusUnauthorized,
	taruvi.EFORBIDDEN:    http.StatusForbidden,
	taruvi.ENOTFOUND:     http.StatusNotFound,
	taruvi.ECONFLICT:     http.StatusConflict,
	taruvi.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	taruvi.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	taruvi.ERATELIMITED:  http.StatusTooManyRequests,
	taruvi.EUNAVAILABLE:  http.StatusServiceUnavailable,
	taruvi.EINTERNAL:     http.StatusInternalServerError,
}

// ErrorStatus returns the HTTP status for an error code.
func ErrorStatus(code string) int {
	if s, ok := errorStatus[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ErrorEnvelope is the body of every error response.
type ErrorEnvelope struct {
	Status    string            `json:"status"` // always "error"
	Code      string            `json:"code"`
	Message   string            `json:"message"`
	Detail    string            `json:"detail,omitempty"`
	Errors    map[string]string `json:"errors,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
}

// SuccessEnvelope is the body of every successful JSON response.
type SuccessEnvelope struct {
	Status  string `json:"status"` // always "success"
	Message string `json:"message,omitempty"`
	Data    any    `json:"data"`
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteData writes a success envelope around data.
func WriteData(w http.ResponseWriter, status int, message string, data any) {
	WriteJSON(w, status, SuccessEnvelope{Status: "success", Message: message, Data: data})
}

// WriteError renders err as an error envelope. Internal errors are logged
// here, once, with the request id, and shown as "Internal error.".
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := taruvi.ErrorCode(err)
	reqID := taruvi.RequestIDFromContext(r.Context())
	if code == taruvi.EINTERNAL {
		log.ErrorContext(r.Context(), "internal error", "request_id", reqID, "method", r.Method, "path", r.URL.Path, "error", err)
	}
	env := ErrorEnvelope{Status: "error", Code: code, Message: taruvi.ErrorMessage(err), RequestID: reqID}
	var e *taruvi.Error
	retryAfter := time.Duration(0)
	if errors.As(err, &e) {
		env.Errors = e.Fields
		retryAfter = e.RetryAfter
	}
	if retryAfter == 0 && code == taruvi.EUNAVAILABLE {
		retryAfter = 5 * time.Second
	}
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retryAfter.Seconds()))))
	}
	WriteJSON(w, ErrorStatus(code), env)
}
