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

// TestInterleavedTenantsNeverMix runs thousands of random units of work for
// three tenants with identical tables and ids, concurrently, on pools of one
// and of two connections: reads, failing statements, panics, cancelled
// queries, savepoint rollbacks and writes. No tenant may ever see another
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
	err := f.db.Pool().QueryRow(context.Background(), `SELECT current_setting('search_path'), current_user`).Scan(&path, &user)
	if err == nil && (path != "pg_catalog" || user != f.user) {
		err = fmt.Errorf("pooled connection has search_path %q, user %q", path, user)
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
