package taruvi

import (
	"bytes"
	"encoding/json"
	"time"
)

// Apps and datatables: what a tenant builds its own products from. An app
// groups datatables (and, later, buckets, functions, queries, roles and
// policies) inside a tenant and is addressed by its slug as
// /api/apps/{app}/...; a resource of one app is invisible under another.

// Permission codenames of apps and their data. Tenant owners hold them
// all; others hold them through their groups.
const (
	PermViewApp    = "apps.view_app"    // see apps, their settings and datatable definitions
	PermManageApp  = "apps.manage_app"  // create, change and delete apps and datatables
	PermViewData   = "apps.view_data"   // read the rows of an app's datatables
	PermChangeData = "apps.change_data" // create, change and delete rows
)

// ObjectApp is the object type of apps in history; a datatable's rows are
// recorded as DatatableObjectType(app, table).
const ObjectApp = "app"

// DatatableObjectType is the history object type of the rows of table in
// the app of the given slug.
func DatatableObjectType(appSlug, table string) string { return "datatable:" + appSlug + "/" + table }

// App is an application of a tenant.
type App struct {
	ID          int64     `json:"id"`
	Slug        string    `json:"slug"` // [a-z0-9-], unique in the tenant, at most 50 characters
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// AppSettings are an app's presentation settings, exactly the members of
// the public SDKs' app settings (GET /api/apps/{app}/settings/). A setting
// never set (or cleared with null) is nil, null in JSON; "" is a setting
// set to the empty string.
type AppSettings struct {
	DisplayName               *string   `json:"display_name"`
	Icon                      *string   `json:"icon"`
	IconURL                   *string   `json:"icon_url"`
	PrimaryColor              *string   `json:"primary_color"`
	SecondaryColor            *string   `json:"secondary_color"`
	IconBackgroundColor       *string   `json:"icon_background_color"`
	Category                  *string   `json:"category"`
	DocumentationURL          *string   `json:"documentation_url"`
	SupportEmail              *string   `json:"support_email"`
	DefaultFrontendWorkerURL  *string   `json:"default_frontend_worker_url"`
	DefaultFrontendWorkerSlug *string   `json:"default_frontend_worker_slug"`
	CreatedAt                 time.Time `json:"created_at"`
	UpdatedAt                 time.Time `json:"updated_at"`
}

// Field types of a datatable, after the Frictionless table schema.
const (
	FieldString   = "string"   // text
	FieldInteger  = "integer"  // bigint
	FieldNumber   = "number"   // numeric
	FieldBoolean  = "boolean"  // boolean
	FieldDate     = "date"     // date
	FieldDateTime = "datetime" // timestamptz
	FieldTime     = "time"     // time
	FieldUUID     = "uuid"     // uuid
	FieldObject   = "object"   // jsonb holding an object
	FieldArray    = "array"    // jsonb holding an array
)

// FieldTypes are the field types a datatable may use.
var FieldTypes = []string{FieldString, FieldInteger, FieldNumber, FieldBoolean, FieldDate,
	FieldDateTime, FieldTime, FieldUUID, FieldObject, FieldArray}

// Datatable is a table of an app whose shape the tenant defines at run
// time, as a Frictionless-style data resource. It is a real table in the
// tenant's schema, named Table, whose DDL is generated from the
// definition; every identifier in SQL about its rows comes from here,
// never from a request.
type Datatable struct {
	ID           int64         `json:"id"`
	Name         string        `json:"name"` // [a-z][a-z0-9_]*, unique in the app, at most 50 characters
	Title        string        `json:"title,omitempty"`
	Description  string        `json:"description,omitempty"`
	Schema       TableSchema   `json:"schema"`
	Indexes      []TableIndex  `json:"indexes,omitempty"`
	SearchFields []SearchField `json:"search_fields,omitempty"`
	// Table is the physical table's name in the tenant's schema; set by
	// the server, never taken from a request.
	Table     string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TableSchema is the Frictionless table schema of a datatable.
type TableSchema struct {
	Fields      []TableField `json:"fields"`
	PrimaryKey  Names        `json:"primaryKey,omitempty"` // one field; "id" (uuid, generated) when empty
	ForeignKeys []ForeignKey `json:"foreignKeys,omitempty"`
}

// TableField is one column of a datatable.
type TableField struct {
	Name        string           `json:"name"` // [a-z][a-z0-9_]*, at most 50 characters
	Type        string           `json:"type"` // one of FieldTypes
	Title       string           `json:"title,omitempty"`
	Description string           `json:"description,omitempty"`
	Constraints FieldConstraints `json:"constraints,omitempty"`
	// Default is the column's default, a JSON value of the field's type.
	Default json.RawMessage `json:"default,omitempty"`
	// RenameFrom, on a changed definition, names the field this one was
	// called before: the column is renamed, keeping its data.
	RenameFrom string `json:"x-rename-from,omitempty"`
}

// FieldConstraints are the Frictionless constraints of a field.
type FieldConstraints struct {
	Required  bool              `json:"required,omitempty"`
	Unique    bool              `json:"unique,omitempty"`
	Enum      []json.RawMessage `json:"enum,omitempty"`
	Minimum   *json.Number      `json:"minimum,omitempty"`
	Maximum   *json.Number      `json:"maximum,omitempty"`
	MinLength *int              `json:"minLength,omitempty"`
	MaxLength *int              `json:"maxLength,omitempty"`
	Pattern   string            `json:"pattern,omitempty"` // a POSIX regular expression, anchored by its writer
}

// ForeignKey references another datatable of the same app, or the
// tenant's users (Resource "users", also spelled "auth_user").
type ForeignKey struct {
	Fields    Names       `json:"fields"`
	Reference FKReference `json:"reference"`
	OnDelete  string      `json:"onDelete,omitempty"` // CASCADE, SET NULL, RESTRICT or NO ACTION (the default)
	XActions  *FKXActions `json:"x-actions,omitempty"`
}

// FKReference is what a foreign key points at.
type FKReference struct {
	Resource string `json:"resource"` // a datatable's name, or "users"
	Fields   Names  `json:"fields"`   // its primary key when empty
}

// FKXActions is the form of the referential actions some clients send.
type FKXActions struct {
	OnDelete string `json:"onDelete,omitempty"`
}

// Action returns the foreign key's ON DELETE action as written, from
// OnDelete or, when that is empty, from x-actions.
func (fk ForeignKey) Action() string {
	if fk.OnDelete == "" && fk.XActions != nil {
		return fk.XActions.OnDelete
	}
	return fk.OnDelete
}

// TableIndex is a secondary index over fields of a datatable.
type TableIndex struct {
	Name   string `json:"name,omitempty"`
	Fields Names  `json:"fields"`
	Unique bool   `json:"unique,omitempty"`
	Method string `json:"method,omitempty"` // btree (the default), hash, gin, gist or brin
}

// SearchConfig is the text search configuration of datatables: the
// generated search_vector column of a table with search fields is built
// with it, and search= queries with it.
const SearchConfig = "english"

// SearchField makes a string field part of the table's full-text search,
// with a weight from A (highest) to D.
type SearchField struct {
	Field  string `json:"field"`
	Weight string `json:"weight,omitempty"` // A, B, C or D; D when empty
}

// UnmarshalJSON takes a search field as an object or as a bare field name.
func (f *SearchField) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '"' {
		*f = SearchField{}
		return json.Unmarshal(b, &f.Field)
	}
	type plain SearchField
	return json.Unmarshal(b, (*plain)(f))
}

// Names is a list of field names that JSON may spell as one string or an
// array of strings, as Frictionless does.
type Names []string

// UnmarshalJSON takes a string or an array of strings.
func (n *Names) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*n = Names{s}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(n))
}

// Field returns the field of the schema named name.
func (s TableSchema) Field(name string) (TableField, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return TableField{}, false
}

// Key returns the name of the primary key field: "id" when the schema
// names none.
func (s TableSchema) Key() string {
	if len(s.PrimaryKey) == 0 {
		return "id"
	}
	return s.PrimaryKey[0]
}

// Row is one row of a datatable as its JSON object: field names to values.
type Row = map[string]any
