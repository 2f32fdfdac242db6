package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/admin"
	"taruvi/internal/jobs"
	"taruvi/internal/metrics"
	"taruvi/internal/modules"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
	"taruvi/internal/web"
)

// notesModule is a module defined here, as a new package would define
// it: a table (its migration) whose changes the history records, API
// routes with their operations, an admin page with its navigation link,
// a periodic job and a job kind of its own, which creating a note
// enqueues in the note's transaction. Nothing of the core
// knows it; the test adds it to the list of modules with one line.
type notesModule struct{ core modules.Core }

func newNotesModule(core modules.Core) taruvi.Module { return &notesModule{core: core} }

// note is a row of the module's table and its wire shape.
type note struct {
	ID   int64  `json:"id"`
	Body string `json:"body"`
}

// noteCreate is the body of POST /api/notes/.
type noteCreate struct {
	Body string `json:"body"`
}

func (m *notesModule) MigrationSet() taruvi.MigrationSet {
	return taruvi.MigrationSet{Name: "notes", Migrations: fstest.MapFS{
		"0001_notes.sql": {Data: []byte(`
CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text NOT NULL CHECK (body <> ''));
-- What each run of the sweep saw: the tenant of its context and the notes it could read.
CREATE TABLE note_sweeps (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tenant text NOT NULL, bodies text[] NOT NULL);
-- What each copy job saw: the tenant of its context and the note it copied.
CREATE TABLE note_copies (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tenant text NOT NULL, body text NOT NULL);
INSERT INTO permissions (codename, name) VALUES ('notes.view_note', 'Can view notes');
CREATE TRIGGER notes_history AFTER INSERT OR UPDATE OR DELETE ON notes
    FOR EACH ROW EXECUTE FUNCTION record_history('note');
`)},
	}}
}

func (m *notesModule) Parts() taruvi.ModuleParts {
	idParam := taruvi.Param{Name: "id", Kind: taruvi.KindInt, Description: "The note's id."}
	return taruvi.ModuleParts{
		Tags: []taruvi.APITag{{Name: "notes", Description: "Notes of the test module."}},
		Routes: []taruvi.Route{
			{Pattern: "GET /api/notes", Handler: m.handleList,
				Operation: taruvi.Operation{Tag: "notes", Summary: "List notes", Response: []note{}, Errors: []int{401, 404}}},
			{Pattern: "POST /api/notes", Handler: m.handleCreate,
				Operation: taruvi.Operation{Tag: "notes", Summary: "Create a note", Request: noteCreate{}, Response: note{},
					Status: http.StatusCreated, Errors: []int{400, 401, 404}}},
			{Pattern: "GET /api/notes/{id}", Handler: m.handleGet,
				Operation: taruvi.Operation{Tag: "notes", Summary: "Read a note", Path: []taruvi.Param{idParam}, Response: note{}, Errors: []int{401, 404}}},
			{Pattern: "DELETE /api/notes/{id}", Handler: m.handleDelete,
				Operation: taruvi.Operation{Tag: "notes", Summary: "Delete a note", Path: []taruvi.Param{idParam}, Errors: []int{401, 404}}},
		},
		Permissions: []taruvi.Permission{{Codename: "notes.view_note", Name: "Can view notes"}},
		AdminNav:    []taruvi.AdminNav{{Key: "notes", Label: "Notes", Href: "/admin/notes/"}},
		AdminPages: []taruvi.AdminPage{{Pattern: "GET /admin/notes", Handler: m.handlePage},
			{Pattern: "POST /admin/notes", Handler: m.handlePageCreate}},
		AdminTemplates: fstest.MapFS{"notes.html": {Data: []byte(`{{define "content"}}<h1>Notes</h1>
<ul id="notes">{{range .Notes}}<li>{{.Body}}</li>{{end}}</ul>
<form method="post" action="/admin/notes/"><input type="hidden" name="csrf" value="{{.CSRF}}"><input name="body"></form>{{end}}`)}},
		PeriodicJobs: []taruvi.PeriodicJob{{Name: "sweep", Every: time.Second, Run: m.sweep}},
		Jobs:         []taruvi.ModuleJob{{Name: "copy", Work: m.copyNote}},
		Audited:      []taruvi.AuditedTable{{Table: "notes", ObjectType: "note"}},
	}
}

// inTenant runs fn in the tenant of ctx for a signed-in caller.
func (m *notesModule) inTenant(ctx context.Context, fn postgres.TxFunc) error {
	switch {
	case taruvi.PrincipalFromContext(ctx) == nil:
		return taruvi.Errorf(taruvi.EUNAUTHORIZED, "Authentication required.")
	case taruvi.TenantFromContext(ctx) == nil:
		return taruvi.Errorf(taruvi.ENOTFOUND, "Notes exist on tenant hosts only.")
	}
	return m.core.DB.InTenant(ctx, fn)
}

func (m *notesModule) list(ctx context.Context) ([]note, error) {
	var notes []note
	err := m.inTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT id, body FROM notes ORDER BY id`)
		var err error
		notes, err = pgx.CollectRows(rows, pgx.RowToStructByPos[note])
		return err
	})
	return notes, err
}

func (m *notesModule) handleList(w http.ResponseWriter, r *http.Request) error {
	notes, err := m.list(r.Context())
	if err != nil {
		return err
	}
	web.WriteData(w, http.StatusOK, "OK", notes)
	return nil
}

func (m *notesModule) handleCreate(w http.ResponseWriter, r *http.Request) error {
	var in noteCreate
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == "" {
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid value.", Fields: map[string]string{"body": "Write something."}}
	}
	n := note{Body: in.Body}
	// The note and the job that copies it commit together.
	err := m.inTenant(r.Context(), func(ctx context.Context, tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO notes (body) VALUES ($1) RETURNING id`, in.Body).Scan(&n.ID); err != nil {
			return err
		}
		payload, _ := json.Marshal(n.ID)
		sql, args, err := postgres.JobStatement(taruvi.ModuleJobArgs{Module: "notes", Job: "copy", Payload: payload})
		if err != nil {
			return err
		}
		var jobID int64
		return tx.QueryRow(ctx, sql, args...).Scan(&jobID)
	})
	if err != nil {
		return err
	}
	web.WriteData(w, http.StatusCreated, "Created.", n)
	return nil
}

func (m *notesModule) handleGet(w http.ResponseWriter, r *http.Request) error {
	var n note
	err := m.inTenant(r.Context(), func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id, body FROM notes WHERE id = $1`, r.PathValue("id")).Scan(&n.ID, &n.Body)
	})
	if err == pgx.ErrNoRows {
		return taruvi.Errorf(taruvi.ENOTFOUND, "Note not found.")
	} else if err != nil {
		return err
	}
	web.WriteData(w, http.StatusOK, "OK", n)
	return nil
}

func (m *notesModule) handleDelete(w http.ResponseWriter, r *http.Request) error {
	var deleted int64
	err := m.inTenant(r.Context(), func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM notes WHERE id = $1`, r.PathValue("id"))
		deleted = tag.RowsAffected()
		return err
	})
	if err != nil {
		return err
	} else if deleted == 0 {
		return taruvi.Errorf(taruvi.ENOTFOUND, "Note not found.")
	}
	web.WriteData(w, http.StatusOK, "Deleted.", nil)
	return nil
}

func (m *notesModule) handlePage(w http.ResponseWriter, r *http.Request) error {
	notes, err := m.list(r.Context())
	if err != nil {
		return err
	}
	return admin.Render(w, r, http.StatusOK, "notes/notes", struct {
		admin.Page
		Notes []note
	}{admin.PageFor(r, "Notes", "notes"), notes})
}

func (m *notesModule) handlePageCreate(w http.ResponseWriter, r *http.Request) error {
	body := r.PostFormValue("body")
	err := m.inTenant(r.Context(), func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO notes (body) VALUES ($1)`, body)
		return err
	})
	if err != nil {
		return err
	}
	return admin.Redirect(w, r, "/admin/notes/", "Note added.")
}

// copyNote copies the note of the payload (its id) in the tenant of ctx,
// with that tenant's name: the job's tenant is the one that wrote it.
func (m *notesModule) copyNote(ctx context.Context, payload json.RawMessage) error {
	var id int64
	if err := json.Unmarshal(payload, &id); err != nil {
		return err
	}
	return m.core.DB.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO note_copies (tenant, body) SELECT $1, body FROM notes WHERE id = $2`,
			taruvi.TenantFromContext(ctx).Schema, id)
		return err
	})
}

// sweep records, in each tenant, which tenant its context carried and
// the notes it could read.
func (m *notesModule) sweep(ctx context.Context) error {
	return m.core.DB.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO note_sweeps (tenant, bodies)
			SELECT $1, coalesce(array_agg(body ORDER BY id), '{}') FROM notes`, taruvi.TenantFromContext(ctx).Schema)
		return err
	})
}

// TestModulePlugsIn adds a module with one line to the list the server is
// built from and uses it end to end over HTTP, in two tenants: its table
// is migrated, its routes answer and are documented, its admin page
// renders in the admin shell with its link, its periodic job runs in every
// tenant, the job a note's creation enqueues runs in the note's tenant,
// its history reads through the API; and no tenant sees or touches
// another's notes through any of them.
func TestModulePlugsIn(t *testing.T) {
	t.Parallel()
	list := append(moduleList(),
		newNotesModule, // the one line
	)
	db := postgrestest.Open(t, postgres.Options{MigrationSets: taruvi.MigrationSets(modules.Build(list, modules.Core{}))})
	a, b := postgrestest.NewTenant(t, db), postgrestest.NewTenant(t, db)
	users, _ := operatorUsers(db)
	for _, tn := range []*taruvi.Tenant{a, b} {
		ctx := taruvi.NewContextWithPrincipal(taruvi.NewContextWithTenant(context.Background(), tn),
			&taruvi.Principal{Audience: tn.Schema, IsOwner: true, IsAdmin: true})
		if _, err := users.CreateUser(ctx, taruvi.UserCreate{Email: "owner@" + tn.Schema + ".test", Password: "tenant password", IsOwner: true}); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- serveWith(ctx, serveConfig(t, nil), slog.New(slog.DiscardHandler), db, metrics.New(), func(a net.Addr) { addrs <- a },
			jobs.WorkerScheduler, list)
	}()
	var base string
	select {
	case addr := <-addrs:
		base = "http://" + addr.String()
	case err := <-errc:
		t.Fatal(err)
	}
	host := func(tn *taruvi.Tenant) string { return tn.Schema + ".localhost" }
	bearer := func(tn *taruvi.Tenant) string {
		status, _, body := request(t, "POST", base+"/api/auth/jwt/token", host(tn), "",
			`{"email":"owner@`+tn.Schema+`.test","password":"tenant password"}`)
		var env struct{ Data taruvi.TokenPair }
		if err := json.Unmarshal([]byte(body), &env); status != 200 || err != nil {
			t.Fatalf("sign in to %s: %d %s", tn.Schema, status, body)
		}
		return "Bearer " + env.Data.Access
	}
	authA, authB := bearer(a), bearer(b)
	create := func(tn *taruvi.Tenant, auth, body string) note {
		status, _, out := request(t, "POST", base+"/api/notes/", host(tn), auth, `{"body":"`+body+`"}`)
		var env struct{ Data note }
		if err := json.Unmarshal([]byte(out), &env); status != 201 || err != nil {
			t.Fatalf("create a note in %s: %d %s", tn.Schema, status, out)
		}
		return env.Data
	}
	// Ids count per tenant: A's second note has an id B has none with.
	create(a, authA, "alpha one")
	a2 := create(a, authA, "alpha two")
	create(b, authB, "bravo one")

	for _, tt := range []struct {
		name, method, path, host, auth, body string
		status                               int
		want, never                          string
	}{
		{"A lists its notes", "GET", "/api/notes/", host(a), authA, "", 200, `"alpha one"`, "bravo"},
		{"B lists its notes", "GET", "/api/notes/", host(b), authB, "", 200, `"bravo one"`, "alpha"},
		{"A reads its note", "GET", fmt.Sprintf("/api/notes/%d/", a2.ID), host(a), authA, "", 200, `"alpha two"`, "bravo"},
		{"B cannot read A's note by its id", "GET", fmt.Sprintf("/api/notes/%d/", a2.ID), host(b), authB, "", 404, `"NOT_FOUND"`, "alpha"},
		{"B cannot delete A's note by its id", "DELETE", fmt.Sprintf("/api/notes/%d/", a2.ID), host(b), authB, "", 404, `"NOT_FOUND"`, ""},
		{"B's token on A's host", "GET", "/api/notes/", host(a), authB, "", 401, `"UNAUTHORIZED"`, "alpha"},
		{"B's token creating on A's host", "POST", "/api/notes/", host(a), authB, `{"body":"intruder"}`, 401, `"UNAUTHORIZED"`, ""},
		{"no credential", "GET", "/api/notes/", host(a), "", "", 401, `"UNAUTHORIZED"`, "alpha"},
		{"an empty note", "POST", "/api/notes/", host(a), authA, `{"body":""}`, 400, `"body"`, ""},
		{"the tenant's own prefix on the platform host", "GET", "/sites/" + a.Schema + "/api/notes/", "localhost", authB, "", 401, `"UNAUTHORIZED"`, "alpha"},
		{"documented", "GET", "/api/schema/", "localhost", "", "", 200, `"/api/notes/{id}/"`, ""},
		{"its permission is the tenant's", "GET", "/api/permissions/", host(a), authA, "", 200, `"notes.view_note"`, ""},
		{"A reads its note's history", "GET", fmt.Sprintf("/api/history/?object_type=note&object_id=%d", a2.ID), host(a), authA, "", 200,
			`"object_type":"note"`, "bravo"},
		{"B cannot read the history of A's note", "GET", fmt.Sprintf("/api/history/?object_type=note&object_id=%d", a2.ID), host(b), authB, "", 404,
			`"NOT_FOUND"`, "alpha"},
	} {
		status, _, body := request(t, tt.method, base+tt.path, tt.host, tt.auth, tt.body)
		if status != tt.status || !strings.Contains(body, tt.want) || (tt.never != "" && strings.Contains(body, tt.never)) {
			t.Errorf("%s: %s %s: %d %.300s, want %d with %s and without %q", tt.name, tt.method, tt.path, status, body, tt.status, tt.want, tt.never)
		}
	}
	if status, _, body := request(t, "GET", fmt.Sprintf("%s/api/notes/%d/", base, a2.ID), host(a), authA, ""); status != 200 {
		t.Errorf("A's note after B tried to delete it: %d %s", status, body)
	}

	// The admin page, in the admin shell, for each tenant's signed-in
	// owner; a cookie of one tenant opens nothing on the other's host.
	cookieA := adminSignIn(t, base, host(a), "owner@"+a.Schema+".test", "tenant password")
	cookieB := adminSignIn(t, base, host(b), "owner@"+b.Schema+".test", "tenant password")
	page := func(tn *taruvi.Tenant, cookie string) (int, string) {
		req, _ := http.NewRequest("GET", base+"/admin/notes/", nil)
		req.Host = host(tn)
		req.Header.Set("Cookie", cookie)
		resp, err := (&http.Transport{}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	// The page's form posts through the shell: the session's CSRF token is
	// required, and a cookie of B's opens nothing on A's host.
	postPage := func(tn *taruvi.Tenant, cookie, csrf, body string) (int, string) {
		form := url.Values{"csrf": {csrf}, "body": {body}}
		req, _ := http.NewRequest("POST", base+"/admin/notes/", strings.NewReader(form.Encode()))
		req.Host = host(tn)
		req.Header.Set("Cookie", cookie)
		req.Header.Set("Origin", "http://"+host(tn))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := (&http.Transport{}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	_, pageA := page(a, cookieA)
	_, rest, _ := strings.Cut(pageA, `name="csrf" value="`)
	csrfA, _, _ := strings.Cut(rest, `"`)
	_, pageB := page(b, cookieB)
	_, rest, _ = strings.Cut(pageB, `name="csrf" value="`)
	csrfB, _, _ := strings.Cut(rest, `"`)
	if status, to := postPage(a, cookieA, csrfA, "alpha three"); status != http.StatusSeeOther || to != "/admin/notes/" {
		t.Errorf("A posts a note from the page: %d to %q, want 303 to /admin/notes/", status, to)
	}
	if status, _ := postPage(a, cookieA, "forged", "alpha forged"); status != http.StatusForbidden {
		t.Errorf("A posts with a forged CSRF token: %d, want 403", status)
	}
	if status, to := postPage(a, cookieB, csrfB, "bravo intruder"); status != http.StatusSeeOther || !strings.HasPrefix(to, "/admin/login/") {
		t.Errorf("B's cookie posts on A's host: %d to %q, want 303 to the sign-in page", status, to)
	}
	if status, body := page(a, cookieA); status != 200 || !strings.Contains(body, "<li>alpha one</li><li>alpha two</li><li>alpha three</li></ul>") ||
		strings.Contains(body, "bravo") || !strings.Contains(body, `<a href="/admin/notes/" class="on">Notes</a>`) {
		t.Errorf("A's notes page: %d %.2000s", status, body)
	}
	if status, body := page(b, cookieB); status != 200 || !strings.Contains(body, "<li>bravo one</li>") || strings.Contains(body, "alpha") {
		t.Errorf("B's notes page: %d %.2000s", status, body)
	}
	if status, body := page(a, cookieB); status != http.StatusSeeOther || strings.Contains(body, "alpha") {
		t.Errorf("B's cookie on A's notes page: %d %.500s, want 303 to the sign-in page", status, body)
	}
	if status, _ := page(a, ""); status != http.StatusSeeOther {
		t.Errorf("A's notes page signed out: %d, want 303 to the sign-in page", status)
	}

	// The periodic job runs in each tenant, with that tenant in its
	// context, and reads that tenant's notes and no other's.
	want := map[*taruvi.Tenant][]string{a: {"alpha one", "alpha two", "alpha three"}, b: {"bravo one"}}
	deadline := time.Now().Add(30 * time.Second)
	for tn, bodies := range want {
		tctx := taruvi.NewContextWithTenant(context.Background(), tn)
		for {
			var sweeps []struct {
				Tenant string
				Bodies []string
			}
			err := db.InTenant(tctx, func(ctx context.Context, tx pgx.Tx) error {
				rows, _ := tx.Query(ctx, `SELECT tenant, bodies FROM note_sweeps ORDER BY id`)
				var err error
				sweeps, err = pgx.CollectRows(rows, pgx.RowToStructByPos[struct {
					Tenant string
					Bodies []string
				}])
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range sweeps {
				if s.Tenant != tn.Schema {
					t.Fatalf("a sweep in %s ran with tenant %s in its context", tn.Schema, s.Tenant)
				}
				for _, body := range s.Bodies {
					if !strings.HasPrefix(body, bodies[0][:5]) {
						t.Fatalf("a sweep in %s read %q, another tenant's note", tn.Schema, body)
					}
				}
			}
			if n := len(sweeps); n > 0 && fmt.Sprint(sweeps[n-1].Bodies) == fmt.Sprint(bodies) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no sweep in %s saw %v within 30s: %v", tn.Schema, bodies, sweeps)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// The job each note's creation enqueued ran in the tenant that wrote
	// the note, and copied it there.
	copies := map[*taruvi.Tenant]string{a: "[{" + a.Schema + " alpha one} {" + a.Schema + " alpha two}]", b: "[{" + b.Schema + " bravo one}]"}
	for tn, want := range copies {
		tctx := taruvi.NewContextWithTenant(context.Background(), tn)
		for {
			var got []struct{ Tenant, Body string }
			err := db.InTenant(tctx, func(ctx context.Context, tx pgx.Tx) error {
				rows, _ := tx.Query(ctx, `SELECT tenant, body FROM note_copies ORDER BY body`)
				var err error
				got, err = pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ Tenant, Body string }])
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) == want {
				break
			}
			if len(got) > strings.Count(want, "{") || time.Now().After(deadline) {
				t.Fatalf("the copies in %s are %v, want %s", tn.Schema, got, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestModulesDeclareWhatTheyMigrate holds each module's parts and its
// migrations together: the sets test databases migrate
// (postgres.BuiltinMigrationSets) are the first of the list's, the rest
// embedding their own, and in a new tenant every permission a module
// declares is in the permissions table, and every table it declares
// audited has its history trigger, recording under its object type.
func TestModulesDeclareWhatTheyMigrate(t *testing.T) {
	t.Parallel()
	names := func(apps []taruvi.MigrationSet) (out []string) {
		for _, a := range apps {
			out = append(out, a.Name)
		}
		return out
	}
	got, builtin := names(moduleMigrationSets()), names(postgres.BuiltinMigrationSets())
	if len(got) < len(builtin) || fmt.Sprint(got[:len(builtin)]) != fmt.Sprint(builtin) {
		t.Errorf("the modules' migration sets are %v, want the test databases' %v first", got, builtin)
	}
	// The history reads the object types the modules' audited tables
	// record, then the core's.
	want := []string{taruvi.ObjectProject, taruvi.ObjectProjectMember, taruvi.ObjectTask, taruvi.ObjectFile, taruvi.ObjectApp,
		taruvi.ObjectUser, taruvi.ObjectGroup}
	if got := taruvi.HistoryObjectTypes(modules.Build(moduleList(), modules.Core{})); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the history's object types are %v, want %v", got, want)
	}
	db := postgrestest.Open(t, postgres.Options{MigrationSets: moduleMigrationSets()})
	ctx, _ := postgrestest.TenantContext(t, db)
	for _, m := range modules.Build(moduleList(), modules.Core{}) {
		parts := m.Parts()
		if len(parts.Permissions) == 0 || len(parts.Audited) == 0 {
			t.Errorf("module %s declares no permissions or no audited table", m.MigrationSet().Name)
		}
		err := db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
			for _, p := range parts.Permissions {
				var name string
				if err := tx.QueryRow(ctx, `SELECT name FROM permissions WHERE codename = $1`, p.Codename).Scan(&name); err != nil {
					t.Errorf("module %s: permission %s: %v", m.MigrationSet().Name, p.Codename, err)
				} else if name != p.Name {
					t.Errorf("module %s: permission %s is named %q in the table, %q in the module", m.MigrationSet().Name, p.Codename, name, p.Name)
				}
			}
			for _, a := range parts.Audited {
				var n int
				err := tx.QueryRow(ctx, `SELECT count(*) FROM pg_trigger
					WHERE tgrelid = $1::regclass AND tgname = $1 || '_history'
					  AND position(convert_to($2, 'UTF8') || '\x00'::bytea IN tgargs) = 1`, a.Table, a.ObjectType).Scan(&n)
				if err != nil || n != 1 {
					t.Errorf("module %s: table %s has %d history triggers recording %s (%v), want 1", m.MigrationSet().Name, a.Table, n, a.ObjectType, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
