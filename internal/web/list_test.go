package web_test

import (
	"errors"
	"net/url"
	"reflect"
	"testing"

	"taruvi"
	"taruvi/internal/web"
)

// TestParseList: one parser reads the lists of both surfaces. The API's
// names and the admin's differ, and a form's empty fields are no filter,
// but both refuse the same things with the same words, text PostgreSQL
// cannot store included, even when no server checked it before.
func TestParseList(t *testing.T) {
	t.Parallel()
	admin := web.ListParams{Ordering: "sort", Search: "q", Filters: []string{"status", "project_id"}, Form: true}
	for _, tt := range []struct {
		name   string
		query  string
		params web.ListParams
		want   taruvi.ListQuery
		bad    map[string]string // nil: no error
	}{
		{name: "API defaults", query: "", params: web.APIList, want: taruvi.ListQuery{Page: 1, PageSize: taruvi.DefaultPageSize}},
		{name: "API everything", query: "page=2&page_size=5&ordering=-priority,title&search=+plan+&status__in=todo,done&project_id=7",
			params: web.APIList, want: taruvi.ListQuery{Page: 2, PageSize: 5, Search: "plan",
				Order: []taruvi.Order{{Field: "priority", Desc: true}, {Field: "title"}},
				Filters: []taruvi.Filter{{Field: "project_id", Op: "eq", Value: int64(7)},
					{Field: "status", Op: "in", Values: []any{"todo", "done"}}}}},
		{name: "admin form", query: "q=&status=+todo+&project_id=&sort=title", params: admin,
			want: taruvi.ListQuery{Page: 1, PageSize: taruvi.DefaultPageSize, Order: []taruvi.Order{{Field: "title"}},
				Filters: []taruvi.Filter{{Field: "status", Op: "eq", Value: "todo"}}}},
		{name: "API empty enum", query: "status=", params: web.APIList,
			bad: map[string]string{"status": "Use one of todo, in_progress, done."}},
		{name: "API unknown", query: "colour=red&status__like=x&ordering=colour&page=0", params: web.APIList,
			bad: map[string]string{"colour": "Unknown filter.", "status__like": `Unknown operator "like" for status.`,
				"ordering": `Cannot order by "colour".`, "page": "Use a whole number from 1."}},
		{name: "admin unknown", query: "colour=red&status__like=x&sort=colour&priority=1", params: admin,
			bad: map[string]string{"colour": "Unknown filter.", "status__like": `Unknown operator "like" for status.`,
				"sort": `Cannot order by "colour".`, "priority": "Unknown filter."}},
		{name: "API text", query: "search=%FF&title=a%00", params: web.APIList,
			bad: map[string]string{"search": "Use valid UTF-8 text without NUL characters.", "title": "Use valid UTF-8 text without NUL characters."}},
		{name: "admin text", query: "q=%FF&status=a%00", params: admin,
			bad: map[string]string{"q": "Use valid UTF-8 text without NUL characters.", "status": "Use valid UTF-8 text without NUL characters."}},
	} {
		values, err := url.ParseQuery(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		got, err := web.ParseList(values, taruvi.TaskListSpec, tt.params)
		if tt.bad != nil {
			var te *taruvi.Error
			if !errors.As(err, &te) || te.Code != taruvi.EINVALID || !reflect.DeepEqual(te.Fields, tt.bad) {
				t.Errorf("%s: error %#v, want EINVALID with %v", tt.name, err, tt.bad)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %+v, %v\nwant %+v", tt.name, got, err, tt.want)
		}
	}
}
