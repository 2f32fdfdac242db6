package taruvi_test

import (
	"fmt"
	"strings"
	"testing"

	"taruvi"
)

func TestValidateSchemaName(t *testing.T) {
	t.Parallel()
	valid := []string{"ab", "acme", "t_1", "acme_inc", "pg", "pgx", "users", "a" + strings.Repeat("b", 62)}
	for _, name := range valid {
		if err := taruvi.ValidateSchemaName(name); err != nil {
			t.Errorf("ValidateSchemaName(%q) = %v, want nil", name, err)
		}
	}
	invalid := []string{
		"", "A", "Acme", "1abc", "_abc", "a", "ab-c", "ab c", " acme", "acme ", "acme\n", "é_acme", "a.b",
		`a"b`, strings.Repeat("a", 64),
		"pg_x", "pg_catalog", "pg_toast",
		"public", "river", "information_schema", "taruvi",
		"select", "user", "table", "order", "current_user", "grant",
	}
	for _, name := range invalid {
		err := taruvi.ValidateSchemaName(name)
		if taruvi.ErrorCode(err) != taruvi.EINVALID {
			t.Errorf("ValidateSchemaName(%q) = %v, want %s", name, err, taruvi.EINVALID)
			continue
		}
		if msg := taruvi.ErrorMessage(err); !strings.Contains(msg, fmt.Sprintf("%q", name)) {
			t.Errorf("ValidateSchemaName(%q): message %q does not name the input", name, msg)
		}
	}
}

func TestValidateDomain(t *testing.T) {
	t.Parallel()
	valid := []string{
		"localhost", "acme.localhost", "acme.example.com", "t_1f2e.localhost", "a.b", "127.0.0.1",
		"xn--bcher-kva.example", "a-b.c-d.example", strings.Repeat("a", 63) + ".com",
		strings.Repeat("abcdefghi.", 25) + "com", // 253 characters
	}
	for _, d := range valid {
		if err := taruvi.ValidateDomain(d); err != nil {
			t.Errorf("ValidateDomain(%q) = %v, want nil", d, err)
		}
	}
	invalid := []string{
		"", "Acme.com", "acme.com:8000", "acme.com.", " acme.com", "-acme.com", "acme-.com", "acme..com",
		".acme.com", "ac me.com", "acme.com/x", "acme@example.com", "::1", "[::1]",
		strings.Repeat("a", 64) + ".com",
		strings.Repeat("abcdefghi.", 25) + "comx", // 254 characters
	}
	for _, d := range invalid {
		err := taruvi.ValidateDomain(d)
		if taruvi.ErrorCode(err) != taruvi.EINVALID {
			t.Errorf("ValidateDomain(%q) = %v, want %s", d, err, taruvi.EINVALID)
			continue
		}
		if msg := taruvi.ErrorMessage(err); !strings.Contains(msg, fmt.Sprintf("%q", d)) {
			t.Errorf("ValidateDomain(%q): message %q does not name the input", d, msg)
		}
	}
}

func TestNormalizeHost(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"":                       "",
		"localhost":              "localhost",
		"ACME.Example.COM":       "acme.example.com",
		"acme.localhost:8000":    "acme.localhost",
		"acme.localhost.":        "acme.localhost",
		"Acme.Localhost.:8000":   "acme.localhost",
		"  acme.localhost  ":     "acme.localhost",
		"127.0.0.1:8000":         "127.0.0.1",
		"[::1]:8000":             "::1",
		"[::1]":                  "::1",
		"::1":                    "::1",
		"[FE80::1]:443":          "fe80::1",
		"2001:db8::1":            "2001:db8::1",
		"acme.example.com:":      "acme.example.com",
		"sub.acme.example.com:1": "sub.acme.example.com",
	}
	for in, want := range tests {
		if got := taruvi.NormalizeHost(in); got != want {
			t.Errorf("NormalizeHost(%q) = %q, want %q", in, got, want)
		}
	}
}
