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
	"github.com/jackc/pgx/v5/pgconn"

	"taruvi"
	"taruvi/internal/postgres"
)

// Rows 1..seedRows exist, with the same ids, in every tenant's items table.
const seedRows = 50

// TestInterleavedTenantsNeverMix runs thousands of random units of work,
// stepwise and pipelined through the same door, for three tenants with
// identical tables and ids, concurrently, on pools of one and of two
// connections: reads, failing statements, panics, cancelled queries,
// savepoint rollbacks, callbacks' errors and writes, some committed
// asynchronously. No tenant may ever see another
// tenant's row, and every failure must be the expected one.
func TestInterleavedTenantsNeverMix(t *testing.T) {
	t.Parallel()
	url, admin := openScratch(t, postgres.Options{})
	tenants := createTenants(t, admin, 3)
	for _, tenant := range tenants {
		err := admin.InTenant(taruvi.NewContextWithTenant(context.Background(), tenant), func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `CREATE TABLE items (id int PRIMARY KEY, tenant text NOT NULL)`)
			if err == nil {
				_, err = tx.Exec(ctx, `INSERT INTO items SELECT g, $1 FROM generate_series(1, $2) g`, tenant.Schema, seedRows)
			}
			return err
		})
		if err != nil {
			t.Fatalf("create items in %s: %v", tenant.Schema, err)
		}
	}
	var user string
	if err := admin.Pool().QueryRow(context.Background(), `SELECT current_user`).Scan(&user); err != nil {
		t.Fatal(err)
	}
	ids := new(atomic.Int64) // ids of written rows, unique across tenants
	ids.Store(seedRows)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	for _, conns := range []int32{1, 2} {
		t.Run(fmt.Sprintf("pool_of_%d", conns), func(t *testing.T) {
			t.Parallel()
			f := &interleaving{
				db:      openURL(t, url, postgres.Options{MaxConns: conns}),
				tenants: tenants,
				user:    user,
				ids:     ids,
			}
			f.run(t, seed+uint64(conns), 4, 1500)
		})
	}
}

// interleaving is one pool's share of TestInterleavedTenantsNeverMix.
type interleaving struct {
	db      *postgres.DB
	tenants []*taruvi.Tenant
	user    string // the connecting user, what an unscoped connection runs as
	ids     *atomic.Int64

	crossRows     atomic.Int64 // rows of another tenant seen: must stay 0
	cancelsInFlow atomic.Int64 // cancellations that hit a running statement
	mu            sync.Mutex
	counts        map[string]int
	spent         map[string]time.Duration
}

type action struct {
	name string
	do   func(f *interleaving, r *rand.Rand, tenant *taruvi.Tenant) error
}

var actions = []action{
	{"read_all", (*interleaving).readAllAction},
	{"read_by_id", (*interleaving).readByID},
	{"read_other_schema", (*interleaving).readOtherSchema},
	{"division_by_zero", (*interleaving).divisionByZero},
	{"unique_violation", (*interleaving).uniqueViolation},
	{"panic", (*interleaving).panicInFn},
	{"cancelled_context", (*interleaving).cancelMidQuery},
	{"savepoint_rollback", (*interleaving).savepointRollback},
	{"write_read_back", (*interleaving).writeReadBack},
	{"unscoped_query", (*interleaving).unscopedQuery},
	// The same door, pipelined: scope, statements and commit in one round
	// trip, on the same connections as the stepwise units.
	{"pipelined_read_all", (*interleaving).pipelinedReadAll},
	{"pipelined_read_other_schema", (*interleaving).pipelinedReadOtherSchema},
	{"pipelined_failure", (*interleaving).pipelinedFailure},
	{"pipelined_callback_error", (*interleaving).pipelinedCallbackError},
	{"pipelined_panic", (*interleaving).pipelinedPanic},
	{"pipelined_cancelled_context", (*interleaving).pipelinedCancel},
	{"pipelined_write_read_back", (*interleaving).pipelinedWriteReadBack},
}

func (f *interleaving) run(t *testing.T, seed uint64, workers, iterations int) {
	f.counts = make(map[string]int)
	f.spent = make(map[string]time.Duration)
	start := time.Now()
	var wg sync.WaitGroup
	var failures atomic.Int64
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			for range iterations / workers {
				if failures.Load() >= 10 {
					return // enough to diagnose; stop flooding the log
				}
				a := actions[r.IntN(len(actions))]
				tenant := f.tenants[r.IntN(len(f.tenants))]
				began := time.Now()
				if err := a.do(f, r, tenant); err != nil {
					failures.Add(1)
					t.Errorf("%s in %s: %v", a.name, tenant.Schema, err)
				}
				f.mu.Lock()
				f.counts[a.name]++
				f.spent[a.name] += time.Since(began)
				f.mu.Unlock()
			}
		})
	}
	wg.Wait()
	total := 0
	var kinds []string
	for _, a := range actions {
		total += f.counts[a.name]
		kinds = append(kinds, fmt.Sprintf("%s=%d (%v)", a.name, f.counts[a.name], f.spent[a.name].Round(time.Millisecond)))
	}
	t.Logf("%d iterations in %v (%d cancellations mid-statement): %s",
		total, time.Since(start).Round(time.Millisecond), f.cancelsInFlow.Load(), strings.Join(kinds, " "))
	if n := f.crossRows.Load(); n != 0 {
		t.Errorf("%d rows of another tenant were read", n)
	}
	if total != iterations/workers*workers && !t.Failed() {
		t.Errorf("ran %d iterations, want %d", total, iterations/workers*workers)
	}
	for _, a := range actions {
		if f.counts[a.name] == 0 {
			t.Errorf("action %s never ran", a.name)
		}
	}
	if f.cancelsInFlow.Load() == 0 {
		t.Error("no cancellation hit a running statement")
	}
}

func (f *interleaving) ctx(tenant *taruvi.Tenant) context.Context {
	return taruvi.NewContextWithTenant(context.Background(), tenant)
}

// checkScope fails unless tx runs in tenant's schema as tenant's role.
func checkScope(ctx context.Context, tx pgx.Tx, tenant *taruvi.Tenant) error {
	var schema, role string
	if err := tx.QueryRow(ctx, `SELECT current_schema(), current_user`).Scan(&schema, &role); err != nil {
		return err
	}
	if schema != tenant.Schema || role != tenant.Role {
		return fmt.Errorf("scope is schema %q role %q, want %q %q", schema, role, tenant.Schema, tenant.Role)
	}
	return nil
}

// readAll reads every row of tenant's items in a new transaction; every one
// must belong to tenant.
func (f *interleaving) readAll(tenant *taruvi.Tenant) error {
	return f.db.InTenant(f.ctx(tenant), func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, tenant, current_schema(), current_user FROM items`)
		if err != nil {
			return err
		}
		n := 0
		var id int
		var owner, schema, role string
		_, err = pgx.ForEachRow(rows, []any{&id, &owner, &schema, &role}, func() error {
			n++
			if owner != tenant.Schema {
				f.crossRows.Add(1)
				return fmt.Errorf("row %d of %q read as %s", id, owner, tenant.Schema)
			}
			if schema != tenant.Schema || role != tenant.Role {
				return fmt.Errorf("scope is schema %q role %q, want %q %q", schema, role, tenant.Schema, tenant.Role)
			}
			return nil
		})
		if err == nil && n < seedRows {
			err = fmt.Errorf("read %d rows, want at least %d", n, seedRows)
		}
		return err
	})
}

func (f *interleaving) readAllAction(_ *rand.Rand, tenant *taruvi.Tenant) error {
	return f.readAll(tenant)
}

// owner reads the tenant column of row id as tenant; "" when there is no
// such row.
func (f *interleaving) owner(tenant *taruvi.Tenant, id int64) (string, error) {
	var owner string
	err := f.db.InTenant(f.ctx(tenant), func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT tenant FROM items WHERE id = $1`, id).Scan(&owner)
	})
	if taruvi.ErrorCode(err) == taruvi.ENOTFOUND {
		return "", nil
	}
	if owner != "" && owner != tenant.Schema {
		f.crossRows.Add(1)
	}
	return owner, err
}

func (f *interleaving) readByID(r *rand.Rand, tenant *taruvi.Tenant) error {
	id := int64(1 + r.IntN(seedRows))
	owner, err := f.owner(tenant, id)
	if err == nil && owner != tenant.Schema {
		err = fmt.Errorf("row %d belongs to %q", id, owner)
	}
	return err
}

func (f *interleaving) other(r *rand.Rand, tenant *taruvi.Tenant) *taruvi.Tenant {
	for {
		if o := f.tenants[r.IntN(len(f.tenants))]; o != tenant {
			return o
		}
	}
}

func (f *interleaving) readOtherSchema(r *rand.Rand, tenant *taruvi.Tenant) error {
	other := f.other(r, tenant)
	err := f.db.InTenant(f.ctx(tenant), func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT * FROM `+pgx.Identifier{other.Schema, "items"}.Sanitize())
		return err
	})
	if pgCode(err) != "42501" {
		return fmt.Errorf("reading %s.items: got %v, want permission denied", other.Schema, err)
	}
	return f.readAll(tenant)
}

func (f *interleaving) divisionByZero(_ *rand.Rand, tenant *taruvi.Tenant) error {
	err := f.db.InTenant(f.ctx(tenant), func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT count(*) / 0 FROM items`)
		return err
	})
	if pgCode(err) != "22012" {
		return fmt.Errorf("got %v, want division by zero (22012)", err)
	}
	return f.readAll(tenant)
}

func (f *interleaving) uniqueViolation(r *rand.Rand, tenant *taruvi.Tenant) error {
	err := f.db.InTenant(f.ctx(tenant), func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO items VALUES ($1, 'intruder')`, 1+r.IntN(seedRows))
		return err
	})
	if taruvi.ErrorCode(err) != taruvi.ECONFLICT || pgCode(err) != "23505" {
		return fmt.Errorf("got %v, want a conflict from a unique violation (23505)", err)
	}
	return f.readAll(tenant) // no 'intruder' row either
}

type sentinel struct{ id int64 }

func (f *interleaving) panicInFn(_ *rand.Rand, tenant *taruvi.Tenant) error {
	id := f.ids.Add(1)
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		_ = f.db.InTenant(f.ctx(tenant), func(ctx context.Context, tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO items VALUES ($1, $2)`, id, tenant.Schema); err != nil {
				return err
			}
			panic(sentinel{id})
		})
	}()
	if recovered != (sentinel{id}) {
		return fmt.Errorf("recovered %v, want the panic of fn", recovered)
	}
	if err := f.checkPool(); err != nil {
		return fmt.Errorf("after a panic: %w", err)
	}
	owner, err := f.owner(tenant, id)
	if err == nil && owner != "" {
		err = fmt.Errorf("row %d written before the panic was committed", id)
	}
	return err
}

// checkPool checks that a connection fresh from the pool runs unscoped, as
// the connecting user.
func (f *interleaving) checkPool() error {
	var path, user string
	var commit string
	err := f.db.Pool().QueryRow(context.Background(), `SELECT current_setting('search_path'), current_user,
		current_setting('synchronous_commit')`).Scan(&path, &user, &commit)
	if err == nil && (path != "pg_catalog" || user != f.user || commit != "on") {
		err = fmt.Errorf("pooled connection has search_path %q, user %q, synchronous_commit %q", path, user, commit)
	}
	return err
}

func (f *interleaving) cancelMidQuery(r *rand.Rand, tenant *taruvi.Tenant) error {
	ctx, cancel := context.WithTimeout(f.ctx(tenant), time.Duration(2+r.IntN(20))*time.Millisecond)
	defer cancel()
	start := time.Now()
	var sleeping atomic.Bool
	err := f.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		sleeping.Store(true)
		// Short, because the server only notices the closed connection
		// when the sleep ends.
		_, err := tx.Exec(ctx, `SELECT pg_sleep(0.5)`)
		return err
	})
	if !errors.Is(err, context.DeadlineExceeded) && !pgconn.Timeout(err) {
		return fmt.Errorf("got %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		return fmt.Errorf("cancelled statement returned after %v", d)
	}
	if sleeping.Load() {
		f.cancelsInFlow.Add(1)
	}
	if err := f.checkPool(); err != nil {
		return fmt.Errorf("after a cancellation: %w", err)
	}
	return f.readAll(tenant)
}

func (f *interleaving) savepointRollback(_ *rand.Rand, tenant *taruvi.Tenant) error {
	dropped, kept := f.ids.Add(1), f.ids.Add(1)
	err := f.db.InTenant(f.ctx(tenant), func(ctx context.Context, tx pgx.Tx) error {
		sp, err := tx.Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := sp.Exec(ctx, `INSERT INTO items VALUES ($1, $2)`, dropped, tenant.Schema); err != nil {
			return err
		}
		// Leave the tenant's scope inside the savepoint: rolling it back
		// must restore the scope, not keep the escape.
		if _, err := sp.Exec(ctx, `SELECT set_config('search_path', 'pg_catalog', true), set_config('role', 'none', true)`); err != nil {
			return err
		}
		if err := sp.Rollback(ctx); err != nil {
			return err
		}
		if err := checkScope(ctx, tx, tenant); err != nil {
			return fmt.Errorf("after the savepoint rollback: %w", err)
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM items WHERE id = $1`, dropped).Scan(&n); err != nil || n != 0 {
			return fmt.Errorf("row of the rolled back savepoint: count %d, err %v", n, err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO items VALUES ($1, $2)`, kept, tenant.Schema)
		return err
	})
	if err != nil {
		return err
	}
	if owner, err := f.owner(tenant, dropped); err != nil || owner != "" {
		return fmt.Errorf("rolled back row %d: owner %q, err %v", dropped, owner, err)
	}
	if owner, err := f.owner(tenant, kept); err != nil || owner != tenant.Schema {
		return fmt.Errorf("committed row %d: owner %q, err %v", kept, owner, err)
	}
	return nil
}

func (f *interleaving) writeReadBack(r *rand.Rand, tenant *taruvi.Tenant) error {
	id := f.ids.Add(1)
	err := f.db.InTenant(f.ctx(tenant), func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO items VALUES ($1, $2)`, id, tenant.Schema)
		return err
	})
	if err != nil {
		return err
	}
	if owner, err := f.owner(tenant, id); err != nil || owner != tenant.Schema {
		return fmt.Errorf("row %d read back: owner %q, err %v", id, owner, err)
	}
	other := f.other(r, tenant)
	if owner, err := f.owner(other, id); err != nil || owner != "" {
		return fmt.Errorf("row %d read by %s: owner %q, err %v", id, other.Schema, owner, err)
	}
	return nil
}

func (f *interleaving) unscopedQuery(_ *rand.Rand, _ *taruvi.Tenant) error {
	_, err := f.db.Pool().Exec(context.Background(), `SELECT * FROM items`)
	if pgCode(err) != "42P01" {
		return fmt.Errorf("got %v, want relation does not exist (42P01)", err)
	}
	return nil
}

// scopeRows returns a callback that reads rows of (id, tenant,
// current_schema(), current_user) and checks that each is tenant's, in its
// scope; n gets their number.
func (f *interleaving) scopeRows(tenant *taruvi.Tenant, n *int) func(pgx.Rows) error {
	return func(rows pgx.Rows) error {
		var id int
		var owner, schema, role string
		_, err := pgx.ForEachRow(rows, []any{&id, &owner, &schema, &role}, func() error {
			*n++
			if owner != tenant.Schema {
				f.crossRows.Add(1)
				return fmt.Errorf("row %d of %q read as %s", id, owner, tenant.Schema)
			}
			if schema != tenant.Schema || role != tenant.Role {
				return fmt.Errorf("scope is schema %q role %q, want %q %q", schema, role, tenant.Schema, tenant.Role)
			}
			return nil
		})
		return err
	}
}

func (f *interleaving) pipelinedReadAll(r *rand.Rand, tenant *taruvi.Tenant) error {
	n := 0
	b := &pgx.Batch{}
	b.Queue(`SELECT id, tenant, current_schema(), current_user FROM items`).Query(f.scopeRows(tenant, &n))
	var opts []postgres.TxOption
	if r.IntN(2) == 0 {
		opts = append(opts, postgres.AsyncCommit())
	}
	if err := f.db.InTenant(f.ctx(tenant), nil, append(opts, postgres.Pipelined(b))...); err != nil {
		return err
	}
	if n < seedRows {
		return fmt.Errorf("read %d rows, want at least %d", n, seedRows)
	}
	return nil
}

func (f *interleaving) pipelinedReadOtherSchema(r *rand.Rand, tenant *taruvi.Tenant) error {
	other := f.other(r, tenant)
	b := &pgx.Batch{}
	b.Queue(`SELECT * FROM ` + pgx.Identifier{other.Schema, "items"}.Sanitize())
	if err := f.db.InTenant(f.ctx(tenant), nil, postgres.Pipelined(b)); pgCode(err) != "42501" {
		return fmt.Errorf("reading %s.items pipelined: got %v, want permission denied", other.Schema, err)
	}
	return f.pipelinedReadAll(r, tenant)
}

// pipelinedFailure: a unit whose second statement fails, by a division by
// zero or a unique violation, commits nothing of its first.
func (f *interleaving) pipelinedFailure(r *rand.Rand, tenant *taruvi.Tenant) error {
	id := f.ids.Add(1)
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO items VALUES ($1, $2)`, id, tenant.Schema)
	want := "22012"
	if r.IntN(2) == 0 {
		b.Queue(`SELECT count(*) / 0 FROM items`)
	} else {
		b.Queue(`INSERT INTO items VALUES ($1, 'intruder')`, 1+r.IntN(seedRows))
		want = "23505"
	}
	b.Queue(`SELECT 1`)
	if err := f.db.InTenant(f.ctx(tenant), nil, postgres.Pipelined(b)); pgCode(err) != want {
		return fmt.Errorf("got %v, want %s", err, want)
	}
	if owner, err := f.owner(tenant, id); err != nil || owner != "" {
		return fmt.Errorf("row %d of a failed unit: owner %q, err %v", id, owner, err)
	}
	return f.pipelinedReadAll(r, tenant) // no 'intruder' row either
}

var errCallbackFailed = errors.New("the callback failed")

// pipelinedCallbackError: a callback's error is returned; the unit's
// statements committed before the callbacks ran.
func (f *interleaving) pipelinedCallbackError(_ *rand.Rand, tenant *taruvi.Tenant) error {
	id := f.ids.Add(1)
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO items VALUES ($1, $2)`, id, tenant.Schema).Exec(func(pgconn.CommandTag) error { return errCallbackFailed })
	b.Queue(`SELECT 1`)
	if err := f.db.InTenant(f.ctx(tenant), nil, postgres.Pipelined(b)); !errors.Is(err, errCallbackFailed) {
		return fmt.Errorf("got %v, want the callback's error", err)
	}
	if err := f.checkPool(); err != nil {
		return fmt.Errorf("after a callback's error: %w", err)
	}
	if owner, err := f.owner(tenant, id); err != nil || owner != tenant.Schema {
		return fmt.Errorf("row %d of a committed unit: owner %q, err %v", id, owner, err)
	}
	return nil
}

// pipelinedPanic: a panic in a callback reaches the caller, and the
// connection, its pipeline unread, is not given back to the pool.
func (f *interleaving) pipelinedPanic(r *rand.Rand, tenant *taruvi.Tenant) error {
	id := f.ids.Add(1)
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		b := &pgx.Batch{}
		b.Queue(`SELECT 1`).Exec(func(pgconn.CommandTag) error { panic(sentinel{id}) })
		b.Queue(`INSERT INTO items VALUES ($1, $2)`, id, tenant.Schema)
		_ = f.db.InTenant(f.ctx(tenant), nil, postgres.Pipelined(b))
	}()
	if recovered != (sentinel{id}) {
		return fmt.Errorf("recovered %v, want the callback's panic", recovered)
	}
	if err := f.checkPool(); err != nil {
		return fmt.Errorf("after a panic: %w", err)
	}
	return f.pipelinedReadAll(r, tenant)
}

func (f *interleaving) pipelinedCancel(r *rand.Rand, tenant *taruvi.Tenant) error {
	ctx, cancel := context.WithTimeout(f.ctx(tenant), time.Duration(2+r.IntN(20))*time.Millisecond)
	defer cancel()
	id := f.ids.Add(1)
	start := time.Now()
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO items VALUES ($1, $2)`, id, tenant.Schema)
	b.Queue(`SELECT pg_sleep(0.3)`)
	err := f.db.InTenant(ctx, nil, postgres.Pipelined(b))
	if !errors.Is(err, context.DeadlineExceeded) && !pgconn.Timeout(err) {
		return fmt.Errorf("got %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		return fmt.Errorf("cancelled unit returned after %v", d)
	}
	if err := f.checkPool(); err != nil {
		return fmt.Errorf("after a cancellation: %w", err)
	}
	// A unit is sent whole, its commit included, so a cancellation is a
	// request to the server that may come too late or between two of its
	// messages (where PostgreSQL ignores it): the unit then commits, whole,
	// as a COMMIT in flight may when its caller gives up. What must hold
	// is that it is never half done and never another tenant's: its row
	// is absent, or present as this tenant's.
	time.Sleep(350 * time.Millisecond)
	if owner, err := f.owner(tenant, id); err != nil || (owner != "" && owner != tenant.Schema) {
		return fmt.Errorf("row %d of a cancelled unit: owner %q, err %v", id, owner, err)
	}
	return nil
}

func (f *interleaving) pipelinedWriteReadBack(r *rand.Rand, tenant *taruvi.Tenant) error {
	id := f.ids.Add(1)
	n := 0
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO items VALUES ($1, $2)`, id, tenant.Schema)
	b.Queue(`SELECT id, tenant, current_schema(), current_user FROM items WHERE id = $1`, id).Query(f.scopeRows(tenant, &n))
	opts := []postgres.TxOption{postgres.Pipelined(b)}
	if r.IntN(2) == 0 {
		opts = append(opts, postgres.AsyncCommit())
	}
	if err := f.db.InTenant(f.ctx(tenant), nil, opts...); err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("row %d read back in its unit %d times, want once", id, n)
	}
	if owner, err := f.owner(tenant, id); err != nil || owner != tenant.Schema {
		return fmt.Errorf("row %d read back: owner %q, err %v", id, owner, err)
	}
	other := f.other(r, tenant)
	if owner, err := f.owner(other, id); err != nil || owner != "" {
		return fmt.Errorf("row %d read by %s: owner %q, err %v", id, other.Schema, owner, err)
	}
	return nil
}
