package postgres

import (
	"encoding/base64"
	"strings"
	"testing"

	"taruvi"
)

// TestCheckSandboxSQL holds the guard to what it lets in and keeps out,
// however a statement is spelled: comments, quotes, dollar quotes, case.
func TestCheckSandboxSQL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sql   string
		exec  bool // SandboxExec rather than SandboxQuery
		allow bool
	}{
		{sql: `SELECT 1`, allow: true},
		{sql: `select 1;`, allow: true},
		{sql: `SELECT 1 ;  -- done`, allow: true},
		{sql: `  WITH x AS (SELECT 1) SELECT * FROM x`, allow: true},
		{sql: `VALUES (1), (2)`, allow: true},
		{sql: `TABLE items`, allow: true},
		{sql: `(SELECT 1) UNION (SELECT 2)`, allow: true},
		{sql: `SELECT 'a;b', "semi;colon", $$ ; RESET ROLE $$, $x$ ; $x$ FROM t`, allow: true},
		{sql: `SELECT E'it\'s; fine'`, allow: true},
		{sql: `SELECT 1 /* nested /* ; */ comment */`, allow: true},
		{sql: `SELECT owner, temp, security, "definer" FROM readings WHERE temp > $1`, allow: true},
		{sql: `SELECT set_configuration FROM t`, allow: true},
		{sql: `INSERT INTO items VALUES (1)`, exec: true, allow: true},
		{sql: `CREATE TABLE widgets (id int)`, exec: true, allow: true},
		{sql: `create unique index on widgets (id)`, exec: true, allow: true},
		{sql: `ALTER TABLE widgets ADD COLUMN owner text`, exec: true, allow: true},
		{sql: `DROP VIEW v`, exec: true, allow: true},
		{sql: `COMMENT ON TABLE widgets IS 'x'`, exec: true, allow: true},

		{sql: `INSERT INTO items VALUES (1)`},
		{sql: `CREATE TABLE widgets (id int)`},
		{sql: ``},
		{sql: ` ; ;`},
		{sql: `SELECT 1; SELECT 2`},
		{sql: `SELECT 1 -- x` + "\n" + `; RESET ROLE`},
		{sql: `SELECT '` + `;' ; RESET ROLE`},
		{sql: `SELECT 'unterminated`},
		{sql: `SELECT "unterminated`},
		{sql: `SELECT /* unterminated`},
		{sql: `SELECT $a$ unterminated`},
		{sql: `SELECT set_config('role', 'x', false)`},
		{sql: `SELECT SET_CONFIG('role', 'x', false)`},
		{sql: `SELECT "set_config"('role', 'x', false)`},
		{sql: `SELECT pg_catalog . set_config('role', 'x', false)`},
		{sql: `SELECT U&"\0073et_config"('role', 'x', false)`},
		{sql: `SELECT pg_notify('c', 'x')`},
		{sql: `SELECT pg_advisory_lock(1)`},
		{sql: `SELECT lo_import('/etc/passwd')`},
		{sql: `SELECT * FROM pg_temp.t`},
		{sql: `SELECT 1 INTO TEMP t`, exec: true},
		{sql: `CREATE TEMPORARY TABLE t (id int)`, exec: true},
		{sql: `CREATE GLOBAL TEMP TABLE t (id int)`, exec: true},
		{sql: `CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'`, exec: true},
		{sql: `ALTER TABLE t OWNER TO someone`, exec: true},
		{sql: `ALTER ROLE r PASSWORD 'x'`, exec: true},
		{sql: `GRANT SELECT ON t TO PUBLIC`, exec: true},
		{sql: `SET ROLE r`, exec: true},
		{sql: `RESET ROLE`, exec: true},
		{sql: `LISTEN c`, exec: true},
		{sql: `NOTIFY c`, exec: true},
		{sql: `COPY t TO PROGRAM 'id'`, exec: true},
		{sql: `DO $$BEGIN END$$`, exec: true},
		{sql: `BEGIN`, exec: true},
		{sql: `CALL p()`, exec: true},
		{sql: `EXPLAIN ANALYZE DELETE FROM t`, exec: true},
		{sql: `COMMENT ON ROLE r IS 'x'`, exec: true},
		{sql: `COMMENT ON DATABASE d IS 'x'`, exec: true},
	}
	for _, tt := range tests {
		got, err := checkSandboxSQL(tt.sql, tt.exec)
		switch {
		case tt.allow && err != nil:
			t.Errorf("%q (exec %v): refused: %v", tt.sql, tt.exec, err)
		case !tt.allow && err == nil:
			t.Errorf("%q (exec %v): let in", tt.sql, tt.exec)
		case !tt.allow && taruvi.ErrorCode(err) != taruvi.EBADREQUEST:
			t.Errorf("%q: got %v, want a bad request", tt.sql, err)
		case tt.allow && strings.HasSuffix(got, ";"):
			t.Errorf("%q: kept its semicolon: %q", tt.sql, got)
		}
	}
}

// scramPencil is the verifier PostgreSQL 15 stored for the password
// "pencil" (CREATE ROLE ... PASSWORD 'pencil', then SELECT rolpassword
// FROM pg_authid).
const scramPencil = `SCRAM-SHA-256$4096:6lz8O+9bXoqrhYsbwbXbNw==$KQ9QEOjbi2SytMIAbUkIiN/qhOC9Sr1qELxX4sOK8qs=:cwWeduUQdaz/ynLQLndtcMaHQlad5aLDltFdwEjmDTU=`

// TestScramVerifier computes, with the salt PostgreSQL chose, the verifier
// it stored; and checks that sandbox passwords depend on the secret and the
// role.
func TestScramVerifier(t *testing.T) {
	t.Parallel()
	salt, err := base64.StdEncoding.DecodeString(strings.Split(strings.Split(scramPencil, ":")[1], "$")[0])
	if err != nil {
		t.Fatal(err)
	}
	got, err := scramVerifierSalted("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if got != scramPencil {
		t.Fatalf("got  %s\nwant %s", got, scramPencil)
	}
	if v, err := scramVerifier("pencil"); err != nil || v == scramPencil || !strings.HasPrefix(v, "SCRAM-SHA-256$4096:") {
		t.Fatalf("a fresh verifier %q, %v: want a new salt", v, err)
	}
	if p := sandboxPassword([]byte("secret"), "role"); len(p) != 64 || p == sandboxPassword([]byte("secret2"), "role") ||
		p == sandboxPassword([]byte("secret"), "role2") {
		t.Fatalf("password %q does not depend on both the secret and the role", p)
	}
}
