package dataapi

import (
	"net/http"

	"taruvi"
)

// Tag is the documentation tag of the data API's operations; the module
// that serves the routes declares it.
const Tag = "datatable data"

// base is the path of a datatable's rows.
const base = "/api/apps/{app}/datatables/{name}/data"

// Parameters of the data routes.
var (
	appParam  = taruvi.Param{Name: "app", Kind: taruvi.KindString, Description: "The app's slug."}
	nameParam = taruvi.Param{Name: "name", Kind: taruvi.KindString, Description: "The datatable's name."}
	idParam   = taruvi.Param{Name: "id", Kind: taruvi.KindString,
		Description: "The record's primary key, URL-encoded as one segment (%2F and raw slashes alike)."}
	tablePath  = []taruvi.Param{appParam, nameParam}
	recordPath = []taruvi.Param{appParam, nameParam, idParam}
	str        = func(name, desc string) taruvi.Param {
		return taruvi.Param{Name: name, Kind: taruvi.KindString, Description: desc}
	}
	listQueryParams = []taruvi.Param{
		{Name: "page", Kind: taruvi.KindInt, Description: "The page, from 1."},
		{Name: "page_size", Kind: taruvi.KindInt, Description: "Rows a page, 1 to 1000 (20 by default)."},
		str("ordering", "Comma-separated fields, - first for descending: -salary,hire_date."),
		str("fields", "Comma-separated fields to return."),
		str("populate", "Foreign keys to replace by the rows they reference: customer,items.product or *; at most 3 deep."),
		str("search", "Full-text search over the table's search fields, ranked; ignored on a table without any."),
		{Name: "_count", Kind: taruvi.KindBool, Description: "true: the total alone."},
		str("filters", `A JSON filter tree, ANDed with the field filters: [{"operator":"or","value":[{"field":"a","operator":"eq","value":1},...]}] or {"or":[{"a":1},{"b__gt":2}]}, with "and" and "not".`),
		str("_aggregate", "count(*),sum(total) as s,...: count sum avg min max array_agg string_agg json_agg stddev variance."),
		str("_group_by", "Comma-separated group fields."),
		str("_having", "Conditions on aggregates and group fields: sum_total > 1000 and count >= 2."),
		str("{field}", "A filter: field=value, or field__op=value with op one of eq ne gt gte lt lte in nin ina nina contains ncontains "+
			"containss ncontainss icontains nicontains startswith nstartswith startswiths nstartswiths endswith nendswith endswiths "+
			"nendswiths between nbetween null nnull isnull like ilike search acontains nacontains acontainedby nacontainedby aoverlap "+
			"naoverlap aelement naelement; lists comma-separated."),
	}
)

// row is a datatable's row in the documentation: an object of its fields.
type row = map[string]any

// Routes are the data API's routes with their OpenAPI operations (the per-table
// endpoints once, generically), for the apps module's Parts().Routes.
func (s *Service) Routes() []taruvi.Route {
	const (
		s400, s401, s403, s404, s409, s413, s415 = 400, 401, 403, 404, 409, 413, 415
	)
	return []taruvi.Route{
		{Pattern: "GET " + base, Handler: s.handleList, Operation: taruvi.Operation{Tag: Tag, Summary: "List or aggregate rows",
			Description: "A page of rows with total and pagination, filtered, ordered, projected and populated; with _aggregate or _group_by, one row per group.",
			Path:        tablePath, Query: listQueryParams, Response: []row{}, Errors: []int{s400, s401, s403, s404}}},
		{Pattern: "POST " + base, Handler: s.handleCreate, Operation: taruvi.Operation{Tag: Tag, Summary: "Create rows",
			Description: "A JSON object creates one row, an array of objects many, in one statement. A duplicate unique value is 409.",
			Path:        tablePath, Request: row{}, Response: row{}, Status: http.StatusCreated, Errors: []int{s400, s401, s403, s404, s409, s413, s415}}},
		{Pattern: "PATCH " + base, Handler: s.handleBulkUpdate, Operation: taruvi.Operation{Tag: Tag, Summary: "Update rows",
			Description: "An array of objects, each with the primary key: data is {count, records}.",
			Path:        tablePath, Request: []row{}, Response: bulkResult{}, Errors: []int{s400, s401, s403, s404, s409, s413, s415}}},
		{Pattern: "DELETE " + base, Handler: s.handleBulkDelete, Operation: taruvi.Operation{Tag: Tag, Summary: "Delete rows",
			Description: "The rows of ids=1,2,3 and/or of filter=<JSON object of field filters, with a \"filters\" tree>: data is {deleted_count, message}.",
			Path:        tablePath, Query: []taruvi.Param{str("ids", "Comma-separated primary keys."), str("filter", "A JSON object of filters.")},
			Response: deleteResult{}, Errors: []int{s400, s401, s403, s404, s409}}},
		{Pattern: "POST " + base + "/upsert", Handler: s.handleUpsert, Operation: taruvi.Operation{Tag: Tag, Summary: "Upsert rows",
			Description: "Inserts each row, or updates the row with the same unique_fields (the primary key when not given): data is {count, records}.",
			Path:        tablePath, Query: []taruvi.Param{str("unique_fields", "Comma-separated fields of a unique constraint.")},
			Request: []row{}, Response: bulkResult{}, Errors: []int{s400, s401, s403, s404, s409, s413, s415}}},
		{Pattern: "GET " + base + "/{id...}", Handler: s.handleGet, Operation: taruvi.Operation{Tag: Tag, Summary: "Read a row",
			Path: recordPath, Query: []taruvi.Param{listQueryParams[3], listQueryParams[4]}, Response: row{}, Errors: []int{s400, s401, s403, s404}}},
		{Pattern: "PATCH " + base + "/{id...}", Handler: s.handleUpdate, Operation: taruvi.Operation{Tag: Tag, Summary: "Update a row",
			Description: "The fields to change.",
			Path:        recordPath, Request: row{}, Response: row{}, Errors: []int{s400, s401, s403, s404, s409, s413, s415}}},
		{Pattern: "DELETE " + base + "/{id...}", Handler: s.handleDelete, Operation: taruvi.Operation{Tag: Tag, Summary: "Delete a row",
			Path: recordPath, Errors: []int{s401, s403, s404, s409}}},
	}
}

// APITag is the tag the module declares for the routes.
var APITag = taruvi.APITag{Name: Tag, Description: "The rows of an app's datatables, as the Taruvi SDKs read and write them."}
