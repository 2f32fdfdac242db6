package dataschema

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"taruvi"
)

// parse reads a definition as the API receives it.
func parse(t *testing.T, body string) *taruvi.Datatable {
	t.Helper()
	var d taruvi.Datatable
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return &d
}

// users is a datatable other definitions reference.
var users = &taruvi.Datatable{Name: "people", Table: "dt_1_people", Schema: taruvi.TableSchema{
	PrimaryKey: taruvi.Names{"id"},
	Fields: []taruvi.TableField{{Name: "id", Type: "integer"}, {Name: "code", Type: "uuid", Constraints: taruvi.FieldConstraints{Unique: true}},
		{Name: "nick", Type: "string"}}}}

func lookup(name string) (*taruvi.Datatable, error) {
	if name == users.Name {
		return users, nil
	}
	return nil, taruvi.Errorf(taruvi.ENOTFOUND, "Datatable not found.")
}

func TestNormalizeRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, body, field string
	}{
		{"no name", `{"schema":{"fields":[{"name":"a","type":"string"}]}}`, "name"},
		{"an upper-case name", `{"name":"Books","schema":{"fields":[{"name":"a","type":"string"}]}}`, "name"},
		{"a long name", `{"name":"` + strings.Repeat("a", 51) + `","schema":{"fields":[{"name":"a","type":"string"}]}}`, "name"},
		{"no fields", `{"name":"books","schema":{"fields":[]}}`, "schema.fields"},
		{"a field name with a dash", `{"name":"books","schema":{"fields":[{"name":"a-b","type":"string"}]}}`, "schema.fields.0"},
		{"a field name with __", `{"name":"books","schema":{"fields":[{"name":"a__b","type":"string"}]}}`, "schema.fields.0"},
		{"a reserved field name", `{"name":"books","schema":{"fields":[{"name":"xmin","type":"string"}]}}`, "schema.fields.xmin"},
		{"the search column's name", `{"name":"books","schema":{"fields":[{"name":"search_vector","type":"string"}]}}`, "schema.fields.search_vector"},
		{"a query parameter's name", `{"name":"books","schema":{"fields":[{"name":"page","type":"integer"}]}}`, "schema.fields.page"},
		{"a duplicate field", `{"name":"books","schema":{"fields":[{"name":"a","type":"string"},{"name":"a","type":"integer"}]}}`, "schema.fields.a"},
		{"an unknown type", `{"name":"books","schema":{"fields":[{"name":"a","type":"text"}]}}`, "schema.fields.a.type"},
		{"minimum on a string", `{"name":"books","schema":{"fields":[{"name":"a","type":"string","constraints":{"minimum":1}}]}}`, "schema.fields.a.constraints"},
		{"a fractional minimum of an integer", `{"name":"books","schema":{"fields":[{"name":"a","type":"integer","constraints":{"minimum":1.5}}]}}`, "schema.fields.a.constraints.minimum"},
		{"a huge integer minimum", `{"name":"books","schema":{"fields":[{"name":"a","type":"integer","constraints":{"minimum":1e1000000000}}]}}`, "schema.fields.a.constraints.minimum"},
		{"an integer default out of range", `{"name":"books","schema":{"fields":[{"name":"a","type":"integer","default":9223372036854775808}]}}`, "schema.fields.a.default"},
		{"minimum above maximum", `{"name":"books","schema":{"fields":[{"name":"a","type":"number","constraints":{"minimum":5,"maximum":1}}]}}`, "schema.fields.a.constraints"},
		{"maxLength on a number", `{"name":"books","schema":{"fields":[{"name":"a","type":"number","constraints":{"maxLength":5}}]}}`, "schema.fields.a.constraints"},
		{"a negative length", `{"name":"books","schema":{"fields":[{"name":"a","type":"string","constraints":{"minLength":-1}}]}}`, "schema.fields.a.constraints"},
		{"an index named search_vector", `{"name":"books","schema":{"fields":[{"name":"a","type":"string"}]},"indexes":[{"name":"search_vector","fields":["a"]}]}`, "indexes.0.name"},
		{"a bad pattern", `{"name":"books","schema":{"fields":[{"name":"a","type":"string","constraints":{"pattern":"(a"}}]}}`, "schema.fields.a.constraints.pattern"},
		{"a long pattern", `{"name":"books","schema":{"fields":[{"name":"a","type":"string","constraints":{"pattern":"` + strings.Repeat("[ab]?", 1000) + `c"}}]}}`, "schema.fields.a.constraints.pattern"},
		{"a large counted repetition", `{"name":"books","schema":{"fields":[{"name":"a","type":"string","constraints":{"pattern":"^a{0,500}$"}}]}}`, "schema.fields.a.constraints.pattern"},
		{"nested counted repetitions", `{"name":"books","schema":{"fields":[{"name":"a","type":"string","constraints":{"pattern":"^((a{0,100}){0,100})$"}}]}}`, "schema.fields.a.constraints.pattern"},
		{"an enum value of another type", `{"name":"books","schema":{"fields":[{"name":"a","type":"integer","constraints":{"enum":[1,"two"]}}]}}`, "schema.fields.a.constraints.enum.1"},
		{"a default of another type", `{"name":"books","schema":{"fields":[{"name":"a","type":"boolean","default":"yes"}]}}`, "schema.fields.a.default"},
		{"a bad date default", `{"name":"books","schema":{"fields":[{"name":"a","type":"date","default":"2024-13-01"}]}}`, "schema.fields.a.default"},
		{"an object default that is an array", `{"name":"books","schema":{"fields":[{"name":"a","type":"object","default":[1]}]}}`, "schema.fields.a.default"},
		{"a string primary key", `{"name":"books","schema":{"primaryKey":"a","fields":[{"name":"a","type":"string"}]}}`, "schema.fields.a.type"},
		{"a primary key of two fields", `{"name":"books","schema":{"primaryKey":["a","b"],"fields":[{"name":"a","type":"integer"},{"name":"b","type":"integer"}]}}`, "schema.primaryKey"},
		{"a primary key that is no field", `{"name":"books","schema":{"primaryKey":"nope","fields":[{"name":"a","type":"integer"}]}}`, "schema.primaryKey"},
		{"a field id that cannot be the key", `{"name":"books","schema":{"fields":[{"name":"id","type":"string"}]}}`, "schema.fields.id.type"},
		{"a foreign key to no datatable", `{"name":"books","schema":{"fields":[{"name":"a","type":"integer"}],"foreignKeys":[{"fields":"a","reference":{"resource":"nope"}}]}}`, "schema.foreignKeys.0.reference"},
		{"a foreign key of another type", `{"name":"books","schema":{"fields":[{"name":"a","type":"uuid"}],"foreignKeys":[{"fields":"a","reference":{"resource":"people"}}]}}`, "schema.foreignKeys.0.fields"},
		{"a foreign key to a field neither key nor unique", `{"name":"books","schema":{"fields":[{"name":"a","type":"string"}],"foreignKeys":[{"fields":"a","reference":{"resource":"people","fields":"nick"}}]}}`, "schema.foreignKeys.0.reference"},
		{"a foreign key to the users of another type", `{"name":"books","schema":{"fields":[{"name":"a","type":"uuid"}],"foreignKeys":[{"fields":"a","reference":{"resource":"users"}}]}}`, "schema.foreignKeys.0.fields"},
		{"an unknown action", `{"name":"books","schema":{"fields":[{"name":"a","type":"integer"}],"foreignKeys":[{"fields":"a","reference":{"resource":"users"},"onDelete":"EXPLODE"}]}}`, "schema.foreignKeys.0.onDelete"},
		{"SET NULL on a required field", `{"name":"books","schema":{"fields":[{"name":"a","type":"integer","constraints":{"required":true}}],"foreignKeys":[{"fields":"a","reference":{"resource":"users"},"onDelete":"SET NULL"}]}}`, "schema.foreignKeys.0.onDelete"},
		{"a foreign key of no field", `{"name":"books","schema":{"fields":[{"name":"a","type":"integer"}],"foreignKeys":[{"fields":"b","reference":{"resource":"users"}}]}}`, "schema.foreignKeys.0.fields"},
		{"an unknown index method", `{"name":"books","schema":{"fields":[{"name":"a","type":"integer"}]},"indexes":[{"fields":["a"],"method":"rtree"}]}`, "indexes.0.method"},
		{"a gin index on a string", `{"name":"books","schema":{"fields":[{"name":"a","type":"string"}]},"indexes":[{"fields":["a"],"method":"gin"}]}`, "indexes.0.method"},
		{"a unique hash index", `{"name":"books","schema":{"fields":[{"name":"a","type":"string"}]},"indexes":[{"fields":["a"],"method":"hash","unique":true}]}`, "indexes.0.unique"},
		{"an index of no field", `{"name":"books","schema":{"fields":[{"name":"a","type":"string"}]},"indexes":[{"fields":["b"]}]}`, "indexes.0.fields"},
		{"two indexes of one name", `{"name":"books","schema":{"fields":[{"name":"a","type":"string"}]},"indexes":[{"name":"x","fields":["a"]},{"name":"x","fields":["a"],"unique":true}]}`, "indexes.1.name"},
		{"a search field that is a number", `{"name":"books","schema":{"fields":[{"name":"a","type":"number"}]},"search_fields":["a"]}`, "search_fields.0"},
		{"a bad search weight", `{"name":"books","schema":{"fields":[{"name":"a","type":"string"}]},"search_fields":[{"field":"a","weight":"E"}]}`, "search_fields.0.weight"},
	} {
		_, err := Normalize(parse(t, tt.body), lookup)
		var e *taruvi.Error
		if taruvi.ErrorCode(err) != taruvi.EINVALID {
			t.Errorf("%s: %v, want EINVALID", tt.name, err)
			continue
		}
		e = err.(*taruvi.Error)
		if _, ok := e.Fields[tt.field]; !ok {
			t.Errorf("%s: problems %v, want one at %s", tt.name, e.Fields, tt.field)
		}
	}
}

func TestNormalizeFillsIn(t *testing.T) {
	t.Parallel()
	d, err := Normalize(parse(t, `{"name":"books","schema":{"fields":[
		{"name":"title","type":"string","constraints":{"required":true}},
		{"name":"owner","type":"integer"},
		{"name":"person","type":"integer"},
		{"name":"parent","type":"uuid"}],
		"foreignKeys":[{"fields":"owner","reference":{"resource":"auth_user"},"x-actions":{"onDelete":"set null"}},
			{"fields":["person"],"reference":{"resource":"people"},"onDelete":"cascade"},
			{"fields":"parent","reference":{"resource":""}}]},
		"indexes":[{"fields":["title","owner"]}],
		"search_fields":["title",{"field":"title2","weight":"a"}]}`), lookup)
	if err == nil {
		t.Fatalf("a search field of no field was accepted: %+v", d)
	}
	d, err = Normalize(parse(t, `{"name":"books","schema":{"fields":[
		{"name":"title","type":"string","constraints":{"required":true}},
		{"name":"owner","type":"integer"},
		{"name":"person","type":"integer"},
		{"name":"parent","type":"uuid"}],
		"foreignKeys":[{"fields":"owner","reference":{"resource":"auth_user"},"x-actions":{"onDelete":"set null"}},
			{"fields":["person"],"reference":{"resource":"people"},"onDelete":"cascade"},
			{"fields":"parent","reference":{"resource":""}}]},
		"indexes":[{"fields":["title","owner"]}],
		"search_fields":["title"]}`), lookup)
	if err != nil {
		t.Fatal(err)
	}
	if f := d.Schema.Fields[0]; f.Name != "id" || f.Type != "uuid" || d.Schema.Key() != "id" || len(d.Schema.PrimaryKey) != 1 {
		t.Errorf("the added key: %+v, primary key %v", f, d.Schema.PrimaryKey)
	}
	fks := d.Schema.ForeignKeys
	if fks[0].OnDelete != "SET NULL" || fks[0].XActions != nil || fks[0].Reference.Resource != "users" || fks[0].Reference.Fields[0] != "id" {
		t.Errorf("the users' foreign key: %+v", fks[0])
	}
	if fks[1].OnDelete != "CASCADE" || fks[1].Reference.Fields[0] != "id" {
		t.Errorf("the people's foreign key: %+v", fks[1])
	}
	if fks[2].OnDelete != "NO ACTION" || fks[2].Reference.Resource != "books" || fks[2].Reference.Fields[0] != "id" {
		t.Errorf("the self reference: %+v", fks[2])
	}
	if x := d.Indexes[0]; x.Name != "title_owner" || x.Method != "btree" {
		t.Errorf("the index: %+v", x)
	}
	if s := d.SearchFields[0]; s.Weight != "D" {
		t.Errorf("the search field: %+v", s)
	}
	// An integer primary key named by the schema is kept.
	d, err = Normalize(parse(t, `{"name":"n","schema":{"primaryKey":"num","fields":[{"name":"num","type":"integer"}]}}`), lookup)
	if err != nil || len(d.Schema.Fields) != 1 || d.Schema.Key() != "num" {
		t.Errorf("an integer key: %+v %v", d, err)
	}
}

func TestCreateStatements(t *testing.T) {
	t.Parallel()
	d, err := Normalize(parse(t, `{"name":"books","schema":{"fields":[
		{"name":"title","type":"string","constraints":{"required":true,"maxLength":200,"pattern":"^[^']+$"}},
		{"name":"isbn","type":"string","constraints":{"unique":true}},
		{"name":"pages","type":"integer","constraints":{"minimum":1,"maximum":10000}},
		{"name":"price","type":"number","default":9.5},
		{"name":"genre","type":"string","constraints":{"enum":["novel","it's poetry"]}},
		{"name":"meta","type":"object","default":{"a":1}},
		{"name":"owner","type":"integer"}],
		"foreignKeys":[{"fields":"owner","reference":{"resource":"users"},"onDelete":"SET NULL"}]},
		"indexes":[{"fields":["pages"],"method":"brin"}],
		"search_fields":[{"field":"title","weight":"A"},"isbn"]}`), lookup)
	if err != nil {
		t.Fatal(err)
	}
	d.Table = TableName(7, d.Name)
	stmts, err := Create(d, lookup)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(stmts, ";\n")
	for _, want := range []string{
		`CREATE TABLE "dt_7_books" (`,
		`"id" uuid PRIMARY KEY DEFAULT gen_random_uuid()`,
		`"title" text NOT NULL`,
		`"price" numeric DEFAULT 9.5::numeric`,
		`"meta" jsonb DEFAULT '{"a":1}'::jsonb`,
		`CONSTRAINT "dt_7_books_title_maxlen" CHECK (char_length("title") <= 200)`,
		`CONSTRAINT "dt_7_books_title_pattern" CHECK ("title" ~ '^[^'']+$')`,
		`CONSTRAINT "dt_7_books_isbn_key" UNIQUE ("isbn")`,
		`CONSTRAINT "dt_7_books_pages_min" CHECK ("pages" >= 1)`,
		`CONSTRAINT "dt_7_books_genre_enum" CHECK ("genre" IN ('novel', 'it''s poetry'))`,
		`CONSTRAINT "dt_7_books_meta_type" CHECK (jsonb_typeof("meta") = 'object')`,
		`CONSTRAINT "dt_7_books_owner_fkey" FOREIGN KEY ("owner") REFERENCES "users" ("id") ON DELETE SET NULL`,
		`CREATE INDEX "dt_7_books_pages_idx" ON "dt_7_books" USING brin ("pages")`,
		`search_vector tsvector GENERATED ALWAYS AS (setweight(to_tsvector('english'::regconfig, coalesce("title", '')), 'A') || setweight(to_tsvector('english'::regconfig, coalesce("isbn", '')), 'D')) STORED`,
		`CREATE INDEX "dt_7_books_search_vector_idx" ON "dt_7_books" USING gin (search_vector)`,
		`CREATE TRIGGER history_insert AFTER INSERT ON "dt_7_books" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT`,
		`CREATE TRIGGER history_update AFTER UPDATE ON "dt_7_books" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows`,
		`CREATE TRIGGER history_delete AFTER DELETE ON "dt_7_books" REFERENCING OLD TABLE AS old_rows`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the statements lack %s:\n%s", want, all)
		}
	}
	if got := TableName(123456789012, strings.Repeat("x", 50)); len(got) > 63 || TableName(123456789012, strings.Repeat("x", 49)+"y") == got {
		t.Errorf("a long table name: %s", got)
	}
}

func TestDiffPlans(t *testing.T) {
	t.Parallel()
	norm := func(body string) *taruvi.Datatable {
		d, err := Normalize(parse(t, body), lookup)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		d.Table = "dt_1_books"
		return d
	}
	old := norm(`{"name":"books","schema":{"fields":[{"name":"title","type":"string","constraints":{"maxLength":10}},
		{"name":"pages","type":"integer"},{"name":"gone","type":"string"}]},"indexes":[{"fields":["title"]}],"search_fields":["title"]}`)
	for _, tt := range []struct {
		name, body string
		want       []string
		rewrites   bool
	}{
		{"nothing", `{"name":"books","schema":{"fields":[{"name":"title","type":"string","constraints":{"maxLength":10}},
			{"name":"pages","type":"integer"},{"name":"gone","type":"string"}]},"indexes":[{"fields":["title"]}],"search_fields":["title"]}`,
			nil, false},
		{"add, drop and rename", `{"name":"books","schema":{"fields":[{"name":"name","type":"string","x-rename-from":"title","constraints":{"maxLength":10}},
			{"name":"pages","type":"integer"},{"name":"year","type":"integer","default":2000,"constraints":{"required":true}}]},"indexes":[{"name":"title","fields":["name"]}],"search_fields":["name"]}`,
			[]string{
				`ALTER TABLE "dt_1_books" RENAME COLUMN "title" TO "name"`,
				`ALTER TABLE "dt_1_books" RENAME CONSTRAINT "dt_1_books_title_maxlen" TO "dt_1_books_name_maxlen"`,
				`ALTER TABLE "dt_1_books" DROP COLUMN "gone"`,
				`ALTER TABLE "dt_1_books" ADD COLUMN "year" bigint DEFAULT 2000 NOT NULL`,
			}, false},
		{"a type change and constraints", `{"name":"books","schema":{"fields":[{"name":"title","type":"string","constraints":{"maxLength":20,"required":true}},
			{"name":"pages","type":"number","constraints":{"minimum":0}},{"name":"gone","type":"string"}]},"indexes":[{"fields":["title"],"unique":true}],"search_fields":[{"field":"title","weight":"A"}]}`,
			[]string{
				`ALTER TABLE "dt_1_books" DROP COLUMN search_vector`,
				`DROP INDEX IF EXISTS "dt_1_books_title_idx"`,
				`ALTER TABLE "dt_1_books" DROP CONSTRAINT "dt_1_books_title_maxlen"`,
				`ALTER TABLE "dt_1_books" ALTER COLUMN "title" SET NOT NULL`,
				`ALTER TABLE "dt_1_books" ALTER COLUMN "pages" TYPE numeric USING "pages"::numeric`,
				`ALTER TABLE "dt_1_books" ADD CONSTRAINT "dt_1_books_title_maxlen" CHECK (char_length("title") <= 20)`,
				`ALTER TABLE "dt_1_books" ADD CONSTRAINT "dt_1_books_pages_min" CHECK ("pages" >= 0::numeric)`,
				`CREATE UNIQUE INDEX "dt_1_books_title_idx" ON "dt_1_books" USING btree ("title")`,
				`ALTER TABLE "dt_1_books" ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (setweight(to_tsvector('english'::regconfig, coalesce("title", '')), 'A')) STORED`,
				`CREATE INDEX "dt_1_books_search_vector_idx" ON "dt_1_books" USING gin (search_vector)`,
			}, true},
	} {
		plan, err := Diff(old, norm(tt.body), lookup)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got, want := strings.Join(plan.Statements, "\n"), strings.Join(tt.want, "\n"); got != want || plan.Rewrites != tt.rewrites {
			t.Errorf("%s: plan (rewrites %v):\n%s\nwant (rewrites %v):\n%s", tt.name, plan.Rewrites, got, tt.rewrites, want)
		}
	}
	for _, tt := range []struct{ name, body, field string }{
		{"a rename of nothing", `{"name":"books","schema":{"fields":[{"name":"name","type":"string","x-rename-from":"nope"}]}}`, "schema.fields.name.x-rename-from"},
		{"a rename onto a field", `{"name":"books","schema":{"fields":[{"name":"pages","type":"string","x-rename-from":"title"}]}}`, "schema.fields.pages.x-rename-from"},
		{"a new primary key", `{"name":"books","schema":{"primaryKey":"n","fields":[{"name":"n","type":"integer"}]}}`, "schema.primaryKey"},
	} {
		_, err := Diff(old, norm(tt.body), lookup)
		if e, ok := err.(*taruvi.Error); !ok || e.Code != taruvi.EINVALID || e.Fields[tt.field] == "" {
			t.Errorf("%s: %v, want EINVALID at %s", tt.name, err, tt.field)
		}
	}
}

// TestNormalizeLookupFails: a lookup that fails for another reason than
// a missing datatable is an internal error, not a problem of the input.
func TestNormalizeLookupFails(t *testing.T) {
	t.Parallel()
	broken := func(string) (*taruvi.Datatable, error) { return nil, errors.New("connection reset") }
	_, err := Normalize(parse(t, `{"name":"b","schema":{"fields":[{"name":"p","type":"integer"}],
		"foreignKeys":[{"fields":"p","reference":{"resource":"people"}}]}}`), broken)
	if err == nil || taruvi.ErrorCode(err) != taruvi.EINTERNAL {
		t.Errorf("a broken lookup: %v, want an internal error", err)
	}
}

// TestCheckName: a new datatable's name is refused when it is malformed
// or names the tenant's users ("users", "auth_user"), naming the field
// name; other names, even ones that contain those words, pass.
func TestCheckName(t *testing.T) {
	for _, name := range []string{"users", "auth_user", "", "Users", "a__b", "1x"} {
		err := CheckName(name)
		var e *taruvi.Error
		if !errors.As(err, &e) || e.Code != taruvi.EINVALID || e.Fields["name"] == "" {
			t.Errorf("CheckName(%q) = %v, want EINVALID naming name", name, err)
		}
	}
	for _, name := range []string{"user", "users2", "app_users", "auth_users"} {
		if err := CheckName(name); err != nil {
			t.Errorf("CheckName(%q) = %v, want nil", name, err)
		}
	}
}
