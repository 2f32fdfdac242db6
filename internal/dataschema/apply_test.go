package dataschema_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"taruvi"
	"taruvi/internal/dataschema"
	"taruvi/internal/modules"
	"taruvi/internal/modules/apps"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
)

func TestMain(m *testing.M) {
	postgrestest.Main(m, func() {
		if shared != nil {
			shared.Close()
		}
	})
}

var (
	once   sync.Once
	shared *postgres.DB
)

// database is the package's database, migrated with the apps module's
// set, which holds the datatables table and the history trigger function.
func database(t *testing.T) *postgres.DB {
	t.Helper()
	once.Do(func() {
		ctx := context.Background()
		sets := append(postgres.BuiltinMigrationSets(), apps.New(modules.Core{}).MigrationSet())
		db, err := postgrestest.Migrated(ctx, postgrestest.NewScratch(t), postgres.Options{MaxConns: 8, MigrationSets: sets})
		if err != nil {
			t.Fatal(err)
		}
		shared = db
	})
	if shared == nil {
		t.Fatal("no database")
	}
	return shared
}

// space is a fresh tenant with one app ("shop") whose datatables the
// tests create and change as the apps module does: the definition's row,
// then the DDL, in one transaction.
type space struct {
	t     *testing.T
	db    *postgres.DB
	ctx   context.Context
	appID int64
}

func newSpace(t *testing.T) *space {
	t.Helper()
	db := database(t)
	ctx, _ := postgrestest.TenantContext(t, db)
	s := &space{t: t, db: db, ctx: ctx}
	s.tx(func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO apps (slug, name) VALUES ('shop', 'Shop') RETURNING id`).Scan(&s.appID)
	})
	return s
}

// tx runs fn in the tenant and fails the test on error.
func (s *space) tx(fn postgres.TxFunc) {
	s.t.Helper()
	if err := s.db.InTenant(s.ctx, fn); err != nil {
		s.t.Fatal(err)
	}
}

// exec runs statements in the tenant, returning the first error.
func (s *space) exec(stmts ...string) error {
	return s.db.InTenant(s.ctx, func(ctx context.Context, tx pgx.Tx) error {
		for _, stmt := range stmts {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %w", stmt, err)
			}
		}
		return nil
	})
}

// lookup resolves the app's datatables, as the module does.
func (s *space) lookup(ctx context.Context, tx pgx.Tx) dataschema.Lookup {
	return func(name string) (*taruvi.Datatable, error) {
		var def []byte
		var table string
		err := tx.QueryRow(ctx, `SELECT definition, table_name FROM datatables WHERE app_id = $1 AND name = $2`, s.appID, name).Scan(&def, &table)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, taruvi.Errorf(taruvi.ENOTFOUND, "Datatable not found.")
		} else if err != nil {
			return nil, err
		}
		var d taruvi.Datatable
		err = json.Unmarshal(def, &d)
		d.Table = table
		return &d, err
	}
}

// create creates the datatable of body under the name it gives.
func (s *space) create(body string) *taruvi.Datatable {
	s.t.Helper()
	var d *taruvi.Datatable
	s.tx(func(ctx context.Context, tx pgx.Tx) error {
		var in taruvi.Datatable
		if err := json.Unmarshal([]byte(body), &in); err != nil {
			return err
		}
		var err error
		if d, err = dataschema.Normalize(&in, s.lookup(ctx, tx)); err != nil {
			return err
		}
		d.Table = dataschema.TableName(s.appID, d.Name)
		def, _ := json.Marshal(d)
		if _, err := tx.Exec(ctx, `INSERT INTO datatables (app_id, name, table_name, definition) VALUES ($1, $2, $3, $4)`,
			s.appID, d.Name, d.Table, def); err != nil {
			return err
		}
		stmts, err := dataschema.Create(d, s.lookup(ctx, tx))
		if err != nil {
			return err
		}
		for _, stmt := range stmts {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %w", stmt, err)
			}
		}
		return nil
	})
	return d
}

// change replaces old's definition by body and applies the plan.
func (s *space) change(old *taruvi.Datatable, body string) (*taruvi.Datatable, dataschema.Plan, error) {
	var d *taruvi.Datatable
	var plan dataschema.Plan
	err := s.db.InTenant(s.ctx, func(ctx context.Context, tx pgx.Tx) error {
		var in taruvi.Datatable
		if err := json.Unmarshal([]byte(body), &in); err != nil {
			return err
		}
		var err error
		if d, err = dataschema.Normalize(&in, s.lookup(ctx, tx)); err != nil {
			return err
		}
		d.Table = old.Table
		if plan, err = dataschema.Diff(old, d, s.lookup(ctx, tx)); err != nil {
			return err
		}
		for i := range d.Schema.Fields {
			d.Schema.Fields[i].RenameFrom = ""
		}
		def, _ := json.Marshal(d)
		if _, err := tx.Exec(ctx, `UPDATE datatables SET definition = $2 WHERE table_name = $1`, d.Table, def); err != nil {
			return err
		}
		for _, stmt := range plan.Statements {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %w", stmt, err)
			}
		}
		return nil
	})
	return d, plan, err
}

// strings returns the rows of query, one string each.
func (s *space) strings(query string, args ...any) []string {
	s.t.Helper()
	var out []string
	s.tx(func(ctx context.Context, tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, query, args...)
		var err error
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return out
}

// describe is what the catalog says of a table, its name written T: its
// columns with types, nullability and defaults, its constraints and its
// indexes, sorted.
func (s *space) describe(table string) []string {
	s.t.Helper()
	out := s.strings(`
		SELECT 'column ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
			|| coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') || CASE a.attidentity WHEN 'd' THEN ' identity' ELSE '' END
		FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped
		UNION ALL
		SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1::text::regclass
		UNION ALL
		SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1::text
		UNION ALL
		SELECT 'trigger ' || tgname FROM pg_trigger WHERE tgrelid = $1::text::regclass AND NOT tgisinternal`, table)
	for i := range out {
		out[i] = strings.ReplaceAll(out[i], table, "T")
	}
	slices.Sort(out)
	return out
}

// pgCode is the SQLSTATE of err.
func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// TestCreateEnforces creates tables of every field type, constraint,
// default, key, foreign key, index method and search, and checks that
// the database holds rows to them.
func TestCreateEnforces(t *testing.T) {
	t.Parallel()
	s := newSpace(t)
	people := s.create(`{"name":"people","schema":{"primaryKey":"num","fields":[{"name":"num","type":"integer"},
		{"name":"code","type":"uuid","constraints":{"unique":true}}]}}`)
	things := s.create(`{"name":"things","schema":{"fields":[
		{"name":"label","type":"string","constraints":{"required":true,"minLength":2,"maxLength":10,"pattern":"^[a-z]+$"}},
		{"name":"kind","type":"string","default":"plain","constraints":{"enum":["plain","fancy"]}},
		{"name":"qty","type":"integer","default":1,"constraints":{"minimum":0,"maximum":100}},
		{"name":"price","type":"number","constraints":{"minimum":0.5}},
		{"name":"ok","type":"boolean","default":true},
		{"name":"day","type":"date","default":"now"},
		{"name":"at","type":"datetime","default":"2024-01-02T03:04:05Z"},
		{"name":"clock","type":"time","constraints":{"enum":["09:00","17:00"]}},
		{"name":"ref","type":"uuid","constraints":{"unique":true}},
		{"name":"meta","type":"object","default":{"a":[1,2]}},
		{"name":"tags","type":"array"},
		{"name":"owner","type":"integer"},
		{"name":"person","type":"integer"},
		{"name":"person_code","type":"uuid"},
		{"name":"parent","type":"uuid"}],
		"foreignKeys":[
			{"fields":"owner","reference":{"resource":"users"},"onDelete":"SET NULL"},
			{"fields":"person","reference":{"resource":"people"},"onDelete":"CASCADE"},
			{"fields":"person_code","reference":{"resource":"people","fields":"code"},"onDelete":"RESTRICT"},
			{"fields":"parent","reference":{"resource":"things"}}]},
		"indexes":[{"fields":["qty","price"]},{"fields":["label"],"method":"hash"},{"fields":["meta"],"method":"gin"},
			{"fields":["at"],"method":"brin"},{"name":"unique_day","fields":["day","label"],"unique":true}],
		"search_fields":[{"field":"label","weight":"A"},{"field":"kind","weight":"C"}]}`)
	P, T := pgx.Identifier{people.Table}.Sanitize(), pgx.Identifier{things.Table}.Sanitize()
	var user int64
	s.tx(func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO users (email, username) VALUES ('u@x.test', 'u') RETURNING id`).Scan(&user)
	})
	if err := s.exec(`INSERT INTO `+P+` (code) VALUES ('00000000-0000-0000-0000-000000000001')`,
		fmt.Sprintf(`INSERT INTO %s (label, owner, person, person_code) VALUES ('abc', %d, 1, '00000000-0000-0000-0000-000000000001')`, T, user)); err != nil {
		t.Fatal(err)
	}
	got := s.strings(`SELECT concat_ws('|', kind, qty, ok, day = CURRENT_DATE, at, meta, id IS NOT NULL) FROM ` + T)
	if want := "plain|1|t|t|2024-01-02 03:04:05+00|{\"a\": [1, 2]}|t"; len(got) != 1 || got[0] != want {
		t.Errorf("the row with its defaults: %v, want %s", got, want)
	}
	for _, tt := range []struct{ name, sql, code string }{
		{"no label", `INSERT INTO ` + T + ` (kind) VALUES ('plain')`, "23502"},
		{"a short label", `INSERT INTO ` + T + ` (label) VALUES ('a')`, "23514"},
		{"a long label", `INSERT INTO ` + T + ` (label) VALUES ('abcdefghijk')`, "23514"},
		{"a label off the pattern", `INSERT INTO ` + T + ` (label) VALUES ('ABC')`, "23514"},
		{"a kind off the enum", `INSERT INTO ` + T + ` (label, kind) VALUES ('ab', 'odd')`, "23514"},
		{"a quantity over the maximum", `INSERT INTO ` + T + ` (label, qty) VALUES ('ab', 101)`, "23514"},
		{"a negative quantity", `INSERT INTO ` + T + ` (label, qty) VALUES ('ab', -1)`, "23514"},
		{"a price under the minimum", `INSERT INTO ` + T + ` (label, price) VALUES ('ab', 0.4)`, "23514"},
		{"a time off the enum", `INSERT INTO ` + T + ` (label, clock) VALUES ('ab', '10:00')`, "23514"},
		{"an array for an object", `INSERT INTO ` + T + ` (label, meta) VALUES ('ab', '[1]')`, "23514"},
		{"an object for an array", `INSERT INTO ` + T + ` (label, tags) VALUES ('ab', '{}')`, "23514"},
		{"a duplicate unique", `INSERT INTO ` + T + ` (label, ref) VALUES ('ab', '00000000-0000-0000-0000-000000000009'), ('ac', '00000000-0000-0000-0000-000000000009')`, "23505"},
		{"a duplicate of a unique index", `INSERT INTO ` + T + ` (label) VALUES ('abc')`, "23505"},
		{"no such user", `INSERT INTO ` + T + ` (label, owner) VALUES ('ab', 999999)`, "23503"},
		{"no such person", `INSERT INTO ` + T + ` (label, person) VALUES ('ab', 999)`, "23503"},
		{"no such parent", `INSERT INTO ` + T + ` (label, parent) VALUES ('ab', gen_random_uuid())`, "23503"},
	} {
		if err := s.exec(tt.sql); pgCode(err) != tt.code {
			t.Errorf("%s: %v, want SQLSTATE %s", tt.name, err, tt.code)
		}
	}
	restrict := []string{`INSERT INTO ` + T + ` (label, person_code) VALUES ('abd', '00000000-0000-0000-0000-000000000001')`, `DELETE FROM ` + P}
	if err := s.exec(restrict...); pgCode(err) != "23503" {
		t.Errorf("deleting a person a thing references with RESTRICT: %v, want SQLSTATE 23503", err)
	}
	// Deleting the user sets owner null; the search column finds by
	// label; dropping the references lets the person go, with its things.
	if got := s.strings(`SELECT label FROM ` + T + ` WHERE search_vector @@ to_tsquery('english', 'abc')`); len(got) != 1 {
		t.Errorf("search for abc: %v", got)
	}
	if err := s.exec(fmt.Sprintf(`DELETE FROM users WHERE id = %d`, user), `UPDATE `+T+` SET person_code = NULL`, `DELETE FROM `+P); err != nil {
		t.Fatal(err)
	}
	if got := s.strings(`SELECT count(*)::text FROM ` + T); got[0] != "0" {
		t.Errorf("things of the deleted person: %v, want none (CASCADE)", got)
	}
	// The same definitions plan nothing against themselves.
	for _, d := range []*taruvi.Datatable{people, things} {
		s.tx(func(ctx context.Context, tx pgx.Tx) error {
			plan, err := dataschema.Diff(d, d, s.lookup(ctx, tx))
			if err != nil || len(plan.Statements) != 0 {
				t.Errorf("%s against itself: %v %v", d.Name, plan, err)
			}
			return nil
		})
	}
	if err := s.exec(dataschema.Drop(things, people)...); err != nil {
		t.Errorf("drop both: %v", err)
	}
}

// TestPlansApply changes a table with rows through a series of
// definitions: each plan applies, keeps the rows' data, plans nothing
// when repeated, and leaves the table as the catalog describes a table
// created from the new definition.
func TestPlansApply(t *testing.T) {
	t.Parallel()
	s := newSpace(t)
	s.create(`{"name":"owners","schema":{"fields":[{"name":"nick","type":"string","constraints":{"unique":true}}]}}`)
	d := s.create(`{"name":"books","schema":{"fields":[
		{"name":"title","type":"string","constraints":{"required":true}},
		{"name":"pages","type":"integer","constraints":{"minimum":1}},
		{"name":"isbn","type":"string"},
		{"name":"notes","type":"string"}]},
		"indexes":[{"fields":["pages"]}],
		"search_fields":["title"]}`)
	T := pgx.Identifier{d.Table}.Sanitize()
	if err := s.exec(`INSERT INTO ` + T + ` (title, pages, isbn, notes) VALUES ('Go', 300, '123', 'n1'), ('SQL', 500, '456', 'n2'), ('Web', 250, '789', NULL)`); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name, body, rows string
		rewrites         bool
	}{
		{"rename, add with a default, drop", `{"name":"books","schema":{"fields":[
			{"name":"id","type":"uuid"},
			{"name":"name","type":"string","x-rename-from":"title","constraints":{"required":true}},
			{"name":"pages","type":"integer","constraints":{"minimum":1}},
			{"name":"isbn","type":"string"},
			{"name":"year","type":"integer","default":2020,"constraints":{"required":true}}]},
			"indexes":[{"fields":["pages"]}],
			"search_fields":["name"]}`,
			`SELECT name || ':' || pages || ':' || isbn || ':' || year FROM ` + T + ` ORDER BY name`, false},
		{"types and constraints", `{"name":"books","schema":{"fields":[
			{"name":"id","type":"uuid"},
			{"name":"name","type":"string","constraints":{"required":true,"maxLength":20}},
			{"name":"pages","type":"number","constraints":{"minimum":0.5,"maximum":1000}},
			{"name":"isbn","type":"integer","constraints":{"unique":true}},
			{"name":"year","type":"integer","constraints":{"enum":[2020,2021]}}]},
			"indexes":[{"name":"by_pages","fields":["pages"],"method":"brin"},{"fields":["name","year"],"unique":true}],
			"search_fields":[{"field":"name","weight":"B"}]}`,
			`SELECT name || ':' || pages || ':' || isbn || ':' || year FROM ` + T + ` ORDER BY name`, true},
		{"a foreign key and an object", `{"name":"books","schema":{"fields":[
			{"name":"id","type":"uuid"},
			{"name":"name","type":"string","constraints":{"required":true,"maxLength":20}},
			{"name":"pages","type":"number"},
			{"name":"isbn","type":"string","x-rename-from":"code"},
			{"name":"year","type":"integer","constraints":{"enum":[2020,2021]}},
			{"name":"owner","type":"uuid"},
			{"name":"meta","type":"object","default":{}}],
			"foreignKeys":[{"fields":"owner","reference":{"resource":"owners"},"onDelete":"SET NULL"}]},
			"indexes":[{"fields":["meta"],"method":"gin"}]}`,
			`SELECT name || ':' || pages || ':' || isbn || ':' || year || ':' || meta FROM ` + T + ` ORDER BY name`, true},
		{"everything back to text", `{"name":"books","schema":{"fields":[
			{"name":"id","type":"uuid"},
			{"name":"title","type":"string","x-rename-from":"name"},
			{"name":"pages","type":"string"},
			{"name":"isbn","type":"string"},
			{"name":"year","type":"string"},
			{"name":"owner","type":"uuid"}],
			"foreignKeys":[{"fields":"owner","reference":{"resource":"owners"},"onDelete":"CASCADE"}]},
			"search_fields":["title","isbn"]}`,
			`SELECT title || ':' || pages || ':' || isbn || ':' || year FROM ` + T + ` ORDER BY title`, true},
	}
	wants := []string{
		"Go:300:123:2020,SQL:500:456:2020,Web:250:789:2020",
		"Go:300:123:2020,SQL:500:456:2020,Web:250:789:2020",
		"Go:300:123:2020:{},SQL:500:456:2020:{},Web:250:789:2020:{}",
		"Go:300:123:2020,SQL:500:456:2020,Web:250:789:2020",
	}
	for i, step := range steps {
		next, plan, err := s.change(d, step.body)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if plan.Rewrites != step.rewrites {
			t.Errorf("%s: rewrites %v, want %v:\n%s", step.name, plan.Rewrites, step.rewrites, strings.Join(plan.Statements, "\n"))
		}
		if got := strings.Join(s.strings(step.rows), ","); got != wants[i] {
			t.Errorf("%s: rows %s, want %s", step.name, got, wants[i])
		}
		s.tx(func(ctx context.Context, tx pgx.Tx) error {
			again, err := dataschema.Diff(next, next, s.lookup(ctx, tx))
			if err != nil || len(again.Statements) != 0 {
				t.Errorf("%s: planned again: %v %v", step.name, again.Statements, err)
			}
			return nil
		})
		// A table created from the new definition is the same table.
		fresh := *next
		fresh.Name = fmt.Sprintf("fresh%d", i)
		fresh.Table = dataschema.TableName(s.appID, fresh.Name)
		var stmts []string
		s.tx(func(ctx context.Context, tx pgx.Tx) (err error) {
			stmts, err = dataschema.Create(&fresh, s.lookup(ctx, tx))
			return err
		})
		// A foreign key to itself would name the fresh table's own name.
		if err := s.exec(stmts...); err != nil {
			t.Fatalf("%s: create the fresh table: %v", step.name, err)
		}
		got, want := s.describe(d.Table), s.describe(fresh.Table)
		if !slices.Contains(want, "trigger history_insert") || !slices.ContainsFunc(want, func(l string) bool { return strings.HasPrefix(l, "column pages ") }) {
			t.Errorf("%s: the catalog's description lacks columns or triggers: %v", step.name, want)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: the changed table\n%s\ndiffers from one created so\n%s\nplan:\n%s", step.name,
				strings.Join(got, "\n"), strings.Join(want, "\n"), strings.Join(plan.Statements, "\n"))
		}
		d = next
	}

	// Changes the rows do not fit fail and change nothing.
	for _, tt := range []struct{ name, body, code string }{
		{"a required field without a default", `{"name":"books","schema":{"fields":[{"name":"id","type":"uuid"},{"name":"title","type":"string"},
			{"name":"pages","type":"string"},{"name":"isbn","type":"string"},{"name":"year","type":"string"},{"name":"owner","type":"uuid"},
			{"name":"lang","type":"string","constraints":{"required":true}}]}}`, "23502"},
		{"a type the values do not convert to", `{"name":"books","schema":{"fields":[{"name":"id","type":"uuid"},{"name":"title","type":"integer"},
			{"name":"pages","type":"string"},{"name":"isbn","type":"string"},{"name":"year","type":"string"},{"name":"owner","type":"uuid"}]}}`, "22P02"},
		{"a unique field with duplicates", `{"name":"books","schema":{"fields":[{"name":"id","type":"uuid"},{"name":"title","type":"string"},
			{"name":"pages","type":"string"},{"name":"isbn","type":"string"},{"name":"year","type":"string","constraints":{"unique":true}},{"name":"owner","type":"uuid"}]}}`, "23505"},
	} {
		if _, _, err := s.change(d, tt.body); pgCode(err) != tt.code {
			t.Errorf("%s: %v, want SQLSTATE %s", tt.name, err, tt.code)
		}
	}
	if got := strings.Join(s.strings(steps[3].rows), ","); got != wants[3] {
		t.Errorf("after the failed changes: %s", got)
	}
}

// TestHistoryRecordsStatements: one statement over thousands of rows
// records one history entry per row, quickly, under the table's object
// type, with the actor of the transaction.
func TestHistoryRecordsStatements(t *testing.T) {
	t.Parallel()
	s := newSpace(t)
	d := s.create(`{"name":"events","schema":{"primaryKey":"n","fields":[{"name":"n","type":"integer"},
		{"name":"label","type":"string"},{"name":"score","type":"number"}]},"search_fields":["label"]}`)
	T := pgx.Identifier{d.Table}.Sanitize()
	const rows = 5000
	start := time.Now()
	if err := s.exec(fmt.Sprintf(`INSERT INTO %s (label, score) SELECT 'event ' || i, i FROM generate_series(1, %d) i`, T, rows)); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("inserting %d rows with their history took %v", rows, took)
	}
	if err := s.exec(`UPDATE `+T+` SET score = score + 1 WHERE n <= 10`, `UPDATE `+T+` SET label = label WHERE n <= 10`, `DELETE FROM `+T+` WHERE n > 4990`); err != nil {
		t.Fatal(err)
	}
	typ := taruvi.DatatableObjectType("shop", "events")
	got := s.strings(`SELECT action || ' ' || count(*) FROM history WHERE object_type = $1 GROUP BY action ORDER BY action`, typ)
	if want := []string{"create 5000", "delete 10", "update 10"}; !slices.Equal(got, want) {
		t.Errorf("history: %v, want %v (an update changing nothing records nothing)", got, want)
	}
	got = s.strings(`SELECT object_id || ' ' || array_to_string(changed, ',') || ' ' || (before->>'score') || '>' || (after->>'score')
		|| ' ' || (after ? 'search_vector')::text FROM history WHERE object_type = $1 AND action = 'update' AND object_id = '3'`, typ)
	if want := []string{"3 score 3>4 false"}; !slices.Equal(got, want) {
		t.Errorf("the update of row 3: %v, want %v", got, want)
	}
	// An app renamed records under its new slug.
	if err := s.exec(`UPDATE apps SET slug = 'store'`, `DELETE FROM `+T+` WHERE n = 1`); err != nil {
		t.Fatal(err)
	}
	if got := s.strings(`SELECT object_id FROM history WHERE object_type = $1`, taruvi.DatatableObjectType("store", "events")); !slices.Equal(got, []string{"1"}) {
		t.Errorf("history after the app's rename: %v", got)
	}
}
