package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
)

// sandboxSecret is the TARUVI_SECRET_KEY of the sandbox tests.
var sandboxSecret = []byte("the sandbox tests' secret key, 32+ characters")

// sandboxDB opens a migrated database of the test's own whose sandboxed
// door has tenant pools of conns connections.
func sandboxDB(t *testing.T, conns int32, maxPools int) *postgres.DB {
	t.Helper()
	return postgrestest.Open(t, postgres.Options{MaxConns: 2,
		Sandbox: postgres.SandboxOptions{Secret: sandboxSecret, ConnsPerPool: conns, MaxPools: maxPools}})
}

// exec runs sql in the tenant's scope through the platform's door.
func execInTenant(t *testing.T, db *postgres.DB, ctx context.Context, sql string, args ...any) {
	t.Helper()
	err := db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, sql, args...)
		return err
	})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// assertStillTenant runs a statement through the sandbox and checks that it
// runs as the tenant, on the tenant's schema only, and sees the tenant's
// settings.
func assertStillTenant(t *testing.T, db *postgres.DB, ctx context.Context, tenant *taruvi.Tenant, settings int) {
	t.Helper()
	res, err := db.SandboxQuery(ctx, postgres.SandboxStatement{SQL: `SELECT current_user, session_user,
		current_setting('search_path'), current_setting('role'), (SELECT count(*) FROM settings)`})
	if err != nil {
		t.Fatalf("the next statement failed: %v", err)
	}
	row := res.Rows[0]
	want := []any{tenant.Role, tenant.Role, `"` + tenant.Schema + `"`, "none", int64(settings)}
	for i := range want {
		if row[i] != want[i] {
			t.Fatalf("the next statement runs as %v, want %v", row, want)
		}
	}
}

// TestSandboxEscapes is the escape battery: each statement, run as SQL a
// tenant wrote, is refused; the next statement on the same connection (the
// pool has one) still runs as the tenant on its schema; and nothing reached
// another tenant or the platform.
func TestSandboxEscapes(t *testing.T) {
	t.Parallel()
	db := sandboxDB(t, 1, 4)
	ctx := context.Background()
	ctxA, a := postgrestest.TenantContext(t, db)
	ctxB, b := postgrestest.TenantContext(t, db)
	execInTenant(t, db, ctxA, `INSERT INTO settings (key, value) VALUES ('mine', '"a"')`)
	execInTenant(t, db, ctxB, `INSERT INTO settings (key, value) VALUES ('marker', '"b"')`)
	prefix := rolePrefix(t, db)
	// B has used the door too, so its role can log in.
	assertStillTenant(t, db, ctxB, b, 1)
	var functionsBefore int
	_ = db.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_proc WHERE pronamespace = $1::regnamespace`, a.Schema).Scan(&functionsBefore)

	bs := pgx.Identifier{b.Schema}.Sanitize()
	tests := []struct {
		sql      string
		readOnly bool
	}{
		{sql: `RESET ROLE`},
		{sql: `RESET ALL`},
		{sql: `SET ROLE ` + prefix + `_platform`},
		{sql: `SET ROLE ` + b.Role},
		{sql: `SET ROLE ` + prefix + `_tenants`},
		{sql: `SET LOCAL ROLE ` + b.Role},
		{sql: `SELECT set_config('role', '` + b.Role + `', false)`},
		{sql: `SELECT set_config('role', '` + prefix + `_platform', true)`},
		{sql: `SELECT "set_config"('role', 'none', false)`},
		{sql: `SELECT pg_catalog.set_config/**/('role', 'none', false)`},
		{sql: `SELECT U&"\0073et_config"('role', 'none', false)`},
		{sql: `SET SESSION AUTHORIZATION ` + b.Role},
		{sql: `SET SESSION AUTHORIZATION DEFAULT`},
		{sql: `RESET SESSION AUTHORIZATION`},
		{sql: `SET search_path TO ` + bs},
		{sql: `SET search_path = public, river`},
		{sql: `SELECT set_config('search_path', 'public', false)`},
		{sql: `SET statement_timeout = 0`},
		{sql: `COPY settings TO PROGRAM 'id'`},
		{sql: `COPY settings FROM PROGRAM 'echo x'`},
		{sql: `COPY (SELECT 1) TO '/tmp/taruvi-sandbox'`},
		{sql: `SELECT pg_read_file('/etc/passwd')`},
		{sql: `SELECT pg_read_binary_file('postgresql.conf')`},
		{sql: `SELECT * FROM pg_ls_dir('.')`},
		{sql: `SELECT lo_import('/etc/passwd')`},
		{sql: `SELECT * FROM dblink('dbname=postgres', 'SELECT 1') AS t(x int)`},
		{sql: `CREATE FUNCTION steal() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'`},
		{sql: `CREATE FUNCTION steal() RETURNS void LANGUAGE plpgsql AS $$BEGIN EXECUTE 'ALTER ROLE ' || current_user || ' PASSWORD ''x'''; END$$`},
		{sql: `CREATE OR REPLACE PROCEDURE steal() LANGUAGE sql AS 'SELECT 1'`},
		{sql: `DO $$BEGIN EXECUTE 'ALTER ROLE ' || current_user || ' PASSWORD ''known'''; END$$`},
		{sql: `ALTER ROLE ` + a.Role + ` PASSWORD 'known'`},
		{sql: `ALTER USER CURRENT_USER SET search_path = public`},
		{sql: `ALTER ROLE ` + b.Role + ` LOGIN PASSWORD 'known'`},
		{sql: `ALTER ROLE ` + prefix + `_platform LOGIN`},
		{sql: `CREATE ROLE evil LOGIN SUPERUSER`},
		{sql: `GRANT SELECT ON settings TO PUBLIC`},
		{sql: `GRANT USAGE ON SCHEMA ` + a.Schema + ` TO ` + b.Role},
		{sql: `GRANT ` + prefix + `_platform TO ` + a.Role},
		{sql: `REVOKE ALL ON settings FROM ` + a.Role},
		{sql: `ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC`},
		{sql: `ALTER TABLE settings OWNER TO ` + prefix + `_tenants`},
		{sql: `LISTEN taruvi_tenancy`},
		{sql: `LISTEN ` + postgres.RevocationsChannel},
		{sql: `NOTIFY ` + postgres.RevocationsChannel + `, 'all'`},
		{sql: `SELECT pg_notify('taruvi_tenancy', 'tenants')`},
		{sql: `SELECT taruvi.enqueue_job('send_email', '{}', 'emails', 1, 1, now(), '{}')`},
		{sql: `SELECT * FROM ` + bs + `.settings`},
		{sql: `SELECT * FROM ` + bs + `.settings`, readOnly: true},
		{sql: `UPDATE ` + bs + `.settings SET value = '"stolen"'`},
		{sql: `DELETE FROM ` + bs + `.settings`},
		{sql: `INSERT INTO ` + bs + `.settings (key, value) VALUES ('x', '1')`},
		{sql: `CREATE TABLE ` + bs + `.stolen (id int)`},
		{sql: `DROP TABLE ` + bs + `.settings`},
		{sql: `ALTER TABLE settings SET SCHEMA ` + bs},
		{sql: `SELECT * FROM public.tenants`},
		{sql: `SELECT * FROM public.taruvi_install`},
		{sql: `UPDATE public.tenants SET status = 'suspended'`},
		{sql: `SELECT * FROM river.river_job`},
		{sql: `INSERT INTO river.river_job (kind, args) VALUES ('x', '{}')`},
		{sql: `SELECT * FROM pg_authid`},
		{sql: `CREATE EXTENSION dblink`},
		{sql: `CREATE EXTENSION IF NOT EXISTS pgcrypto`},
		{sql: `CREATE SCHEMA evil`},
		{sql: `SELECT pg_terminate_backend(pid) FROM pg_stat_activity`},
		{sql: `SELECT pg_cancel_backend(pg_backend_pid())`},
		{sql: `SELECT pg_advisory_lock(1)`},
		{sql: `SELECT 1; SELECT 2`},
		{sql: `SELECT 1; RESET ROLE`},
		{sql: `SELECT 1 /* ; */ ; SET ROLE ` + b.Role},
		{sql: `SELECT ';'; SET search_path = public`},
		{sql: `BEGIN`, readOnly: true},
		{sql: `COMMIT`, readOnly: true},
		{sql: `ROLLBACK`},
		{sql: `END`},
		{sql: `SAVEPOINT s`},
		{sql: `SET TRANSACTION READ WRITE`, readOnly: true},
		{sql: `PREPARE TRANSACTION 'x'`},
		{sql: `PREPARE p AS SELECT 1`},
		{sql: `DECLARE c CURSOR WITH HOLD FOR SELECT 1`},
		{sql: `DISCARD ALL`},
		{sql: `INSERT INTO settings (key, value) VALUES ('ro', '1')`, readOnly: true},
		{sql: `UPDATE settings SET value = '"changed"'`, readOnly: true},
		{sql: `DELETE FROM settings`, readOnly: true},
		{sql: `CREATE TABLE ro (id int)`, readOnly: true},
		{sql: `WITH d AS (DELETE FROM settings RETURNING *) SELECT * FROM d`, readOnly: true},
		{sql: `CREATE TEMP TABLE shadow (id int)`},
		{sql: `CREATE TABLE pg_temp.settings (key text, value jsonb)`},
		{sql: `SELECT 1 AS id INTO TEMPORARY shadow`},
		{sql: `SELECT query_to_xml('SELECT * FROM public.tenants', true, false, '')`},
		{sql: `ALTER SYSTEM SET work_mem = '1GB'`},
		{sql: `LOAD 'auto_explain'`},
		{sql: `VACUUM settings`},
		{sql: `CHECKPOINT`},
		{sql: `CREATE TRIGGER t BEFORE INSERT ON settings FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()`},
		{sql: `CREATE RULE r AS ON INSERT TO settings DO INSTEAD NOTHING`},
		{sql: `SECURITY LABEL ON TABLE settings IS 'x'`},
		{sql: `CALL steal()`},
		{sql: `SELECT 'unterminated`},
		{sql: `   `},
	}
	for _, tt := range tests {
		// Both calls would refuse a statement; SandboxExec lets more kinds in.
		for _, call := range []func(context.Context, postgres.SandboxStatement) (*postgres.SandboxResult, error){db.SandboxExec, db.SandboxQuery} {
			res, err := call(ctxA, postgres.SandboxStatement{SQL: tt.sql, ReadOnly: tt.readOnly, Timeout: 2 * time.Second})
			if err == nil {
				t.Fatalf("%s (read only %v): ran, with %+v; want it refused", tt.sql, tt.readOnly, res)
			}
			if code := taruvi.ErrorCode(err); code != taruvi.EBADREQUEST {
				t.Fatalf("%s: got %v (code %s), want a bad request", tt.sql, err, code)
			}
			assertStillTenant(t, db, ctxA, a, 1)
		}
	}

	// Nothing of it reached B, the platform or the roles.
	assertStillTenant(t, db, ctxB, b, 1)
	err := db.InTenant(ctxB, func(ctx context.Context, tx pgx.Tx) error {
		var value string
		if err := tx.QueryRow(ctx, `SELECT value::text FROM settings WHERE key = 'marker'`).Scan(&value); err != nil {
			return err
		}
		if value != `"b"` {
			t.Errorf("B's marker is %s", value)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		query string
		args  []any
		want  int
	}{
		{`SELECT count(*) FROM public.tenants WHERE status <> 'active'`, nil, 0},
		{`SELECT count(*) FROM pg_roles WHERE rolname = ANY($1) AND (rolconfig IS NOT NULL OR rolsuper OR rolcreaterole)`,
			[]any{[]string{a.Role, b.Role, prefix + "_platform"}}, 0},
		{`SELECT count(*) FROM pg_roles WHERE rolname = $1 AND rolcanlogin`, []any{prefix + "_platform"}, 0},
		{`SELECT count(*) FROM pg_auth_members WHERE member = $1::regrole`, []any{a.Role}, 1}, // _tenants only
		{`SELECT count(*) FROM pg_namespace WHERE nspname = 'evil'`, nil, 0},
		{`SELECT count(*) FROM pg_proc WHERE pronamespace = $1::regnamespace`, []any{a.Schema}, functionsBefore},
		{`SELECT count(*) FROM pg_class WHERE relnamespace = $1::regnamespace AND relname IN ('stolen', 'ro')`, []any{b.Schema}, 0},
		{`SELECT count(*) FROM river.river_job WHERE kind = 'x'`, nil, 0},
		{`SELECT count(*) FROM pg_extension WHERE extname IN ('dblink', 'pgcrypto')`, nil, 0},
		{`SELECT count(*) FROM pg_class c WHERE c.oid = $1::regclass AND relacl IS NOT NULL`, []any{a.Schema + ".settings"}, 0},
	}
	for _, c := range checks {
		if n := catalogCount(t, db, c.query, c.args...); n != c.want {
			t.Errorf("%s: %d, want %d", c.query, n, c.want)
		}
	}
}

// TestSandboxTimeout cancels a statement past its timeout, and the next
// statement on the same connection runs.
func TestSandboxTimeout(t *testing.T) {
	t.Parallel()
	db := sandboxDB(t, 1, 4)
	ctx, tenant := postgrestest.TenantContext(t, db)
	for _, sql := range []string{`SELECT pg_sleep(5)`, `WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r`} {
		start := time.Now()
		_, err := db.SandboxQuery(ctx, postgres.SandboxStatement{SQL: sql, Timeout: 200 * time.Millisecond})
		if !errors.Is(err, postgres.ErrSandboxTimeout) || taruvi.ErrorCode(err) != taruvi.EBADREQUEST {
			t.Fatalf("%s: got %v, want a timeout", sql, err)
		}
		// The server cancelled it (statement_timeout), not the client.
		if code := pgCode(err); code != "57014" {
			t.Fatalf("%s: cancelled with SQLSTATE %q, want 57014", sql, code)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("%s: cancelled after %s", sql, took)
		}
		if !strings.Contains(taruvi.ErrorMessage(err), "200ms") {
			t.Errorf("message %q does not name the limit", taruvi.ErrorMessage(err))
		}
		assertStillTenant(t, db, ctx, tenant, 0)
	}
	// The caller's own cancellation is not a timeout.
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err := db.SandboxQuery(cctx, postgres.SandboxStatement{SQL: `SELECT pg_sleep(5)`})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, postgres.ErrSandboxTimeout) {
		t.Fatalf("cancelled by the caller: got %v", err)
	}
	assertStillTenant(t, db, ctx, tenant, 0)
}

// TestSandboxRows reads a query's rows as JSON-able values with named,
// typed columns, binds arguments as parameters, and stops at the row limit
// without the server producing the rest.
func TestSandboxRows(t *testing.T) {
	t.Parallel()
	db := sandboxDB(t, 2, 4)
	ctx, _ := postgrestest.TenantContext(t, db)
	res, err := db.SandboxQuery(ctx, postgres.SandboxStatement{
		SQL: `SELECT 1::int AS i, 'x'::text AS s, true AS b, 1.50::numeric AS n, '{"a": [1]}'::jsonb AS j,
			NULL::int AS z, 2.5::float8 AS f, 'NaN'::float8 AS nan, '2026-01-02'::date AS d,
			$1::int + 1 AS arg, $2 AS text_arg, $3::timestamptz < now() AS ts_arg, ARRAY[1, 2] AS arr;`,
		Args: []any{41, "it's bound", "2020-01-01T00:00:00Z"}, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(res)
	want := `{"columns":[{"name":"i","type":"int4"},{"name":"s","type":"text"},{"name":"b","type":"bool"},` +
		`{"name":"n","type":"numeric"},{"name":"j","type":"jsonb"},{"name":"z","type":"int4"},{"name":"f","type":"float8"},` +
		`{"name":"nan","type":"float8"},{"name":"d","type":"date"},{"name":"arg","type":"int4"},{"name":"text_arg","type":"text"},` +
		`{"name":"ts_arg","type":"bool"},{"name":"arr","type":"_int4"}],` +
		`"rows":[[1,"x",true,1.50,{"a":[1]},null,2.5,"NaN","2026-01-02",42,"it's bound",true,"{1,2}"]],"rows_affected":0}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}

	start := time.Now()
	res, err = db.SandboxQuery(ctx, postgres.SandboxStatement{SQL: `SELECT generate_series(1, 1000000000) AS g`, MaxRows: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 3 || !res.Truncated || res.Rows[2][0] != int64(3) {
		t.Fatalf("got %d rows (truncated %v): %v", len(res.Rows), res.Truncated, res.Rows)
	}
	// A billion rows would take minutes.
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("three rows of a billion took %s", took)
	}
	res, err = db.SandboxQuery(ctx, postgres.SandboxStatement{SQL: `SELECT g FROM generate_series(1, 3) g ORDER BY g DESC`, MaxRows: 3})
	if err != nil || len(res.Rows) != 3 || res.Truncated || res.Rows[0][0] != int64(3) {
		t.Fatalf("exactly MaxRows rows: %+v, %v", res, err)
	}

	// Faults of the statement are bad requests with PostgreSQL's message.
	for sql, msg := range map[string]string{
		`SELECT 1 +`:                `syntax error at end of input`,
		`SELECT * FROM nope`:        `relation "nope" does not exist`,
		`SELECT 1/0`:                `division by zero`,
		`SELECT $1::int`:            `argument`,
		`SELECT * FROM public.x`:    `permission denied for schema public`,
		`SELECT * FROM river.x`:     `permission denied for schema river`,
		`SELECT * FROM river_job`:   `relation "river_job" does not exist`,
		`SELECT * FROM tenants`:     `relation "tenants" does not exist`,
		`SELECT * FROM settings s1`: ``,
	} {
		_, err := db.SandboxQuery(ctx, postgres.SandboxStatement{SQL: sql})
		if msg == "" {
			if err != nil {
				t.Errorf("%s: %v", sql, err)
			}
			continue
		}
		if taruvi.ErrorCode(err) != taruvi.EBADREQUEST || !strings.Contains(taruvi.ErrorMessage(err), msg) {
			t.Errorf("%s: got %v, want a bad request saying %q", sql, err, msg)
		}
	}
}

// TestSandboxDDL lets a tenant create, fill and read a table of its own
// through the sandbox, which the platform's door then reads too; it cannot
// create one in another tenant's schema, and the other tenant sees none of
// it by either door.
func TestSandboxDDL(t *testing.T) {
	t.Parallel()
	db := sandboxDB(t, 2, 4)
	ctxA, a := postgrestest.TenantContext(t, db)
	ctxB, _ := postgrestest.TenantContext(t, db)
	for _, sql := range []string{
		`CREATE TABLE widgets (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL UNIQUE)`,
		`CREATE INDEX widgets_lower ON widgets (lower(name))`,
		`CREATE VIEW widget_names AS SELECT name FROM widgets`,
		`ALTER TABLE widgets ADD COLUMN size int`,
	} {
		if _, err := db.SandboxExec(ctxA, postgres.SandboxStatement{SQL: sql}); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	res, err := db.SandboxExec(ctxA, postgres.SandboxStatement{SQL: `INSERT INTO widgets (name, size) VALUES ($1, $2), ($3, $4)`,
		Args: []any{"bolt", 3, "nut", "4"}})
	if err != nil || res.RowsAffected != 2 || res.Command != "INSERT 0 2" {
		t.Fatalf("insert: %+v, %v", res, err)
	}
	_, err = db.SandboxExec(ctxA, postgres.SandboxStatement{SQL: `INSERT INTO widgets (name) VALUES ('bolt')`})
	if taruvi.ErrorCode(err) != taruvi.ECONFLICT {
		t.Fatalf("duplicate: got %v, want a conflict", err)
	}
	var names []string
	err = db.InTenant(ctxA, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT name FROM widget_names ORDER BY name`)
		if err != nil {
			return err
		}
		names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil || strings.Join(names, ",") != "bolt,nut" {
		t.Fatalf("the platform's door reads %v, %v", names, err)
	}

	as := pgx.Identifier{a.Schema}.Sanitize()
	for _, sql := range []string{
		`CREATE TABLE ` + as + `.gadgets (id int)`,
		`SELECT * FROM ` + as + `.widgets`,
		`SELECT * FROM widgets`,
		`INSERT INTO ` + as + `.widgets (name) VALUES ('stolen')`,
		`DROP TABLE ` + as + `.widgets`,
	} {
		_, err := db.SandboxExec(ctxB, postgres.SandboxStatement{SQL: sql})
		if taruvi.ErrorCode(err) != taruvi.EBADREQUEST {
			t.Errorf("as B, %s: got %v, want refused", sql, err)
		}
		err = db.InTenant(ctxB, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, sql)
			return err
		})
		if err == nil {
			t.Errorf("as B through the platform's door, %s ran", sql)
		}
	}
	res, err = db.SandboxQuery(ctxA, postgres.SandboxStatement{SQL: `SELECT count(*) FROM widgets`})
	if err != nil || res.Rows[0][0] != int64(2) {
		t.Fatalf("A's widgets after B's attempts: %+v, %v", res, err)
	}
}

// TestSandboxTenantDeleted closes a deleted tenant's pool and ends its
// sessions; a suspended tenant cannot use the door.
func TestSandboxTenantDeleted(t *testing.T) {
	t.Parallel()
	db, url := postgrestest.OpenURL(t, postgres.Options{MaxConns: 2, Sandbox: postgres.SandboxOptions{Secret: sandboxSecret}})
	ctx := context.Background()
	tenants := postgres.NewTenants(db)
	tenant, err := db.CreateTenant(ctx, taruvi.TenantCreate{Schema: postgrestest.SchemaName()})
	if err != nil {
		t.Fatal(err)
	}
	tctx := taruvi.NewContextWithTenant(ctx, tenant)
	assertStillTenant(t, db, tctx, tenant, 0)
	// Another process uses the door too; only the server can end its
	// session when this one deletes the tenant.
	replica := openURL(t, url, postgres.Options{MaxConns: 2, Sandbox: postgres.SandboxOptions{Secret: sandboxSecret}})
	assertStillTenant(t, replica, tctx, tenant, 0)
	if n := catalogCount(t, db, `SELECT count(*) FROM pg_stat_activity WHERE usename = $1`, tenant.Role); n != 2 {
		t.Fatalf("%d sessions of the tenant's role, want the two pools' one each", n)
	}
	roleOID := catalogCount(t, db, `SELECT oid::int FROM pg_roles WHERE rolname = $1`, tenant.Role)
	if err := tenants.SetTenantStatus(ctx, tenant.Schema, taruvi.TenantSuspended); err != nil {
		t.Fatal(err)
	}
	suspended := *tenant
	suspended.Status = taruvi.TenantSuspended
	_, err = db.SandboxQuery(taruvi.NewContextWithTenant(ctx, &suspended), postgres.SandboxStatement{SQL: `SELECT 1`})
	if taruvi.ErrorCode(err) != taruvi.EFORBIDDEN {
		t.Fatalf("suspended: got %v", err)
	}
	if err := tenants.DeleteTenant(ctx, tenant.Schema); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for catalogCount(t, db, `SELECT count(*) FROM pg_stat_activity WHERE usesysid = $1`, roleOID) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the deleted tenant's sessions live on")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A context that still carries the deleted tenant gets nowhere.
	if _, err := db.SandboxQuery(tctx, postgres.SandboxStatement{SQL: `SELECT 1`}); err == nil {
		t.Fatal("the deleted tenant's statement ran")
	}
}

// TestSandboxLoginHeals turns the login of a tenant role on when the
// server refuses it: for a tenant whose role cannot log in (provisioned
// before the sandboxed door), and after the secret changed (another
// replica, or a restart, with a rotated TARUVI_SECRET_KEY). The password
// is stored as a SCRAM verifier.
func TestSandboxLoginHeals(t *testing.T) {
	t.Parallel()
	db, url := postgrestest.OpenURL(t, postgres.Options{MaxConns: 2,
		Sandbox: postgres.SandboxOptions{Secret: sandboxSecret, ConnsPerPool: 1}})
	ctx, tenant := postgrestest.TenantContext(t, db)
	role := pgx.Identifier{tenant.Role}.Sanitize()
	if n := catalogCount(t, db, `SELECT count(*) FROM pg_roles WHERE rolname = $1 AND rolcanlogin`, tenant.Role); n != 0 {
		t.Fatal("a new tenant's role can log in before the door was used")
	}
	assertStillTenant(t, db, ctx, tenant, 0)
	if n := catalogCount(t, db, `SELECT count(*) FROM pg_authid WHERE rolname = $1 AND rolcanlogin
		AND rolpassword LIKE 'SCRAM-SHA-256$4096:%'`, tenant.Role); n != 1 {
		t.Fatal("the tenant's role has no SCRAM password after the door was used")
	}

	// A replica with a rotated secret heals the login for itself, and the
	// first one, once its connection is gone, heals it back.
	rotated, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: 2,
		Sandbox: postgres.SandboxOptions{Secret: []byte("a rotated secret key, 32+ characters long")}})
	if err != nil {
		t.Fatal(err)
	}
	defer rotated.Close()
	assertStillTenant(t, rotated, ctx, tenant, 0)
	db.CloseSandboxPool(tenant)
	assertStillTenant(t, db, ctx, tenant, 0)

	// A role that lost its login gets it back, also when many calls find
	// it refused at once.
	if _, err := db.Pool().Exec(context.Background(), `ALTER ROLE `+role+` NOLOGIN`); err != nil {
		t.Fatal(err)
	}
	db.CloseSandboxPool(tenant)
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() {
			_, err := db.SandboxQuery(ctx, postgres.SandboxStatement{SQL: `SELECT 1`})
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Errorf("a call while the login healed: %v", err)
		}
	}
	assertStillTenant(t, db, ctx, tenant, 0)
}

// TestSandboxPrivilegesAlone goes past the guard: it runs escapes straight
// on a connection of the tenant's sandbox pool, as if the guard had let
// them through, and shows that the database's privileges refuse each one,
// or, where a statement may run (RESET ROLE, SET ROLE to the tenants'
// group), that it leaves the tenant no further than its own rights; and
// that such a connection, given back dirty, is dropped before the next
// call runs anything on it.
func TestSandboxPrivilegesAlone(t *testing.T) {
	t.Parallel()
	db := sandboxDB(t, 1, 4)
	ctxA, a := postgrestest.TenantContext(t, db)
	ctxB, b := postgrestest.TenantContext(t, db)
	execInTenant(t, db, ctxB, `INSERT INTO settings (key, value) VALUES ('marker', '"b"')`)
	assertStillTenant(t, db, ctxB, b, 1)
	prefix := rolePrefix(t, db)
	var platformPID int
	if err := db.Pool().QueryRow(context.Background(), `SELECT pg_backend_pid()`).Scan(&platformPID); err != nil {
		t.Fatal(err)
	}
	bs := pgx.Identifier{b.Schema}.Sanitize()
	refused := []string{
		`SET ROLE ` + prefix + `_platform`,
		`SET ROLE ` + b.Role,
		`SELECT set_config('role', '` + prefix + `_platform', false)`,
		`SET SESSION AUTHORIZATION ` + b.Role,
		`SET search_path = ` + bs + `; SELECT * FROM settings`,
		`SELECT set_config('search_path', 'public', false); SELECT * FROM tenants`,
		`RESET ROLE; SELECT * FROM ` + bs + `.settings`,
		`SET ROLE ` + prefix + `_tenants; SELECT * FROM ` + bs + `.settings`,
		`SET ROLE ` + prefix + `_tenants; CREATE TABLE ` + pgx.Identifier{a.Schema}.Sanitize() + `.shared (id int)`,
		`ALTER TABLE settings OWNER TO ` + prefix + `_tenants`,
		`COPY settings TO PROGRAM 'id'`,
		`COPY settings FROM PROGRAM 'id'`,
		`SELECT pg_read_file('/etc/passwd')`,
		`SELECT * FROM pg_ls_dir('.')`,
		`SELECT lo_import('/etc/passwd')`,
		`ALTER ROLE ` + b.Role + ` PASSWORD 'known'`,
		`ALTER ROLE ` + prefix + `_platform LOGIN`,
		`GRANT ` + prefix + `_platform TO ` + a.Role,
		`CREATE ROLE evil LOGIN`,
		`SELECT * FROM public.tenants`,
		`SELECT * FROM river.river_job`,
		`CREATE EXTENSION IF NOT EXISTS pgcrypto`,
		`CREATE SCHEMA evil`,
		`DO $$BEGIN PERFORM * FROM ` + bs + `.settings; END$$`,
		fmt.Sprintf(`SELECT pg_terminate_backend(%d)`, platformPID),
	}
	for _, sql := range refused {
		conn, release, err := db.AcquireSandboxConn(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		_, err = conn.Exec(context.Background(), sql)
		// A schema the role may not use is not searched: its tables do
		// not exist for the tenant.
		if code := pgCode(err); code != "42501" && !(code == "42P01" && strings.Contains(sql, "search_path")) {
			t.Errorf("past the guard, %s: got %v (SQLSTATE %q), want permission denied", sql, err, code)
		}
		var user string
		if err := conn.QueryRow(context.Background(), `SELECT session_user`).Scan(&user); err != nil || user != a.Role {
			t.Errorf("past the guard, after %s the session user is %q (%v)", sql, user, err)
		}
		// Leave the connection as the statement left it: the next call
		// must find it clean or drop it.
		release()
		assertStillTenant(t, db, ctxA, a, 0)
	}

	// RESET ROLE runs, and leaves the tenant as it was.
	conn, release, err := db.AcquireSandboxConn(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	var user string
	if _, err := conn.Exec(context.Background(), `RESET ROLE`); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(context.Background(), `SELECT current_user`).Scan(&user); err != nil || user != a.Role {
		t.Fatalf("after RESET ROLE: %q, %v", user, err)
	}
	// SET ROLE to the tenants' group runs too; given back so, the
	// connection fails the next call's check and is dropped.
	if _, err := conn.Exec(context.Background(), `SET ROLE `+prefix+`_tenants`); err != nil {
		t.Fatal(err)
	}
	pid := conn.Conn().PgConn().PID()
	release()
	assertStillTenant(t, db, ctxA, a, 0)
	conn, release, err = db.AcquireSandboxConn(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	if conn.Conn().PgConn().PID() == pid {
		t.Error("the connection left as another role was used again")
	}
	release()

	err = db.InTenant(ctxB, func(ctx context.Context, tx pgx.Tx) error {
		var value string
		if err := tx.QueryRow(ctx, `SELECT value::text FROM settings WHERE key = 'marker'`).Scan(&value); err != nil || value != `"b"` {
			return fmt.Errorf("B's marker: %q, %v", value, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkSandboxQuery measures a small query through the sandboxed door:
// BEGIN with the check, the cursor, one fetch, the commit.
func BenchmarkSandboxQuery(b *testing.B) {
	db := postgrestest.Open(b, postgres.Options{MaxConns: 2, Sandbox: postgres.SandboxOptions{Secret: sandboxSecret}})
	ctx, _ := postgrestest.TenantContext(b, db)
	st := postgres.SandboxStatement{SQL: `SELECT key, value FROM settings WHERE key <> $1`, Args: []any{"x"}, ReadOnly: true}
	for b.Loop() {
		if _, err := db.SandboxQuery(ctx, st); err != nil {
			b.Fatal(err)
		}
	}
}
