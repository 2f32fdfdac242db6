package apps

import (
	"encoding/json"
	"time"

	"taruvi"
	"taruvi/internal/dataschema"
)

// The wire shapes of datatables for the OpenAPI document. The handlers
// read and write taruvi.Datatable itself, whose lists of names also take
// a single string (Names) and whose search fields also take a bare field
// name (SearchField); these document the forms the server writes.

// datatable documents taruvi.Datatable.
type datatable struct {
	ID           int64         `json:"id"`
	Name         string        `json:"name"`
	Title        string        `json:"title,omitempty"`
	Description  string        `json:"description,omitempty"`
	Schema       tableSchema   `json:"schema"`
	Indexes      []tableIndex  `json:"indexes,omitempty"`
	SearchFields []searchField `json:"search_fields,omitempty"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
}

// tableSchema documents taruvi.TableSchema.
type tableSchema struct {
	Fields      []tableField `json:"fields"`
	PrimaryKey  []string     `json:"primaryKey,omitempty"`
	ForeignKeys []foreignKey `json:"foreignKeys,omitempty"`
}

// tableField documents taruvi.TableField.
type tableField struct {
	Name        string           `json:"name"`
	Type        string           `json:"type"`
	Title       string           `json:"title,omitempty"`
	Description string           `json:"description,omitempty"`
	Constraints fieldConstraints `json:"constraints,omitempty"`
	Default     json.RawMessage  `json:"default,omitempty"`
	RenameFrom  string           `json:"x-rename-from,omitempty"`
}

// fieldConstraints documents taruvi.FieldConstraints.
type fieldConstraints struct {
	Required  bool              `json:"required,omitempty"`
	Unique    bool              `json:"unique,omitempty"`
	Enum      []json.RawMessage `json:"enum,omitempty"`
	Minimum   *float64          `json:"minimum,omitempty"`
	Maximum   *float64          `json:"maximum,omitempty"`
	MinLength *int              `json:"minLength,omitempty"`
	MaxLength *int              `json:"maxLength,omitempty"`
	Pattern   string            `json:"pattern,omitempty"`
}

// foreignKey documents taruvi.ForeignKey.
type foreignKey struct {
	Fields    []string           `json:"fields"`
	Reference fkReference        `json:"reference"`
	OnDelete  string             `json:"onDelete,omitempty"`
	XActions  *taruvi.FKXActions `json:"x-actions,omitempty"`
}

// fkReference documents taruvi.FKReference.
type fkReference struct {
	Resource string   `json:"resource"`
	Fields   []string `json:"fields,omitempty"` // the referenced primary key when empty
}

// tableIndex documents taruvi.TableIndex.
type tableIndex struct {
	Name   string   `json:"name,omitempty"`
	Fields []string `json:"fields"`
	Unique bool     `json:"unique,omitempty"`
	Method string   `json:"method,omitempty"`
}

// searchField documents taruvi.SearchField.
type searchField struct {
	Field  string `json:"field"`
	Weight string `json:"weight,omitempty"`
}

// datatableChange documents DatatableChange.
type datatableChange struct {
	dataschema.Plan
	Applied   bool       `json:"applied"`
	Datatable *datatable `json:"datatable"`
}
