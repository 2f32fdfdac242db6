package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"taruvi"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
)

// TestPipelinedScopesSchemaAndRole: a batch runs in its tenant's
// schema, as its role, with the request id recorded, like InTenant.
func TestPipelinedScopesSchemaAndRole(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	ctx, tenant := postgrestest.TenantContext(t, db)
	ctx = taruvi.NewContextWithRequestID(ctx, "req-batch-1")
	var schema, role, request string
	var n int
	b := &pgx.Batch{}
	b.Queue(`SELECT current_schema(), current_user, current_setting('taruvi.request_id')`).QueryRow(func(r pgx.Row) error {
		return r.Scan(&schema, &role, &request)
	})
	b.Queue(`SELECT count(*) FROM settings WHERE key <> $1`, "x").QueryRow(func(r pgx.Row) error { return r.Scan(&n) })
	if err := db.InTenant(ctx, nil, postgres.Pipelined(b)); err != nil {
		t.Fatal(err)
	}
	if schema != tenant.Schema || role != tenant.Role || request != "req-batch-1" {
		t.Fatalf("in tenant %s/%s: got schema %q role %q request id %q", tenant.Schema, tenant.Role, schema, role, request)
	}
}

// TestPipelinedCannotTouchAnotherTenant: statements of tenant A's batch
// that name tenant B's schema or the platform's are refused with
// permission denied, and B's data stays as it was.
func TestPipelinedCannotTouchAnotherTenant(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	ctxA, _ := postgrestest.TenantContext(t, db)
	ctxB, b := postgrestest.TenantContext(t, db)
	insert := &pgx.Batch{}
	insert.Queue(`INSERT INTO settings (key, value) VALUES ('color', '"blue"')`)
	if err := db.InTenant(ctxB, nil, postgres.Pipelined(insert)); err != nil {
		t.Fatal(err)
	}
	bSettings := pgx.Identifier{b.Schema, "settings"}.Sanitize()
	for _, sql := range []string{
		`SELECT * FROM ` + bSettings,
		`INSERT INTO ` + bSettings + ` (key, value) VALUES ('x', '1')`,
		`UPDATE ` + bSettings + ` SET value = '"red"'`,
		`DELETE FROM ` + bSettings,
		`TRUNCATE ` + bSettings,
		`CREATE TABLE ` + pgx.Identifier{b.Schema}.Sanitize() + `.stolen (id int)`,
		`SELECT * FROM public.tenants`,
		`UPDATE public.tenants SET status = 'suspended'`,
	} {
		batch := &pgx.Batch{}
		batch.Queue(sql)
		if err := db.InTenant(ctxA, nil, postgres.Pipelined(batch)); pgCode(err) != "42501" {
			t.Errorf("tenant A's batch: %s: got %v, want permission denied (42501)", sql, err)
		}
	}
	var n int
	check := &pgx.Batch{}
	check.Queue(`SELECT count(*) FROM settings WHERE value = '"blue"'`).QueryRow(func(r pgx.Row) error { return r.Scan(&n) })
	if err := db.InTenant(ctxB, nil, postgres.Pipelined(check)); err != nil || n != 1 {
		t.Fatalf("tenant B's settings after A's attempts: %d blue rows, err %v; want 1", n, err)
	}
}

// TestPipelinedIsOneTransaction: the statements of a batch commit
// together, or not at all when one fails.
func TestPipelinedIsOneTransaction(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	ctx, _ := postgrestest.TenantContext(t, db)
	failing := &pgx.Batch{}
	failing.Queue(`INSERT INTO settings (key, value) VALUES ('a', '1')`)
	failing.Queue(`SELECT 1/0`)
	failing.Queue(`INSERT INTO settings (key, value) VALUES ('b', '1')`)
	if err := db.InTenant(ctx, nil, postgres.Pipelined(failing)); pgCode(err) != "22012" {
		t.Fatalf("failing batch: got %v, want division by zero (22012)", err)
	}
	ok := &pgx.Batch{}
	ok.Queue(`INSERT INTO settings (key, value) VALUES ('c', '1')`)
	ok.Queue(`INSERT INTO settings (key, value) VALUES ('d', '1')`)
	if err := db.InTenant(ctx, nil, postgres.Pipelined(ok)); err != nil {
		t.Fatal(err)
	}
	var keys []string
	err := db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT key FROM settings ORDER BY key`)
		var err error
		keys, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil || fmt.Sprint(keys) != "[c d]" {
		t.Fatalf("settings after a failed and a committed batch: %v, err %v; want [c d]", keys, err)
	}
}

// TestPipelinedWithoutTenantRunsNothing: a context without a tenant is
// refused before anything is sent.
func TestPipelinedWithoutTenantRunsNothing(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	ran := false
	b := &pgx.Batch{}
	b.Queue(`SELECT 1`).Exec(func(pgconn.CommandTag) error { ran = true; return nil })
	if err := db.InTenant(context.Background(), nil, postgres.Pipelined(b)); err == nil || ran {
		t.Fatalf("a pipelined InTenant without a tenant: err=%v, callback ran=%v; want an error and nothing run", err, ran)
	}
}

// TestPipelinedNoScopeLeaksToThePool runs batches of two tenants, with
// the same statements, failing ones included, on a pool of one connection:
// each tenant sees its own rows only, and the backend is back to the
// default search_path and the connecting user afterwards. Neither a
// statement that fails (with no deallocation in flight) nor a callback's
// error costs the connection: a client's bad input must not make the pool
// connect again.
func TestPipelinedNoScopeLeaksToThePool(t *testing.T) {
	t.Parallel()
	url, admin := openScratch(t, postgres.Options{})
	tenants := createTenants(t, admin, 2)
	db := openURL(t, url, postgres.Options{MaxConns: 1})
	ctx := context.Background()
	seed := &pgx.Batch{}
	seed.Queue(`INSERT INTO settings (key, value) VALUES ('only-in-first', '1')`)
	if err := db.InTenant(taruvi.NewContextWithTenant(ctx, tenants[0]), nil, postgres.Pipelined(seed)); err != nil {
		t.Fatal(err)
	}

	var wantUser string
	var pid int
	if err := db.Pool().QueryRow(ctx, `SELECT current_user, pg_backend_pid()`).Scan(&wantUser, &pid); err != nil {
		t.Fatal(err)
	}
	errCallback := errors.New("callback failed")
	for i := range 200 {
		tenant := tenants[i%2]
		var gotPID, n int
		var user string
		b := &pgx.Batch{}
		b.Queue(`SELECT pg_backend_pid(), current_user`).QueryRow(func(r pgx.Row) error { return r.Scan(&gotPID, &user) })
		b.Queue(`SELECT count(*) FROM settings WHERE key = $1`, "only-in-first").QueryRow(func(r pgx.Row) error { return r.Scan(&n) })
		switch i % 4 {
		case 1:
			b.Queue(`SELECT 1/0`)
		case 2:
			b.Queue(`SELECT 1`).Exec(func(pgconn.CommandTag) error { return errCallback })
		case 3:
			b.Queue(fmt.Sprintf(`SELECT %d FROM settings`, i)) // a new statement every time
		}
		err := db.InTenant(taruvi.NewContextWithTenant(ctx, tenant), nil, postgres.Pipelined(b))
		switch {
		case i%4 == 1 && pgCode(err) != "22012", i%4 == 2 && !errors.Is(err, errCallback), i%4 != 1 && i%4 != 2 && err != nil:
			t.Fatalf("iteration %d: err = %v", i, err)
		}
		if i%4 == 1 {
			continue // nothing was read
		}
		if wantN := 1 - i%2; gotPID != pid || user != tenant.Role || n != wantN {
			t.Fatalf("iteration %d: backend %d as %q saw %d rows, want backend %d as %q seeing %d", i, gotPID, user, n, pid, tenant.Role, wantN)
		}
	}
	var path, user string
	var gotPID, prepared int
	err := db.Pool().QueryRow(ctx, `SELECT current_setting('search_path'), current_user, pg_backend_pid(),
		(SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'taruvi\_%')`).Scan(&path, &user, &gotPID, &prepared)
	if err != nil {
		t.Fatal(err)
	}
	if path != "pg_catalog" || user != wantUser || gotPID != pid {
		t.Fatalf("pooled backend %d after tenant batches: search_path %q, user %q; want backend %d, pg_catalog, %q", gotPID, path, user, pid, wantUser)
	}
	// On the one connection: the seed's insert, the scope, per tenant the
	// two statements every batch has, the second tenant's division by zero,
	// the first tenant's SELECT 1 and the second's 50 new statements.
	if want := 1 + 1 + 2*2 + 1 + 1 + 50; prepared != want {
		t.Fatalf("%d statements prepared for batches, want %d", prepared, want)
	}
}

// TestPipelinedStatementsBounded: a connection keeps at most 512
// statements prepared for batches, however many it meets.
func TestPipelinedStatementsBounded(t *testing.T) {
	t.Parallel()
	url, admin := openScratch(t, postgres.Options{})
	tenant := createTenants(t, admin, 1)[0]
	db := openURL(t, url, postgres.Options{MaxConns: 1})
	ctx := taruvi.NewContextWithTenant(context.Background(), tenant)
	for i := range 600 {
		var got int
		b := &pgx.Batch{}
		b.Queue(fmt.Sprintf(`SELECT %d`, i)).QueryRow(func(r pgx.Row) error { return r.Scan(&got) })
		if err := db.InTenant(ctx, nil, postgres.Pipelined(b)); err != nil || got != i {
			t.Fatalf("statement %d: got %d, err %v", i, got, err)
		}
	}
	var prepared int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'taruvi\_%'`).Scan(&prepared); err != nil {
		t.Fatal(err)
	}
	if prepared != 512 {
		t.Fatalf("%d statements prepared for batches after 600, want 512", prepared)
	}
}

// TestPipelinedRecoversFromFailures: a statement that fails while a
// deallocation of an evicted statement rides in the same pipeline, and a
// table changed under a cached statement, cost one attempt each, never the
// statement for the rest of the connection's life.
func TestPipelinedRecoversFromFailures(t *testing.T) {
	t.Parallel()
	url, admin := openScratch(t, postgres.Options{})
	tenant := createTenants(t, admin, 1)[0]
	db := openURL(t, url, postgres.Options{MaxConns: 1})
	ctx := taruvi.NewContextWithTenant(context.Background(), tenant)
	selectN := func(i int) error {
		var got int
		b := &pgx.Batch{}
		b.Queue(fmt.Sprintf(`SELECT %d`, i)).QueryRow(func(r pgx.Row) error { return r.Scan(&got) })
		if err := db.InTenant(ctx, nil, postgres.Pipelined(b)); err != nil {
			return err
		}
		if got != i {
			return fmt.Errorf("got %d", got)
		}
		return nil
	}
	for i := range 512 { // the cache is full: the next new statement evicts one
		if err := selectN(i); err != nil {
			t.Fatalf("statement %d: %v", i, err)
		}
	}
	failing := &pgx.Batch{}
	failing.Queue(`SELECT 1/$1::int`, 0)
	if err := db.InTenant(ctx, nil, postgres.Pipelined(failing)); pgCode(err) != "22012" {
		t.Fatalf("division by zero: %v", err)
	}
	for i := range 512 {
		if err := selectN(i); err != nil {
			t.Fatalf("after the failure, statement %d: %v", i, err)
		}
	}

	star := func() error {
		b := &pgx.Batch{}
		b.Queue(`SELECT * FROM settings LIMIT 1`)
		return db.InTenant(ctx, nil, postgres.Pipelined(b))
	}
	if err := star(); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Pool().Exec(ctx, `ALTER TABLE `+pgx.Identifier{tenant.Schema, "settings"}.Sanitize()+` ADD COLUMN extra int`); err != nil {
		t.Fatal(err)
	}
	_ = star() // may fail once: the cached plan's result type changed
	for i := range 3 {
		if err := star(); err != nil {
			t.Fatalf("attempt %d after the table changed: %v", i, err)
		}
	}
}

// TestPipelinedNamedArgs: a statement may take pgx.NamedArgs.
func TestPipelinedNamedArgs(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	ctx, _ := postgrestest.TenantContext(t, db)
	var got string
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO settings (key, value) VALUES (@key, '1')`, pgx.NamedArgs{"key": "k"})
	b.Queue(`SELECT key FROM settings WHERE key = @key`, pgx.NamedArgs{"key": "k"}).QueryRow(func(r pgx.Row) error { return r.Scan(&got) })
	if err := db.InTenant(ctx, nil, postgres.Pipelined(b)); err != nil || got != "k" {
		t.Fatalf("named arguments: got %q, err %v", got, err)
	}
}

// TestPipelinedBadArgumentCommitsNothing: an argument that cannot be
// encoded, after a statement that was already sent, leaves nothing
// committed.
func TestPipelinedBadArgumentCommitsNothing(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	ctx, _ := postgrestest.TenantContext(t, db)
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO settings (key, value) VALUES ('a', '1')`)
	b.Queue(`SELECT $1::int`, struct{ x int }{1})
	if err := db.InTenant(ctx, nil, postgres.Pipelined(b)); err == nil {
		t.Fatal("a batch with an argument that cannot be encoded succeeded")
	}
	var n int
	check := &pgx.Batch{}
	check.Queue(`SELECT count(*) FROM settings`).QueryRow(func(r pgx.Row) error { return r.Scan(&n) })
	if err := db.InTenant(ctx, nil, postgres.Pipelined(check)); err != nil || n != 0 {
		t.Fatalf("settings after the failed batch: %d rows, err %v; want none", n, err)
	}
}

// TestOptionsShapeTheTransaction: AsyncCommit and Setting hold inside the
// transaction, stepwise and pipelined, in a tenant's scope and the
// platform's, and nothing of them outlives it on the pooled connection.
// Settings that would widen the scope are refused before anything runs,
// as are a pipelined transaction given a TxFunc and one given nothing.
func TestOptionsShapeTheTransaction(t *testing.T) {
	t.Parallel()
	db := openURL(t, postgrestest.NewScratch(t), postgres.Options{MaxConns: 1})
	tenant := createTenants(t, db, 1)[0]
	ctx := context.Background()
	for _, scope := range []struct {
		name string
		ctx  context.Context
		door func(context.Context, postgres.TxFunc, ...postgres.TxOption) error
	}{
		{"tenant", taruvi.NewContextWithTenant(ctx, tenant), db.InTenant},
		{"platform", ctx, db.InPlatform},
		{"scope of a tenant", taruvi.NewContextWithTenant(ctx, tenant), db.InScope},
	} {
		var commit, timeout string
		read := func(row pgx.Row) error { return row.Scan(&commit, &timeout) }
		const sql = `SELECT current_setting('synchronous_commit'), current_setting('statement_timeout')`
		opts := []postgres.TxOption{postgres.AsyncCommit(), postgres.Setting("statement_timeout", "1234ms"), postgres.Quiet()}
		err := scope.door(scope.ctx, func(ctx context.Context, tx pgx.Tx) error { return read(tx.QueryRow(ctx, sql)) }, opts...)
		if err != nil || commit != "off" || timeout != "1234ms" {
			t.Errorf("%s, stepwise: synchronous_commit %q, statement_timeout %q, %v; want off and 1234ms", scope.name, commit, timeout, err)
		}
		commit, timeout = "", ""
		b := &pgx.Batch{}
		b.Queue(sql).QueryRow(read)
		if err := scope.door(scope.ctx, nil, append(opts, postgres.Pipelined(b))...); err != nil || commit != "off" || timeout != "1234ms" {
			t.Errorf("%s, pipelined: synchronous_commit %q, statement_timeout %q, %v; want off and 1234ms", scope.name, commit, timeout, err)
		}
		if err := db.Pool().QueryRow(ctx, sql).Scan(&commit, &timeout); err != nil || commit != "on" || timeout != "0" {
			t.Errorf("%s: pooled connection has synchronous_commit %q, statement_timeout %q, %v; want on and 0", scope.name, commit, timeout, err)
		}
	}

	tctx := taruvi.NewContextWithTenant(ctx, tenant)
	ran := false
	fn := func(context.Context, pgx.Tx) error { ran = true; return nil }
	for _, opt := range []postgres.TxOption{
		postgres.Setting("role", "none"), postgres.Setting("search_path", "public"),
		postgres.Setting("session_authorization", "postgres"), postgres.Setting("taruvi.actor_id", "1"),
		postgres.Setting("statement_timeout", "1s'); RESET ROLE; --"), postgres.Setting("work_mem", `4MB\`),
	} {
		if err := db.InTenant(tctx, fn, opt); err == nil || ran {
			t.Errorf("a refused setting: err %v, fn ran %v; want an error and nothing run", err, ran)
		}
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT 1`)
	if err := db.InTenant(tctx, fn, postgres.Pipelined(b)); err == nil || ran {
		t.Errorf("pipelined with a TxFunc: err %v, fn ran %v; want an error and nothing run", err, ran)
	}
	if err := db.InTenant(tctx, nil); err == nil {
		t.Error("a scoped transaction without work succeeded")
	}
	if err := db.InTenant(tctx, nil, postgres.Pipelined(&pgx.Batch{})); err != nil {
		t.Errorf("an empty unit: %v, want nothing run and no error", err)
	}
}

// TestQuietWriteKeepsCachedReads: a write the caller declares Quiet leaves
// the tenant's cached pages alone; any other write, stepwise or
// pipelined, makes the cache forget them.
func TestQuietWriteKeepsCachedReads(t *testing.T) {
	t.Parallel()
	db := openURL(t, postgrestest.NewScratch(t), postgres.Options{MigrationSets: postgres.BuiltinMigrationSets(), ReadCacheTTL: time.Hour})
	tenant := createTenants(t, db, 1)[0]
	ctx := taruvi.NewContextWithPrincipal(taruvi.NewContextWithTenant(context.Background(), tenant),
		&taruvi.Principal{Audience: tenant.Schema, IsOwner: true})
	projects := postgres.NewProjects(db, testAuthz(db, slog.New(slog.DiscardHandler)))
	if _, err := projects.CreateProject(ctx, taruvi.ProjectCreate{Name: "first"}); err != nil {
		t.Fatal(err)
	}
	list := func() int {
		t.Helper()
		_, total, err := projects.ListProjects(ctx, taruvi.ListQuery{Page: 1, PageSize: 10})
		if err != nil {
			t.Fatal(err)
		}
		return total
	}
	insert := func(name string) *pgx.Batch {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO projects (name) VALUES ($1)`, name)
		return b
	}
	list() // cached
	if err := db.InTenant(ctx, nil, postgres.Pipelined(insert("quiet")), postgres.Quiet()); err != nil {
		t.Fatal(err)
	}
	if n := list(); n != 1 {
		t.Fatalf("after a quiet write the page counts %d projects, want the cached 1", n)
	}
	if err := db.InTenant(ctx, nil, postgres.Pipelined(insert("loud"))); err != nil {
		t.Fatal(err)
	}
	if n := list(); n != 3 {
		t.Fatalf("after a pipelined write the page counts %d projects, want 3", n)
	}
	err := db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO projects (name) VALUES ('stepwise')`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := list(); n != 4 {
		t.Fatalf("after a stepwise write the page counts %d projects, want 4", n)
	}
}
