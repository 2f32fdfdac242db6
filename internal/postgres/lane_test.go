package postgres_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
)

// TestLanes: a tenant's scopes run on its home lane; when that lane is
// full they wait for it, also while another lane is idle, and run on an
// idle lane only once the home lane has given no connection back for
// LaneStuckAfter.
func TestLanes(t *testing.T) {
	t.Parallel()
	const stuckAfter = time.Second
	db := postgrestest.Open(t, postgres.Options{MaxConns: 8, LaneStuckAfter: stuckAfter})
	ctx, _ := postgrestest.TenantContext(t, db)
	lanes := db.Pools()[1:]
	if len(lanes) != 4 {
		t.Fatalf("%d lanes with a pool of 8, want 4", len(lanes))
	}
	backend := func(ctx context.Context) (int32, error) {
		var pid int32
		err := db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid)
		})
		return pid, err
	}
	// pids returns the backends of lane's connections, acquiring and
	// releasing each.
	pids := func(lane *pgxpool.Pool) []int32 {
		var out []int32
		var held []*pgxpool.Conn
		for range lane.Stat().TotalConns() {
			c, err := lane.Acquire(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, c)
			out = append(out, int32(c.Conn().PgConn().PID()))
		}
		for _, c := range held {
			c.Release()
		}
		return out
	}
	// hold acquires n connections of lane; the returned func releases
	// them, and so does the test's end (the pool's Close waits for them).
	hold := func(lane *pgxpool.Pool, n int) func() {
		var held []*pgxpool.Conn
		release := func() {
			for _, c := range held {
				c.Release()
			}
			held = nil
		}
		t.Cleanup(release)
		for range n {
			c, err := lane.Acquire(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, c)
		}
		return release
	}

	first, err := backend(ctx)
	if err != nil {
		t.Fatal(err)
	}
	home := -1
	for i, lane := range lanes {
		if slices.Contains(pids(lane), first) {
			home = i
		}
	}
	if home < 0 {
		t.Fatalf("the tenant's scope ran on backend %d, on no lane", first)
	}
	for range 5 {
		if pid, err := backend(ctx); err != nil || !slices.Contains(pids(lanes[home]), pid) {
			t.Fatalf("a later scope ran on backend %d (%v), not on the home lane", pid, err)
		}
	}

	// Home full, every other lane busy: the scope waits for home.
	releaseHome := hold(lanes[home], 2)
	releaseOthers := map[int]func(){}
	for i, lane := range lanes {
		if i != home {
			releaseOthers[i] = hold(lane, 1)
		}
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = backend(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("with its lane full and the others busy, the scope got %v, want it to wait (deadline exceeded)", err)
	}
	done := make(chan int32, 1)
	go func() {
		pid, err := backend(ctx)
		if err != nil {
			t.Error(err)
		}
		done <- pid
	}()
	time.Sleep(50 * time.Millisecond)
	releaseHome()
	if pid := <-done; !slices.Contains(pids(lanes[home]), pid) {
		t.Errorf("the waiting scope ran on backend %d, not on its home lane", pid)
	}

	// Home full, one other lane idle: the scope waits for home while home
	// gives connections back, and runs on the idle lane once home is stuck.
	releaseHome = hold(lanes[home], 2)
	idle := (home + 1) % len(lanes)
	releaseOthers[idle]()
	delete(releaseOthers, idle)
	short, cancel = context.WithTimeout(ctx, 200*time.Millisecond)
	_, err = backend(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("with its lane full but busy a moment ago, the scope got %v, want it to wait (deadline exceeded)", err)
	}
	time.Sleep(stuckAfter)
	pid, err := backend(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pids(lanes[idle]), pid) {
		t.Errorf("with its lane full and lane %d idle, the scope ran on backend %d, not there", idle, pid)
	}
	releaseHome()
	for _, release := range releaseOthers {
		release()
	}
}
