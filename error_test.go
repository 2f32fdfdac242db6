package taruvi_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"taruvi"
)

func TestErrorCodeAndMessage(t *testing.T) {
	t.Parallel()
	notFound := taruvi.Errorf(taruvi.ENOTFOUND, "Tenant %q not found.", "acme")
	cause := errors.New("ERROR: duplicate key value violates unique constraint (SQLSTATE 23505)")
	conflict := &taruvi.Error{Code: taruvi.ECONFLICT, Message: "The object exists already.", Wrapped: cause}
	tests := []struct {
		name      string
		err       error
		code, msg string
	}{
		{"nil", nil, "", ""},
		{"taruvi error", notFound, taruvi.ENOTFOUND, `Tenant "acme" not found.`},
		{"wrapped once", fmt.Errorf("find tenant: %w", notFound), taruvi.ENOTFOUND, `Tenant "acme" not found.`},
		{"wrapped twice", fmt.Errorf("serve: %w", fmt.Errorf("find tenant: %w", conflict)), taruvi.ECONFLICT, "The object exists already."},
		{"joined", errors.Join(errors.New("first"), conflict), taruvi.ECONFLICT, "The object exists already."},
		{"plain", cause, taruvi.EINTERNAL, "Internal error."},
		{"plain wrapped", fmt.Errorf("insert tenant: %w", cause), taruvi.EINTERNAL, "Internal error."},
	}
	for _, tt := range tests {
		if code := taruvi.ErrorCode(tt.err); code != tt.code {
			t.Errorf("%s: ErrorCode = %q, want %q", tt.name, code, tt.code)
		}
		if msg := taruvi.ErrorMessage(tt.err); msg != tt.msg {
			t.Errorf("%s: ErrorMessage = %q, want %q", tt.name, msg, tt.msg)
		}
	}
}

func TestErrorWrapsItsCause(t *testing.T) {
	t.Parallel()
	cause := errors.New("connection reset by 10.0.0.7")
	err := fmt.Errorf("create tenant: %w", &taruvi.Error{Code: taruvi.EUNAVAILABLE, Message: "The database is busy; try again.", Wrapped: cause})
	if !errors.Is(err, cause) {
		t.Error("errors.Is does not find the cause through *Error")
	}
	if msg := taruvi.ErrorMessage(err); strings.Contains(msg, "10.0.0.7") {
		t.Errorf("message %q shows the cause", msg)
	}
	if s := err.Error(); !strings.Contains(s, taruvi.EUNAVAILABLE) || !strings.Contains(s, "The database is busy") {
		t.Errorf("Error() = %q, want the code and the message", s)
	}
	if (&taruvi.Error{Code: taruvi.EINVALID}).Unwrap() != nil {
		t.Error("Unwrap of an error without a cause is not nil")
	}
}
