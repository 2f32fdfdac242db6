package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/postgres"
)

// TestSandboxTenantsNeverMix is the isolation suite through the sandboxed
// door: thousands of random statements for three tenants with identical
// tables and ids, run concurrently on tenant pools of one and of two
// connections, and with fewer pools than tenants (pools are closed and
// opened again as tenants take turns): reads, cross-schema and platform
// statements, failing statements, guard refusals, writes in read-only
// calls, cancellations, timeouts, truncated reads, and writes read back
// through both doors. No tenant may ever see another tenant's row, every
// statement must run as its tenant on its schema, and every failure must be
// the expected one.
func TestSandboxTenantsNeverMix(t *testing.T) {
	t.Parallel()
	url, admin := openScratch(t, postgres.Options{MaxConns: 2, Sandbox: postgres.SandboxOptions{Secret: sandboxSecret}})
	tenants := createTenants(t, admin, 3)
	for _, tenant := range tenants {
		ctx := taruvi.NewContextWithTenant(context.Background(), tenant)
		for _, sql := range []string{
			`CREATE TABLE items (id int PRIMARY KEY, tenant text NOT NULL)`,
			`INSERT INTO items SELECT g, '` + tenant.Schema + `' FROM generate_series(1, 50) g`,
		} {
			if _, err := admin.SandboxExec(ctx, postgres.SandboxStatement{SQL: sql}); err != nil {
				t.Fatalf("%s in %s: %v", sql, tenant.Schema, err)
			}
		}
	}
	ids := new(atomic.Int64)
	ids.Store(1000)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	for _, c := range []struct {
		conns    int32
		maxPools int
	}{{1, 3}, {2, 3}, {1, 2}} {
		t.Run(fmt.Sprintf("pools_of_%d_at_most_%d", c.conns, c.maxPools), func(t *testing.T) {
			t.Parallel()
			f := &sandboxMix{
				db: openURL(t, url, postgres.Options{MaxConns: 2, Sandbox: postgres.SandboxOptions{
					Secret: sandboxSecret, ConnsPerPool: c.conns, MaxPools: c.maxPools}}),
				tenants: tenants,
				ids:     ids,
			}
			f.run(t, seed+uint64(c.conns)+uint64(c.maxPools)<<8, 4, 1500)
		})
	}
}

// sandboxMix is one configuration's share of TestSandboxTenantsNeverMix.
type sandboxMix struct {
	db      *postgres.DB
	tenants []*taruvi.Tenant
	ids     *atomic.Int64

	crossRows atomic.Int64 // rows of another tenant seen: must stay 0
	cancels   atomic.Int64 // cancellations that hit a running statement
	mu        sync.Mutex
	counts    map[string]int
}

var sandboxActions = []struct {
	name string
	do   func(f *sandboxMix, r *rand.Rand, tenant *taruvi.Tenant) error
}{
	{"read_all", (*sandboxMix).readAll},
	{"read_by_id", (*sandboxMix).readByID},
	{"read_truncated", (*sandboxMix).readTruncated},
	{"read_other_schema", (*sandboxMix).readOtherSchema},
	{"read_platform", (*sandboxMix).readPlatform},
	{"division_by_zero", (*sandboxMix).divisionByZero},
	{"unique_violation", (*sandboxMix).uniqueViolation},
	{"guard_refusal", (*sandboxMix).guardRefusal},
	{"read_only_write", (*sandboxMix).readOnlyWrite},
	{"cancelled_context", (*sandboxMix).cancelMidQuery},
	{"timeout", (*sandboxMix).timeout},
	{"write_read_back", (*sandboxMix).writeReadBack},
}

func (f *sandboxMix) run(t *testing.T, seed uint64, workers, iterations int) {
	f.counts = make(map[string]int)
	start := time.Now()
	var wg sync.WaitGroup
	var failures atomic.Int64
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			for range iterations / workers {
				if failures.Load() >= 10 {
					return
				}
				a := sandboxActions[r.IntN(len(sandboxActions))]
				tenant := f.tenants[r.IntN(len(f.tenants))]
				err := a.do(f, r, tenant)
				if err != nil {
					failures.Add(1)
					t.Errorf("%s in %s: %v", a.name, tenant.Schema, err)
				}
				f.mu.Lock()
				f.counts[a.name]++
				f.mu.Unlock()
			}
		})
	}
	wg.Wait()
	var kinds []string
	for _, a := range sandboxActions {
		kinds = append(kinds, fmt.Sprintf("%s=%d", a.name, f.counts[a.name]))
		if f.counts[a.name] == 0 {
			t.Errorf("action %s never ran", a.name)
		}
	}
	t.Logf("%d iterations in %v (%d cancellations mid-statement): %s",
		iterations/workers*workers, time.Since(start).Round(time.Millisecond), f.cancels.Load(), strings.Join(kinds, " "))
	if n := f.crossRows.Load(); n != 0 {
		t.Errorf("%d rows of another tenant were read", n)
	}
	if f.cancels.Load() == 0 {
		t.Error("no cancellation hit a running statement")
	}
}

func (f *sandboxMix) ctx(tenant *taruvi.Tenant) context.Context {
	return taruvi.NewContextWithTenant(context.Background(), tenant)
}

func (f *sandboxMix) query(ctx context.Context, st postgres.SandboxStatement) (*postgres.SandboxResult, error) {
	return f.db.SandboxQuery(ctx, st)
}

// own counts rows whose tenant column is another tenant's.
func (f *sandboxMix) own(tenant *taruvi.Tenant, rows [][]any, column int) {
	for _, row := range rows {
		if row[column] != tenant.Schema {
			f.crossRows.Add(1)
		}
	}
}

func (f *sandboxMix) readAll(_ *rand.Rand, tenant *taruvi.Tenant) error {
	res, err := f.query(f.ctx(tenant), postgres.SandboxStatement{SQL: `SELECT tenant, current_user, session_user,
		current_setting('search_path') FROM items`, ReadOnly: true})
	if err != nil {
		return err
	}
	if len(res.Rows) < 50 || res.Truncated {
		return fmt.Errorf("%d rows (truncated %v), want all of at least 50", len(res.Rows), res.Truncated)
	}
	f.own(tenant, res.Rows, 0)
	want := []any{tenant.Role, tenant.Role, `"` + tenant.Schema + `"`}
	for i, w := range want {
		if res.Rows[0][i+1] != w {
			return fmt.Errorf("runs as %v, want %v", res.Rows[0][1:], want)
		}
	}
	return nil
}

func (f *sandboxMix) readByID(r *rand.Rand, tenant *taruvi.Tenant) error {
	res, err := f.query(f.ctx(tenant), postgres.SandboxStatement{SQL: `SELECT tenant FROM items WHERE id = $1`, Args: []any{1 + r.IntN(50)}})
	if err != nil {
		return err
	}
	if len(res.Rows) != 1 {
		return fmt.Errorf("%d rows, want 1", len(res.Rows))
	}
	f.own(tenant, res.Rows, 0)
	return nil
}

func (f *sandboxMix) readTruncated(r *rand.Rand, tenant *taruvi.Tenant) error {
	n := 1 + r.IntN(10)
	res, err := f.query(f.ctx(tenant), postgres.SandboxStatement{SQL: `SELECT tenant FROM items ORDER BY id`, MaxRows: n})
	if err != nil {
		return err
	}
	if len(res.Rows) != n || !res.Truncated {
		return fmt.Errorf("%d rows (truncated %v), want %d truncated", len(res.Rows), res.Truncated, n)
	}
	f.own(tenant, res.Rows, 0)
	return nil
}

func (f *sandboxMix) other(r *rand.Rand, tenant *taruvi.Tenant) *taruvi.Tenant {
	for {
		if o := f.tenants[r.IntN(len(f.tenants))]; o != tenant {
			return o
		}
	}
}

// refused fails unless err is a bad request with SQLSTATE code ("" for
// the guard's refusals).
func refused(err error, code string) error {
	if taruvi.ErrorCode(err) != taruvi.EBADREQUEST || pgCode(err) != code {
		return fmt.Errorf("got %v (SQLSTATE %q), want a bad request with SQLSTATE %q", err, pgCode(err), code)
	}
	return nil
}

func (f *sandboxMix) readOtherSchema(r *rand.Rand, tenant *taruvi.Tenant) error {
	other := pgx.Identifier{f.other(r, tenant).Schema, "items"}.Sanitize()
	sql := []string{`SELECT * FROM ` + other, `SELECT tenant FROM items UNION ALL SELECT tenant FROM ` + other,
		`UPDATE ` + other + ` SET tenant = 'x'`}[r.IntN(3)]
	_, err := f.db.SandboxExec(f.ctx(tenant), postgres.SandboxStatement{SQL: sql})
	return refused(err, "42501")
}

func (f *sandboxMix) readPlatform(r *rand.Rand, tenant *taruvi.Tenant) error {
	if r.IntN(2) == 0 {
		_, err := f.query(f.ctx(tenant), postgres.SandboxStatement{SQL: `SELECT * FROM public.tenants`})
		return refused(err, "42501")
	}
	// Unqualified, a platform table is not there at all.
	_, err := f.query(f.ctx(tenant), postgres.SandboxStatement{SQL: `SELECT * FROM tenants`})
	return refused(err, "42P01")
}

func (f *sandboxMix) divisionByZero(_ *rand.Rand, tenant *taruvi.Tenant) error {
	_, err := f.query(f.ctx(tenant), postgres.SandboxStatement{SQL: `SELECT id / 0 FROM items`})
	return refused(err, "22012")
}

func (f *sandboxMix) uniqueViolation(r *rand.Rand, tenant *taruvi.Tenant) error {
	_, err := f.db.SandboxExec(f.ctx(tenant), postgres.SandboxStatement{SQL: `INSERT INTO items (id, tenant) VALUES ($1, $2)`,
		Args: []any{1 + r.IntN(50), tenant.Schema}})
	if taruvi.ErrorCode(err) != taruvi.ECONFLICT {
		return fmt.Errorf("got %v, want a conflict", err)
	}
	return nil
}

func (f *sandboxMix) guardRefusal(r *rand.Rand, tenant *taruvi.Tenant) error {
	sql := []string{`RESET ROLE`, `SET ROLE ` + f.other(r, tenant).Role, `SELECT set_config('search_path', 'public', false)`,
		`SELECT 1; SELECT 2`, `LISTEN taruvi_tenancy`}[r.IntN(5)]
	_, err := f.db.SandboxExec(f.ctx(tenant), postgres.SandboxStatement{SQL: sql})
	return refused(err, "")
}

func (f *sandboxMix) readOnlyWrite(_ *rand.Rand, tenant *taruvi.Tenant) error {
	_, err := f.db.SandboxExec(f.ctx(tenant), postgres.SandboxStatement{SQL: `UPDATE items SET tenant = 'x'`, ReadOnly: true})
	return refused(err, "25006")
}

func (f *sandboxMix) cancelMidQuery(r *rand.Rand, tenant *taruvi.Tenant) error {
	ctx, cancel := context.WithCancel(f.ctx(tenant))
	time.AfterFunc(time.Duration(r.IntN(20))*time.Millisecond, cancel)
	defer cancel()
	_, err := f.query(ctx, postgres.SandboxStatement{SQL: `SELECT pg_sleep(0.05), tenant FROM items LIMIT 1`})
	switch {
	case errors.Is(err, context.Canceled):
		f.cancels.Add(1)
		return nil
	case err == nil:
		return errors.New("ran to its end after its context was cancelled")
	}
	return err
}

func (f *sandboxMix) timeout(_ *rand.Rand, tenant *taruvi.Tenant) error {
	_, err := f.query(f.ctx(tenant), postgres.SandboxStatement{SQL: `SELECT pg_sleep(0.2)`, Timeout: 20 * time.Millisecond})
	if !errors.Is(err, postgres.ErrSandboxTimeout) {
		return fmt.Errorf("got %v, want a timeout", err)
	}
	return nil
}

// writeReadBack inserts a row through the sandbox and reads it back through
// both doors; the other tenants have no such row.
func (f *sandboxMix) writeReadBack(r *rand.Rand, tenant *taruvi.Tenant) error {
	id := f.ids.Add(1)
	_, err := f.db.SandboxExec(f.ctx(tenant), postgres.SandboxStatement{SQL: `INSERT INTO items (id, tenant) VALUES ($1, $2)`,
		Args: []any{id, tenant.Schema}})
	if err != nil {
		return err
	}
	var owner string
	err = f.db.InTenant(f.ctx(tenant), func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT tenant FROM items WHERE id = $1`, id).Scan(&owner)
	})
	if err != nil || owner != tenant.Schema {
		return fmt.Errorf("the platform's door reads %q, %v", owner, err)
	}
	res, err := f.query(f.ctx(f.other(r, tenant)), postgres.SandboxStatement{SQL: `SELECT tenant FROM items WHERE id = $1`, Args: []any{id}})
	if err != nil {
		return err
	}
	f.crossRows.Add(int64(len(res.Rows)))
	return nil
}
