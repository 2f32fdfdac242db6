package taruvi

// FieldKind is the type of a listable field, which decides how filter
// values parse and which operators apply.
type FieldKind int

// Field kinds.
const (
	KindString FieldKind = iota
	KindInt
	KindBool
	KindTime // RFC 3339 timestamps
	KindDate // 2006-01-02
	KindEnum // one of Field.Enum
)

// Field is one field of a resource that lists may filter, order or search
// by. Its name is the query parameter and the column.
type Field struct {
	Name     string
	Kind     FieldKind
	Enum     []string // allowed values of a KindEnum field
	Nullable bool     // the column may be NULL (ordering puts NULLs last)
	Filter   bool     // field=, field__op=
	Order    bool     // ordering=field, ordering=-field
	Search   bool     // matched by search= (text fields)
}

// ListSpec says what a list endpoint accepts.
type ListSpec struct {
	Fields       []Field
	DefaultOrder []Order // applied after the caller's ordering, so pages are stable
}

// FieldByName returns the named field.
func (s ListSpec) FieldByName(name string) (Field, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Filter operators: field=value is OpEq; field__op=value the others.
const (
	OpEq         = "eq"
	OpNe         = "ne"
	OpGt         = "gt"
	OpGte        = "gte"
	OpLt         = "lt"
	OpLte        = "lte"
	OpIn         = "in"
	OpContains   = "contains"
	OpIContains  = "icontains"
	OpStartsWith = "startswith"
	OpEndsWith   = "endswith"
	OpNull       = "null"
)

// Filter is one condition of a list. Value holds the parsed value (string,
// int64, bool, time.Time); Values the list of an OpIn; for OpNull, Value is
// a bool: true means "is null".
type Filter struct {
	Field  string
	Op     string
	Value  any
	Values []any
}

// Order is one key of a list's ordering.
type Order struct {
	Field string
	Desc  bool
}

// ListQuery is a parsed, validated list request.
type ListQuery struct {
	Filters  []Filter
	Order    []Order
	Search   string
	Page     int // from 1
	PageSize int // 1 to MaxPageSize
}

// Paging limits.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// Offset is the number of rows before the page.
func (q ListQuery) Offset() int { return (q.Page - 1) * q.PageSize }
