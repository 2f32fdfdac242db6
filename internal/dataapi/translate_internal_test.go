package dataapi

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"taruvi"
)

// TestTranslateResultTooLarge says a jsonb result over its size limit is
// too large a result, not a value too large to store.
func TestTranslateResultTooLarge(t *testing.T) {
	err := translate(&pgconn.PgError{Code: "54000", Message: "total size of jsonb array elements exceeds the maximum of 268435455 bytes"}, &table{})
	e, ok := err.(*taruvi.Error)
	if !ok || e.Code != taruvi.EINVALID || !strings.Contains(e.Message, "result is too large") {
		t.Errorf("jsonb too large: %#v", err)
	}
	err = translate(&pgconn.PgError{Code: "54000", Message: "index row size 3000 exceeds btree version 4 maximum 2704"}, &table{})
	if e, ok := err.(*taruvi.Error); !ok || !strings.Contains(e.Message, "too large to store") {
		t.Errorf("an index row too large: %#v", err)
	}
}
