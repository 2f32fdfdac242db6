package admin_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/postgres/postgrestest"
)

// BenchmarkPages renders every kind of admin page over HTTP, signed in,
// with 10,000 tenants on the platform and 1,000 projects (and 3,000 tasks)
// in the tenant, and reports the p95 of each page.
//
// The 10,000 tenants are rows of public.tenants without schemas: the
// console's pages read that table only, and provisioning 10,000 schemas
// would take minutes for no difference in what is measured. The tables
// are analyzed after the bulk inserts, as autovacuum would soon do on a
// running installation, so that plans are those of a steady state.
//
//	go test -run '^$' -bench Pages -benchtime 200x ./internal/admin/
func BenchmarkPages(b *testing.B) {
	s := newStack(b)
	ctx := context.Background()
	if _, err := s.db.Pool().Exec(ctx, `INSERT INTO public.tenants (name, schema_name, role_name, schema_version, status)
		SELECT 'Bench tenant ' || i, 'bench_' || i, 'bench_role_' || i, 1, CASE WHEN i % 10 = 0 THEN 'suspended' ELSE 'active' END
		FROM generate_series(1, 10000) i;
		ANALYZE public.tenants, public.history`); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _, _ = s.db.Pool().Exec(ctx, `DELETE FROM public.tenants WHERE schema_name LIKE 'bench\_%'`) })
	tenant := postgrestest.NewTenant(b, s.db)
	tctx := taruvi.NewContextWithTenant(ctx, tenant)
	err := s.db.InTenant(tctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO projects (name, description) SELECT 'Project ' || i, 'About ' || i FROM generate_series(1, 1000) i;
			INSERT INTO tasks (project_id, title, status) SELECT p.id, 'Task ' || p.id || '-' || s, (ARRAY['todo','in_progress','done'])[s]
			FROM projects p, generate_series(1, 3) s;
			ANALYZE projects, tasks`)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	adminEmail, adminPassword := s.newUser(b, nil, false)
	ownerEmail, ownerPassword := s.newUser(b, tenant, true)
	platform, site := s.client(b), s.client(b)
	s.signIn(b, platform, "", adminEmail, adminPassword)
	s.signIn(b, site, tenant.Schema, ownerEmail, ownerPassword)

	pages := []struct {
		client *http.Client
		url    string
	}{
		{platform, s.url("", "/admin/")},
		{platform, s.url("", "/admin/tenants/")},
		{platform, s.url("", "/admin/tenants/?q=tenant+99&page=3")},
		{platform, s.url("", "/admin/tenants/?status=suspended&sort=-name&page=40")},
		{platform, s.url("", "/admin/tenants/bench_5000/")},
		{platform, s.url("", "/admin/audit/")},
		{platform, s.url("", "/admin/admins/")},
		{site, s.url(tenant.Schema, "/admin/")},
		{site, s.url(tenant.Schema, "/admin/projects/")},
		{site, s.url(tenant.Schema, "/admin/projects/?q=Project+5&sort=name&page=2")},
		{site, s.url(tenant.Schema, "/admin/projects/500/")},
		{site, s.url(tenant.Schema, "/admin/tasks/")},
		{site, s.url(tenant.Schema, "/admin/tasks/?status=done&sort=-title&page=10")},
		{site, s.url(tenant.Schema, "/admin/tasks/board/")},
		{site, s.url(tenant.Schema, "/admin/files/")},
		{site, s.url(tenant.Schema, "/admin/users/")},
		{site, s.url(tenant.Schema, "/admin/groups/")},
		{site, s.url(tenant.Schema, "/admin/grants/")},
		{site, s.url(tenant.Schema, "/admin/history/project/500/")},
		{site, s.url(tenant.Schema, "/admin/keys/")},
		{site, s.url(tenant.Schema, "/admin/branding/")},
	}
	for _, p := range pages {
		name := p.url[len("http://"):]
		b.Run(name, func(b *testing.B) {
			if status, _, _ := get(b, p.client, p.url); status != http.StatusOK && status != http.StatusNotFound {
				b.Fatalf("%s: %d", p.url, status)
			}
			times := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				resp, err := p.client.Get(p.url)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				times = append(times, time.Since(start))
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "p95-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}
