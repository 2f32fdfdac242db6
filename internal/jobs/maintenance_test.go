package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/jobs"
	"taruvi/internal/postgres/postgrestest"
)

// count runs a count query in the tenant of ctx.
func (f *fixture) count(t *testing.T, ctx context.Context, sql string) int {
	t.Helper()
	var n int
	if err := f.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error { return tx.QueryRow(ctx, sql).Scan(&n) }); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) putBlob(t *testing.T, key string) {
	t.Helper()
	if _, err := f.blobs.Put(context.Background(), key, strings.NewReader("content"), -1, "text/plain"); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) blobExists(key string) bool {
	rc, _, err := f.blobs.Get(context.Background(), key)
	if err == nil {
		rc.Close()
	}
	return err == nil
}

// TestMaintenance: one maintenance job purges expired sessions (with
// their refresh tokens) and API keys and old history in every tenant (fanned out), the
// blobs of cascade-deleted files and of deleted tenants, and keeps what is
// still current. The fanned-out jobs record their tenant's id.
func TestMaintenance(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, tenant := postgrestest.TenantContext(t, f.db)
	gone := postgrestest.NewTenant(t, f.db)
	prefix := taruvi.TenantBlobPrefix(tenant)
	orphan, kept := prefix+"files/orphan", prefix+"files/kept"
	goneKey := taruvi.TenantBlobPrefix(gone) + "files/x"
	for _, k := range []string{orphan, kept, goneKey} {
		f.putBlob(t, k)
	}
	err := f.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			INSERT INTO users (email, username) VALUES ('u@example.com', 'u');
			INSERT INTO sessions (id, user_id, expires_at) VALUES
				(gen_random_uuid(), 1, now() - interval '1 hour'), (gen_random_uuid(), 1, now() + interval '1 hour');
			INSERT INTO api_keys (user_id, name, prefix, key_hash, expires_at) VALUES
				(1, 'old', 'p1', '\x01', now() - interval '1 day'), (1, 'new', 'p2', '\x02', NULL);
			INSERT INTO history (object_type, object_id, action, created_at) VALUES
				('user', '1', 'update', now() - interval '400 days');
			INSERT INTO projects (name) VALUES ('P'), ('Q');
			INSERT INTO files (name, size, content_type, sha256, storage_key, project_id) VALUES
				('a', 7, 'text/plain', '', '`+orphan+`', 1), ('b', 7, 'text/plain', '', '`+kept+`', 2);
			DELETE FROM projects WHERE id = 1;`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	tenants := postgresTenants(f)
	if err := tenants.SetTenantStatus(context.Background(), gone.Schema, taruvi.TenantSuspended); err != nil {
		t.Fatal(err)
	}
	if err := tenants.DeleteTenant(context.Background(), gone.Schema); err != nil {
		t.Fatal(err)
	}
	c := f.client(t, jobs.WorkerScheduler, jobs.Config{HistoryRetention: 30 * 24 * time.Hour})
	if _, err := c.Enqueue(context.Background(), taruvi.MaintenanceArgs{Tick: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "tenant maintenance done", 20*time.Second, func() (bool, error) {
		var n int
		err := f.db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM river.river_job
			WHERE kind = 'tenant_maintenance' AND state = 'completed' AND args->>'tenant' = $1
				AND metadata->>'tenant' = $1 AND (metadata->>'tenant_id')::bigint = $2`, tenant.Schema, tenant.ID).Scan(&n)
		return n == 1, err
	})
	checks := []struct {
		sql  string
		want int
	}{
		{`SELECT count(*) FROM sessions`, 1},
		{`SELECT count(*) FROM api_keys`, 1},
		{`SELECT count(*) FROM history WHERE created_at < now() - interval '30 days'`, 0},
		{`SELECT count(*) FROM orphaned_blobs`, 0},
	}
	for _, c := range checks {
		if got := f.count(t, ctx, c.sql); got != c.want {
			t.Errorf("%s = %d, want %d", c.sql, got, c.want)
		}
	}
	if f.blobExists(orphan) || !f.blobExists(kept) {
		t.Errorf("orphaned blob exists %v, kept blob exists %v; want false, true", f.blobExists(orphan), f.blobExists(kept))
	}
	if f.blobExists(goneKey) {
		t.Errorf("the deleted tenant's blob is still there")
	}
}
