package dataapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"taruvi"
)

// queryBody is the body of POST …/data/query: a list's parameters as
// JSON, as the newer Python SDK sends them.
type queryBody struct {
	Filters          json.RawMessage `json:"filters"`
	Search           string          `json:"search"`
	Ordering         stringList      `json:"ordering"`
	Populate         stringList      `json:"populate"`
	Fields           stringList      `json:"fields"`
	Aggregate        stringList      `json:"aggregate"`
	GroupBy          stringList      `json:"group_by"`
	Having           stringList      `json:"having"`
	Page             *int            `json:"page"`
	PageSize         *int            `json:"page_size"`
	Count            bool            `json:"count"`
	AllowedActions   stringList      `json:"allowed_actions"`
	Format           string          `json:"format"`
	RelationshipType stringList      `json:"relationship_type"`
	Include          string          `json:"include"`
	Depth            *int            `json:"depth"`
	Vector           json.RawMessage `json:"vector"`
	Hybrid           json.RawMessage `json:"hybrid"`
}

// queryDoc is queryBody as the documentation shows it: the lists also
// take one string, filters is a tree of either form.
type queryDoc struct {
	Filters          any      `json:"filters"`
	Search           string   `json:"search"`
	Ordering         []string `json:"ordering"`
	Populate         []string `json:"populate"`
	Fields           []string `json:"fields"`
	Aggregate        []string `json:"aggregate"`
	GroupBy          []string `json:"group_by"`
	Having           []string `json:"having"`
	Page             int      `json:"page"`
	PageSize         int      `json:"page_size"`
	Count            bool     `json:"count"`
	AllowedActions   []string `json:"allowed_actions"`
	Format           string   `json:"format"`
	RelationshipType []string `json:"relationship_type"`
	Include          string   `json:"include"`
	Depth            int      `json:"depth"`
}

// stringList is a JSON array of strings, or one string.
type stringList []string

// UnmarshalJSON takes a string or an array of strings.
func (l *stringList) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = stringList{s}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(l))
}

// values turns the body into the query parameters of a list.
func (q *queryBody) values() (url.Values, error) {
	if len(bytes.TrimSpace(q.Vector)) > 0 && string(bytes.TrimSpace(q.Vector)) != "null" ||
		len(bytes.TrimSpace(q.Hybrid)) > 0 && string(bytes.TrimSpace(q.Hybrid)) != "null" {
		return nil, fieldError("vector", "Vector and hybrid search are not available on this datatable.")
	}
	v := url.Values{}
	set := func(name string, list []string, sep string) {
		if len(list) > 0 {
			v.Set(name, strings.Join(list, sep))
		}
	}
	if f := bytes.TrimSpace(q.Filters); len(f) > 0 && string(f) != "null" {
		v.Set("filters", string(f))
	}
	if q.Search != "" {
		v.Set("search", q.Search)
	}
	set("ordering", q.Ordering, ",")
	set("populate", q.Populate, ",")
	set("fields", q.Fields, ",")
	set("_aggregate", q.Aggregate, ",")
	set("_group_by", q.GroupBy, ",")
	set("_having", q.Having, " and ")
	set("allowed_actions", q.AllowedActions, ",")
	for name, n := range map[string]*int{"page": q.Page, "page_size": q.PageSize, "depth": q.Depth} {
		if n != nil {
			v.Set(name, strconv.Itoa(*n))
		}
	}
	if q.Count {
		v.Set("_count", "true")
	}
	if q.Format != "" {
		v.Set("format", q.Format)
	}
	if q.Include != "" {
		v.Set("include", q.Include)
	}
	return v, nil
}

func (s *Service) handleQuery(w http.ResponseWriter, r *http.Request) error {
	body, err := signedInBody(w, r)
	if err != nil {
		return err
	}
	var in queryBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if len(body) > 0 {
		if err := dec.Decode(&in); err != nil {
			return &taruvi.Error{Code: taruvi.EINVALID, Message: "The query body is not valid: " + err.Error(),
				Fields: map[string]string{"body": "Want a JSON object of list parameters."}}
		}
	}
	values, err := in.values()
	if err != nil {
		return err
	}
	return s.serveList(w, r, values)
}
