package apps

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"taruvi"
)

// TestDDLError: what PostgreSQL says of a DDL statement reaches the
// caller as a 4xx or 503 it can act on, never as an internal error, and
// anything else stays internal.
func TestDDLError(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]string{
		"55P03": taruvi.EUNAVAILABLE, "40P01": taruvi.EUNAVAILABLE, "57014": taruvi.EUNAVAILABLE,
		"2BP01": taruvi.ECONFLICT, "42P07": taruvi.ECONFLICT, "42710": taruvi.ECONFLICT,
		"23505": taruvi.EINVALID, "23502": taruvi.EINVALID, "23514": taruvi.EINVALID, "23503": taruvi.EINVALID,
		"22P02": taruvi.EINVALID, "2201B": taruvi.EINVALID, "42846": taruvi.EINVALID, "42804": taruvi.EINVALID, "54011": taruvi.EINVALID,
		"XX000": taruvi.EINTERNAL, "42601": taruvi.EINTERNAL,
	} {
		err := ddlError(fmt.Errorf("exec: %w", &pgconn.PgError{Code: code, Message: "what PostgreSQL said"}))
		if got := taruvi.ErrorCode(err); got != want {
			t.Errorf("SQLSTATE %s: %s, want %s", code, got, want)
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			t.Errorf("SQLSTATE %s: the cause is lost: %v", code, err)
		}
	}
	if err := ddlError(errors.New("connection reset")); taruvi.ErrorCode(err) != taruvi.EINTERNAL {
		t.Errorf("a driver error: %v", err)
	}
}
