package postgres_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
)

// deleteTenantAtCleanup suspends and deletes the tenant when the test ends.
func deleteTenantAtCleanup(t *testing.T, s *postgres.Tenants, schema string) {
	t.Cleanup(func() {
		ctx := context.Background()
		if err := s.SetTenantStatus(ctx, schema, taruvi.TenantSuspended); err != nil && taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
			t.Errorf("suspend %s: %v", schema, err)
		}
		if err := s.DeleteTenant(ctx, schema); err != nil && taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
			t.Errorf("delete %s: %v", schema, err)
		}
	})
}

func TestCreateTenantProvisionsEverything(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	s := postgres.NewTenants(db)
	ctx := context.Background()
	schema := postgrestest.SchemaName()
	domain := schema + ".example.com"
	deleteTenantAtCleanup(t, s, schema)
	tenant, err := s.CreateTenant(ctx, taruvi.TenantCreate{Schema: schema, Name: "  Acme Inc. ", Domain: strings.ToUpper(domain) + ":8000"})
	if err != nil {
		t.Fatal(err)
	}
	prefix := rolePrefix(t, db)
	want := taruvi.Tenant{
		ID: tenant.ID, Name: "Acme Inc.", Schema: schema, Role: prefix + "_" + schema,
		Status: taruvi.TenantActive, SchemaVersion: db.TenantVersion(),
		CreatedAt: tenant.CreatedAt, UpdatedAt: tenant.UpdatedAt,
		Domains: []taruvi.Domain{{Domain: domain, Schema: schema, Primary: true}},
	}
	if fmt.Sprint(*tenant) != fmt.Sprint(want) || tenant.ID == 0 || tenant.CreatedAt.IsZero() {
		t.Fatalf("created tenant\n got %+v\nwant %+v", *tenant, want)
	}
	if db.TenantVersion() < 1 {
		t.Fatalf("TenantVersion() = %d, want the embedded set", db.TenantVersion())
	}

	var login, super, createRole, createDB, bypassRLS, inGroup, publicUsage bool
	var owner string
	err = db.Pool().QueryRow(ctx, `SELECT r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls,
		EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid AND g.rolname = $2),
		has_schema_privilege(r.oid, 'public', 'USAGE'),
		(SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $3)
		FROM pg_roles r WHERE r.rolname = $1`, tenant.Role, prefix+"_tenants", schema).
		Scan(&login, &super, &createRole, &createDB, &bypassRLS, &inGroup, &publicUsage, &owner)
	if err != nil {
		t.Fatalf("read role %s: %v", tenant.Role, err)
	}
	if login || super || createRole || createDB || bypassRLS {
		t.Errorf("role %s: login=%v super=%v createrole=%v createdb=%v bypassrls=%v; want all false", tenant.Role, login, super, createRole, createDB, bypassRLS)
	}
	if !inGroup {
		t.Errorf("role %s is not a member of %s_tenants", tenant.Role, prefix)
	}
	if publicUsage {
		t.Errorf("role %s may use schema public", tenant.Role)
	}
	if owner != tenant.Role {
		t.Errorf("schema %s is owned by %q, want %q", schema, owner, tenant.Role)
	}
	if n := catalogCount(t, db, `SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = 'settings' AND tableowner = $2`, schema, tenant.Role); n != 1 {
		t.Errorf("settings tables owned by the tenant role in %s: %d, want 1", schema, n)
	}
	// Every app's versions run 1..n without gaps, and they add up to the
	// tenant version.
	var gaps, total int
	q := `SELECT count(*) FILTER (WHERE version <> rn), count(*) FROM (SELECT version,
		row_number() OVER (PARTITION BY app ORDER BY version) AS rn FROM ` + pgx.Identifier{schema, "taruvi_migrations"}.Sanitize() + `) v`
	if err := db.Pool().QueryRow(ctx, q).Scan(&gaps, &total); err != nil {
		t.Fatal(err)
	}
	if gaps != 0 || total != db.TenantVersion() {
		t.Errorf("%s.taruvi_migrations: %d versions out of sequence, %d in all; want 0 and %d", schema, gaps, total, db.TenantVersion())
	}
	if recorded, applied := tenantVersion(t, db, schema); recorded != db.TenantVersion() || applied != recorded {
		t.Errorf("version recorded %d, applied %d; want %d", recorded, applied, db.TenantVersion())
	}

	found, err := s.FindTenant(ctx, schema)
	if err != nil || fmt.Sprint(*found) != fmt.Sprint(*tenant) {
		t.Errorf("FindTenant = %+v, %v; want %+v", found, err, tenant)
	}
	byDomain, err := s.FindTenantByDomain(ctx, domain)
	if err != nil || byDomain.ID != tenant.ID {
		t.Errorf("FindTenantByDomain(%s) = %+v, %v; want tenant %d", domain, byDomain, err, tenant.ID)
	}
	all, err := s.ListTenants(ctx)
	if err != nil || !slices.ContainsFunc(all, func(x *taruvi.Tenant) bool { return fmt.Sprint(*x) == fmt.Sprint(*tenant) }) {
		t.Errorf("ListTenants (err %v) does not hold %+v", err, tenant)
	}
}

// TestCreateTenantLongSchemaNames: a 63-character schema passes the
// 63-byte limit once prefixed; its role name is shortened, and two such
// names that differ only at the end still get roles of their own.
func TestCreateTenantLongSchemaNames(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	s := postgres.NewTenants(db)
	stem := postgrestest.SchemaName()
	stem += strings.Repeat("x", 62-len(stem))
	var roles []string
	for _, schema := range []string{stem + "a", stem + "b"} {
		deleteTenantAtCleanup(t, s, schema)
		tenant, err := s.CreateTenant(context.Background(), taruvi.TenantCreate{Schema: schema})
		if err != nil {
			t.Fatalf("create %s: %v", schema, err)
		}
		if tenant.Schema != schema || tenant.Name != schema || len(tenant.Role) > 63 {
			t.Fatalf("created %+v", tenant)
		}
		if n := catalogCount(t, db, `SELECT count(*) FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner
			WHERE n.nspname = $1 AND r.rolname = $2`, schema, tenant.Role); n != 1 {
			t.Fatalf("schema %s owned by %s: %d found", schema, tenant.Role, n)
		}
		roles = append(roles, tenant.Role)
	}
	if roles[0] == roles[1] {
		t.Fatalf("two tenants share role %s", roles[0])
	}
}

// snapshot lists what a tenant can leave behind in db: schemas, roles of
// the installation, tenant rows and domains.
func snapshot(t *testing.T, db *postgres.DB) string {
	t.Helper()
	var out string
	err := db.Pool().QueryRow(context.Background(), `SELECT concat_ws(E'\n',
		(SELECT string_agg(nspname, ' ' ORDER BY nspname) FROM pg_namespace),
		(SELECT string_agg(rolname, ' ' ORDER BY rolname) FROM pg_roles
			WHERE starts_with(rolname, (SELECT role_prefix FROM public.taruvi_install))),
		(SELECT string_agg(schema_name || '/' || schema_version, ' ' ORDER BY schema_name) FROM public.tenants),
		(SELECT string_agg(domain, ' ' ORDER BY domain) FROM public.domains))`).Scan(&out)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCreateTenantBadInputLeavesNothing: each bad request fails with a
// clear error of the right code and leaves no schema, role, tenant row or
// domain behind.
func TestCreateTenantBadInputLeavesNothing(t *testing.T) {
	t.Parallel()
	_, db := openScratch(t, postgres.Options{})
	s := postgres.NewTenants(db)
	ctx := context.Background()
	prefix := rolePrefix(t, db)
	taken, err := s.CreateTenant(ctx, taruvi.TenantCreate{Schema: "taken", Domain: "taken.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	// A schema and a role that are not a tenant's, but in the way of one.
	_, err = db.Pool().Exec(ctx, `CREATE SCHEMA squatted; CREATE ROLE `+pgx.Identifier{prefix + "_rolesquat"}.Sanitize()+` NOLOGIN`)
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, db)

	tests := []struct {
		name        string
		in          taruvi.TenantCreate
		code        string
		preexisting bool // the schema exists, but not through this call
	}{
		{name: "empty", in: taruvi.TenantCreate{Schema: ""}, code: taruvi.EINVALID},
		{name: "upper case", in: taruvi.TenantCreate{Schema: "A"}, code: taruvi.EINVALID},
		{name: "mixed case", in: taruvi.TenantCreate{Schema: "Acme"}, code: taruvi.EINVALID},
		{name: "digit first", in: taruvi.TenantCreate{Schema: "1abc"}, code: taruvi.EINVALID},
		{name: "underscore first", in: taruvi.TenantCreate{Schema: "_abc"}, code: taruvi.EINVALID},
		{name: "one character", in: taruvi.TenantCreate{Schema: "a"}, code: taruvi.EINVALID},
		{name: "hyphen", in: taruvi.TenantCreate{Schema: "ab-c"}, code: taruvi.EINVALID},
		{name: "quote", in: taruvi.TenantCreate{Schema: `ab"; DROP SCHEMA taken CASCADE; --`}, code: taruvi.EINVALID},
		{name: "64 characters", in: taruvi.TenantCreate{Schema: strings.Repeat("a", 64)}, code: taruvi.EINVALID},
		{name: "pg prefix", in: taruvi.TenantCreate{Schema: "pg_x"}, code: taruvi.EINVALID},
		{name: "public", in: taruvi.TenantCreate{Schema: "public"}, code: taruvi.EINVALID, preexisting: true},
		{name: "river", in: taruvi.TenantCreate{Schema: "river"}, code: taruvi.EINVALID},
		{name: "information_schema", in: taruvi.TenantCreate{Schema: "information_schema"}, code: taruvi.EINVALID, preexisting: true},
		{name: "keyword select", in: taruvi.TenantCreate{Schema: "select"}, code: taruvi.EINVALID},
		{name: "keyword user", in: taruvi.TenantCreate{Schema: "user"}, code: taruvi.EINVALID},
		{name: "name too long", in: taruvi.TenantCreate{Schema: "longname", Name: strings.Repeat("n", 201)}, code: taruvi.EINVALID},
		{name: "duplicate schema", in: taruvi.TenantCreate{Schema: "taken"}, code: taruvi.ECONFLICT, preexisting: true},
		{name: "schema of someone else", in: taruvi.TenantCreate{Schema: "squatted"}, code: taruvi.ECONFLICT, preexisting: true},
		{name: "role of someone else", in: taruvi.TenantCreate{Schema: "rolesquat"}, code: taruvi.ECONFLICT},
		{name: "duplicate domain", in: taruvi.TenantCreate{Schema: "second", Domain: "taken.example.com"}, code: taruvi.ECONFLICT},
		{name: "duplicate domain, other spelling", in: taruvi.TenantCreate{Schema: "third", Domain: "Taken.Example.COM.:8000"}, code: taruvi.ECONFLICT},
		{name: "domain with space", in: taruvi.TenantCreate{Schema: "fourth", Domain: "bad domain.com"}, code: taruvi.EINVALID},
		{name: "domain label hyphen first", in: taruvi.TenantCreate{Schema: "fifth", Domain: "-acme.com"}, code: taruvi.EINVALID},
		{name: "domain empty label", in: taruvi.TenantCreate{Schema: "sixth", Domain: "acme..com"}, code: taruvi.EINVALID},
		{name: "domain label hyphen last", in: taruvi.TenantCreate{Schema: "seventh", Domain: "acme-.com"}, code: taruvi.EINVALID},
		{name: "domain with path", in: taruvi.TenantCreate{Schema: "eighth", Domain: "acme.com/x"}, code: taruvi.EINVALID},
		{name: "domain label of 64", in: taruvi.TenantCreate{Schema: "ninth", Domain: strings.Repeat("a", 64) + ".com"}, code: taruvi.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tenant, err := s.CreateTenant(ctx, tt.in)
			if taruvi.ErrorCode(err) != tt.code || tenant != nil {
				t.Fatalf("CreateTenant(%+v) = %v, %v; want code %s", tt.in, tenant, err, tt.code)
			}
			msg := taruvi.ErrorMessage(err)
			if msg == "" || msg == "Internal error." || !strings.HasSuffix(msg, ".") {
				t.Errorf("message %q is not a clear sentence", msg)
			}
			if tt.code == taruvi.EINVALID && tt.in.Name == "" && !strings.Contains(msg, fmt.Sprintf("%q", tt.in.Schema)) && !strings.Contains(msg, fmt.Sprintf("%q", tt.in.Domain)) {
				t.Errorf("message %q names neither the schema nor the domain", msg)
			}
			if tt.preexisting {
				return
			}
			schemas, roles, rows := leftovers(t, db, tt.in.Schema, prefix+"_"+tt.in.Schema)
			if schemas != 0 || rows != 0 || (roles != 0 && tt.in.Schema != "rolesquat") {
				t.Errorf("left behind: %d schemas, %d roles, %d tenant rows", schemas, roles, rows)
			}
		})
	}
	t.Cleanup(func() {
		if after := snapshot(t, db); after != before {
			t.Errorf("bad input changed the database\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if found, err := s.FindTenant(ctx, "taken"); err != nil || found.ID != taken.ID || len(found.Domains) != 1 {
			t.Errorf("tenant taken after the failures: %+v, %v", found, err)
		}
	})
}

// TestCreateTenantRace: of concurrent creations of one schema, exactly one
// wins and the others get a conflict.
func TestCreateTenantRace(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	s := postgres.NewTenants(db)
	schema := postgrestest.SchemaName()
	deleteTenantAtCleanup(t, s, schema)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = s.CreateTenant(context.Background(), taruvi.TenantCreate{Schema: schema, Domain: schema + ".example.com"})
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch taruvi.ErrorCode(err) {
		case "":
			won++
		case taruvi.ECONFLICT:
		default:
			t.Errorf("concurrent create: %v, want success or a conflict", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent creations won, want 1", won, len(errs))
	}
}

func TestTenantsUnknownTenant(t *testing.T) {
	t.Parallel()
	s := postgres.NewTenants(postgrestest.DB(t))
	ctx := context.Background()
	schema := postgrestest.SchemaName() // valid, never created
	calls := map[string]func() error{
		"FindTenant":         func() error { _, err := s.FindTenant(ctx, schema); return err },
		"FindTenantByDomain": func() error { _, err := s.FindTenantByDomain(ctx, schema+".example.com"); return err },
		"SetTenantStatus":    func() error { return s.SetTenantStatus(ctx, schema, taruvi.TenantSuspended) },
		"DeleteTenant":       func() error { return s.DeleteTenant(ctx, schema) },
		"AddDomain":          func() error { return s.AddDomain(ctx, schema, schema+".example.com", true) },
		"RemoveDomain":       func() error { return s.RemoveDomain(ctx, schema+".example.com") },
		"FindTenant invalid": func() error { _, err := s.FindTenant(ctx, "Not A Schema'"); return err },
	}
	for name, call := range calls {
		if err := call(); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
			t.Errorf("%s of an unknown tenant: %v, want %s", name, err, taruvi.ENOTFOUND)
		}
	}
	if n := catalogCount(t, postgrestest.DB(t), `SELECT count(*) FROM public.domains WHERE domain = $1`, schema+".example.com"); n != 0 {
		t.Errorf("AddDomain of an unknown tenant left %d domains", n)
	}
}

func TestSuspendResumeDeleteTenant(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	s := postgres.NewTenants(db)
	ctx := context.Background()
	tenant := postgrestest.NewTenant(t, db)
	if err := s.AddDomain(ctx, tenant.Schema, tenant.Schema+".example.com", true); err != nil {
		t.Fatal(err)
	}
	status := func() string {
		t.Helper()
		found, err := s.FindTenant(ctx, tenant.Schema)
		if err != nil {
			t.Fatal(err)
		}
		return found.Status
	}

	if err := s.DeleteTenant(ctx, tenant.Schema); taruvi.ErrorCode(err) != taruvi.ECONFLICT {
		t.Fatalf("delete of an active tenant: %v, want %s", err, taruvi.ECONFLICT)
	}
	if schemas, roles, rows := leftovers(t, db, tenant.Schema, tenant.Role); schemas+roles+rows != 3 {
		t.Fatalf("refused delete removed something: %d schemas, %d roles, %d rows", schemas, roles, rows)
	}
	if err := s.SetTenantStatus(ctx, tenant.Schema, "deleted"); taruvi.ErrorCode(err) != taruvi.EINVALID {
		t.Fatalf("status deleted: %v, want %s", err, taruvi.EINVALID)
	}
	for _, st := range []string{taruvi.TenantSuspended, taruvi.TenantActive, taruvi.TenantSuspended} {
		if err := s.SetTenantStatus(ctx, tenant.Schema, st); err != nil {
			t.Fatal(err)
		}
		if got := status(); got != st {
			t.Fatalf("status %q after setting %q", got, st)
		}
	}
	if err := s.DeleteTenant(ctx, tenant.Schema); err != nil {
		t.Fatal(err)
	}
	if schemas, roles, rows := leftovers(t, db, tenant.Schema, tenant.Role); schemas+roles+rows != 0 {
		t.Fatalf("after delete: %d schemas, %d roles, %d rows", schemas, roles, rows)
	}
	if n := catalogCount(t, db, `SELECT count(*) FROM public.domains WHERE domain = $1`, tenant.Schema+".example.com"); n != 0 {
		t.Fatalf("after delete: %d domains", n)
	}
	if err := s.DeleteTenant(ctx, tenant.Schema); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		t.Fatalf("second delete: %v, want %s", err, taruvi.ENOTFOUND)
	}
}

func TestTenantDomains(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	s := postgres.NewTenants(db)
	ctx := context.Background()
	a, b := postgrestest.NewTenant(t, db), postgrestest.NewTenant(t, db)
	d1, d2, d3 := a.Schema+".example.com", "www."+a.Schema+".example.com", a.Schema+".example.org"
	domains := func() string {
		t.Helper()
		found, err := s.FindTenant(ctx, a.Schema)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range found.Domains {
			if d.Schema != a.Schema {
				t.Errorf("domain %s of %s says schema %s", d.Domain, a.Schema, d.Schema)
			}
			out = append(out, fmt.Sprintf("%s:%v", d.Domain, d.Primary))
		}
		return strings.Join(out, " ")
	}
	steps := []struct {
		do   func() error
		want string
	}{
		{func() error { return s.AddDomain(ctx, a.Schema, strings.ToUpper(d1)+".:8000", true) }, d1 + ":true"},
		{func() error { return s.AddDomain(ctx, a.Schema, d2, false) }, d1 + ":true " + d2 + ":false"},
		{func() error { return s.AddDomain(ctx, a.Schema, d3, true) }, d3 + ":true " + d1 + ":false " + d2 + ":false"},
		{func() error { return s.RemoveDomain(ctx, d3) }, d1 + ":false " + d2 + ":false"},
		{func() error { return s.AddDomain(ctx, a.Schema, d1+"x", true) }, d1 + "x:true " + d1 + ":false " + d2 + ":false"},
		{func() error { return s.RemoveDomain(ctx, strings.ToUpper(d1)+"X") }, d1 + ":false " + d2 + ":false"},
	}
	for i, step := range steps {
		if err := step.do(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := domains(); got != step.want {
			t.Fatalf("step %d: domains %q, want %q", i, got, step.want)
		}
	}
	if err := s.AddDomain(ctx, b.Schema, d2, true); taruvi.ErrorCode(err) != taruvi.ECONFLICT {
		t.Errorf("taking another tenant's domain: %v, want %s", err, taruvi.ECONFLICT)
	}
	if err := s.AddDomain(ctx, b.Schema, "bad domain", false); taruvi.ErrorCode(err) != taruvi.EINVALID {
		t.Errorf("invalid domain: %v, want %s", err, taruvi.EINVALID)
	}
	if found, err := s.FindTenantByDomain(ctx, d2); err != nil || found.Schema != a.Schema {
		t.Errorf("FindTenantByDomain(%s) = %+v, %v; want %s", d2, found, err, a.Schema)
	}
	if found, err := s.FindTenant(ctx, b.Schema); err != nil || len(found.Domains) != 0 {
		t.Errorf("tenant b after failed additions: %+v, %v; want no domains", found, err)
	}
	if got := domains(); got != d1+":false "+d2+":false" {
		t.Errorf("domains of a after b's attempts: %q", got)
	}
}

// TestOpenDatabaseDown: a database that does not answer fails Open at once,
// with an error that says where it looked.
func TestOpenDatabaseDown(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // now nothing listens on addr
	start := time.Now()
	db, err := postgres.Open(context.Background(), "postgres://taruvi:secret@"+addr+"/taruvi?sslmode=disable", postgres.Options{})
	if err == nil {
		db.Close()
		t.Fatalf("Open on %s succeeded", addr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Open took %v to fail", d)
	}
	if !strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q should name %s and not the password", err, addr)
	}
}

// TestPlatformHistoryNamesActor: every change a platform admin makes to
// tenants and domains lands in the platform history with the admin's id
// and the request id, as tenant history does; the command line (no
// principal) records none; the tenant's own history gets no platform actor.
func TestPlatformHistoryNamesActor(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	s := postgres.NewTenants(db)
	schema := postgrestest.SchemaName()
	deleteTenantAtCleanup(t, s, schema)
	const adminID, requestID = int64(424242), "req-actor-1"
	ctx := taruvi.NewContextWithRequestID(taruvi.NewContextWithPrincipal(context.Background(),
		&taruvi.Principal{UserID: adminID, IsOwner: true}), requestID)

	tenant, err := s.CreateTenant(ctx, taruvi.TenantCreate{Schema: schema, Domain: schema + ".example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddDomain(ctx, schema, schema+".example.org", false); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveDomain(ctx, schema+".example.org"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetTenantStatus(ctx, schema, taruvi.TenantSuspended); err != nil {
		t.Fatal(err)
	}
	if err := s.SetTenantStatus(context.Background(), schema, taruvi.TenantActive); err != nil {
		t.Fatal(err)
	}
	var tenantActors int
	if err := db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM `+pgx.Identifier{schema, "history"}.Sanitize()+
		` WHERE actor_id IS NOT NULL`).Scan(&tenantActors); err != nil {
		t.Fatal(err)
	}
	if tenantActors != 0 {
		t.Errorf("%d entries of the tenant's own history name the platform admin", tenantActors)
	}
	if err := s.SetTenantStatus(ctx, schema, taruvi.TenantSuspended); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTenant(ctx, schema); err != nil {
		t.Fatal(err)
	}

	rows, _ := db.Pool().Query(context.Background(), `SELECT object_type || ' ' || action || ' ' ||
			coalesce(actor_id::text, '-') || ' ' || coalesce(request_id, '-')
		FROM public.history WHERE (object_type = 'tenant' AND object_id = $1) OR (object_type = 'domain' AND object_id LIKE $2)
		ORDER BY id`, fmt.Sprint(tenant.ID), schema+".example.%")
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	by := fmt.Sprintf(" %d %s", adminID, requestID)
	want := []string{
		"tenant create" + by, "domain create" + by, // provisioned with its first domain
		"domain create" + by, "domain delete" + by, // a second domain, added and removed
		"tenant update" + by, "tenant update - -", // suspended by the admin, resumed from the command line
		"tenant update" + by, "tenant delete" + by, "domain delete" + by, // suspended and deleted, its domain with it
	}
	if !slices.Equal(got, want) {
		t.Errorf("platform history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
