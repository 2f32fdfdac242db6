package dataapi_test

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"taruvi"
	"taruvi/internal/dataapi"
)

// TestCountGroupsCountsInTheDatabase counts groups with one count query
// and reads none of the groups.
func TestCountGroupsCountsInTheDatabase(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	s := newStack(t, dataapi.WithObserver(func(sql string) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, sql)
	}))
	tt := s.newTenant(t)
	tt.shop(t)
	seedOrders(t, tt)
	mu.Lock()
	seen = nil
	mu.Unlock()
	status, body := tt.do(t, "GET", "/api/apps/shop/datatables/orders/data/?_aggregate="+url.QueryEscape("count(*),array_agg(note)")+
		"&_group_by=paid&_count=true", tt.owner, "")
	if status != 200 || !strings.Contains(body, `"total":3`) {
		t.Fatalf("counting groups: %d %s", status, body)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, sql := range seen {
		if strings.Contains(sql, "OVER ()") {
			t.Errorf("counting groups read the groups: %s", sql)
		}
	}
	if len(seen) == 0 {
		t.Error("no statement seen")
	}
}

// TestCollectingAggregatesAreBounded refuses more than five of
// array_agg, string_agg and json_agg in one request.
func TestCollectingAggregatesAreBounded(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tt := s.newTenant(t)
	tt.shop(t)
	seedOrders(t, tt)
	const orders = "/api/apps/shop/datatables/orders/data/?_group_by=paid&_aggregate="
	five := "array_agg(qty),string_agg(note),json_agg(total),array_agg(note) as a,json_agg(qty) as b"
	if status, body := tt.do(t, "GET", orders+url.QueryEscape(five), tt.owner, ""); status != 200 {
		t.Errorf("five collecting aggregates: %d %s", status, body)
	}
	if status, body := tt.do(t, "GET", orders+url.QueryEscape(five+",string_agg(note, '|') as c"), tt.owner, ""); status != 400 ||
		!strings.Contains(body, "_aggregate") {
		t.Errorf("six collecting aggregates: %d %s", status, body)
	}
	if status, body := tt.do(t, "GET", orders+url.QueryEscape(five+",count(*),sum(qty)"), tt.owner, ""); status != 200 {
		t.Errorf("five collecting aggregates and others: %d %s", status, body)
	}
}

// nodes defines a table of eleven foreign keys to itself, p1 to p11.
func nodes(t *testing.T, tt *tenant) {
	t.Helper()
	var ddl, fields, fks []string
	for i := 1; i <= 11; i++ {
		ddl = append(ddl, fmt.Sprintf("p%d bigint REFERENCES dt_nodes (id)", i))
		fields = append(fields, fmt.Sprintf(`{"name":"p%d","type":"integer"}`, i))
		fks = append(fks, fmt.Sprintf(`{"fields":["p%d"],"reference":{"resource":"nodes"}}`, i))
	}
	tt.define(t, "shop", "dt_nodes", "CREATE TABLE dt_nodes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "+strings.Join(ddl, ", ")+")",
		`{"name":"nodes","schema":{"fields":[{"name":"id","type":"integer"},`+strings.Join(fields, ",")+`],"primaryKey":["id"],"foreignKeys":[`+
			strings.Join(fks, ",")+`]}}`)
}

// TestPopulateIsBounded refuses a * over more than ten foreign keys and
// more than twenty foreign keys followed in one request.
func TestPopulateIsBounded(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tt := s.newTenant(t)
	nodes(t, tt)
	const list = "/api/apps/shop/datatables/nodes/data/?populate="
	if status, body := tt.do(t, "GET", list+"*", tt.owner, ""); status != 400 || !strings.Contains(body, "populate") {
		t.Errorf("* over eleven foreign keys: %d %s", status, body)
	}
	ten := "p1,p2,p3,p4,p5,p6,p7,p8,p9,p10"
	if status, body := tt.do(t, "GET", list+url.QueryEscape(ten+",p1.p1,p1.p2,p1.p3,p2.p1,p2.p2,p2.p3,p3.p1,p3.p2,p3.p3,p4.p1"), tt.owner, ""); status != 200 {
		t.Errorf("twenty foreign keys: %d %s", status, body)
	}
	if status, body := tt.do(t, "GET", list+url.QueryEscape(ten+",p1.p1,p1.p2,p1.p3,p2.p1,p2.p2,p2.p3,p3.p1,p3.p2,p3.p3,p4.p1,p4.p2"), tt.owner, ""); status != 400 ||
		!strings.Contains(body, "populate") {
		t.Errorf("twenty-one foreign keys: %d %s", status, body)
	}
	if status, body := tt.do(t, "GET", list+url.QueryEscape("p1.p1.p1,p1.p1.p2"), tt.owner, ""); status != 200 {
		t.Errorf("a few foreign keys deep: %d %s", status, body)
	}
}

// TestPopulateUsersNeedsViewUser shows a populated user in full only to
// whom may list the users: to others, its id alone.
func TestPopulateUsersNeedsViewUser(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tt := s.newTenant(t)
	tt.shop(t)
	c1, _ := seedOrders(t, tt)
	var me struct{ ID int64 }
	status, body := tt.do(t, "GET", "/api/users/me/", tt.owner, "")
	if status != 200 {
		t.Fatalf("me: %d %s", status, body)
	}
	data(t, body, &me)
	if status, body = tt.do(t, "PATCH", "/api/apps/shop/datatables/customers/data/"+c1, tt.owner, fmt.Sprintf(`{"user_id":%d}`, me.ID)); status != 200 {
		t.Fatalf("set user_id: %d %s", status, body)
	}
	viewer := tt.user(t, "viewer", false, taruvi.PermViewData)
	lister := tt.user(t, "lister", false, taruvi.PermViewData, taruvi.PermViewUser)
	get := func(auth string) map[string]any {
		t.Helper()
		status, body := tt.do(t, "GET", "/api/apps/shop/datatables/customers/data/"+c1+"/?populate=user_id", auth, "")
		if status != 200 {
			t.Fatalf("populate user_id: %d %s", status, body)
		}
		var row map[string]any
		data(t, body, &row)
		u, _ := row["user_id"].(map[string]any)
		return u
	}
	if u := get(viewer); len(u) != 1 || u["id"] != float64(me.ID) {
		t.Errorf("a viewer without users.view_user sees %v", u)
	}
	for name, auth := range map[string]string{"owner": tt.owner, "lister": lister} {
		if u := get(auth); u["id"] != float64(me.ID) || u["email"] != "owner@example.test" {
			t.Errorf("%s sees %v", name, u)
		}
	}
	status, body = tt.do(t, "GET", "/api/apps/shop/datatables/customers/data/?populate=user_id", viewer, "")
	if status != 200 || strings.Contains(body, "owner@example.test") {
		t.Errorf("a viewer's list: %d %s", status, body)
	}
}

// TestWritesWithoutViewData answers a caller who may change rows but not
// read them with the keys of the rows written, never their values.
func TestWritesWithoutViewData(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tt := s.newTenant(t)
	tt.shop(t)
	c1, _ := seedOrders(t, tt)
	blind := tt.user(t, "blind", false, taruvi.PermChangeData)
	writer := tt.user(t, "writer", false, taruvi.PermViewData, taruvi.PermChangeData)
	const cust = "/api/apps/shop/datatables/customers/data/"
	for _, tc := range []struct{ name, method, path, body, want string }{
		{"create one", "POST", cust, `{"name":"Cy","email":"cy@x.test"}`, `"data":{"id":`},
		{"create many", "POST", cust, `[{"name":"Di"},{"name":"Ed"}]`, `"data":[{"id":`},
		{"patch nothing", "PATCH", cust + c1, `{}`, `"data":{"id":` + c1 + `}`},
		{"patch", "PATCH", cust + c1, `{"tier":"gold"}`, `"data":{"id":` + c1 + `}`},
		{"bulk update", "PATCH", cust, `[{"id":` + c1 + `}]`, `"records":[{"id":` + c1 + `}]`},
		{"upsert", "POST", cust + "upsert", `[{"id":` + c1 + `,"name":"Ann"}]`, `"records":[{"id":` + c1 + `}]`},
	} {
		status, body := tt.do(t, tc.method, tc.path, blind, tc.body)
		if status/100 != 2 || !strings.Contains(body, tc.want) || strings.Contains(body, `"name"`) || strings.Contains(body, "@x.test") {
			t.Errorf("%s without view_data: %d %s", tc.name, status, body)
		}
	}
	if status, body := tt.do(t, "PATCH", cust+c1, writer, `{}`); status != 200 || !strings.Contains(body, `"name":"Ann"`) {
		t.Errorf("patch nothing with view_data: %d %s", status, body)
	}
	if status, body := tt.do(t, "POST", cust, writer, `{"name":"Fay"}`); status != 201 || !strings.Contains(body, `"name":"Fay"`) {
		t.Errorf("create with view_data: %d %s", status, body)
	}
}

// TestUUIDKeysWithoutDashes finds a row by its uuid key written without
// dashes, in upper case, on every path that names a row by its key.
func TestUUIDKeysWithoutDashes(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tt := s.newTenant(t)
	tt.shop(t)
	seedOrders(t, tt)
	const orders = "/api/apps/shop/datatables/orders/data/"
	_, body := tt.do(t, "GET", orders+"?qty=1", tt.owner, "")
	var rows []map[string]any
	data(t, body, &rows)
	if len(rows) != 1 {
		t.Fatalf("order 1: %s", body)
	}
	id := rows[0]["id"].(string)
	bare := strings.ToUpper(strings.ReplaceAll(id, "-", ""))
	for _, tc := range []struct{ name, method, path, body string }{
		{"read", "GET", orders + bare, ""},
		{"update", "PATCH", orders + bare, `{"qty":11}`},
		{"update naming the key", "PATCH", orders + bare, `{"id":"` + bare + `","qty":12}`},
		{"bulk update", "PATCH", orders, `[{"id":"` + bare + `","qty":13}]`},
	} {
		if status, body := tt.do(t, tc.method, tc.path, tt.owner, tc.body); status != 200 || !strings.Contains(body, id) {
			t.Errorf("%s by %s: %d %s", tc.name, bare, status, body)
		}
	}
	if _, body := tt.do(t, "GET", orders+id, tt.owner, ""); !strings.Contains(body, `"qty":13`) {
		t.Errorf("after the updates: %s", body)
	}
}

// TestEmptyLogicalGroupsAreRefused refuses an and, or or not without
// conditions in a tree, in a list's filters and in a bulk delete's
// filter, so that no empty group turned around deletes every row.
func TestEmptyLogicalGroupsAreRefused(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tt := s.newTenant(t)
	tt.shop(t)
	seedOrders(t, tt)
	const orders = "/api/apps/shop/datatables/orders/data/"
	q := url.QueryEscape
	for _, tc := range []struct{ name, method, query, param string }{
		{"delete: not of an empty or", "DELETE", "filter=" + q(`{"not":{"or":[]}}`), "filter"},
		{"delete: an empty or", "DELETE", "filter=" + q(`{"or":[]}`), "filter"},
		{"delete: an empty and under a tree", "DELETE", "filter=" + q(`{"filters":{"not":{"and":[]}}}`), "filters"},
		{"delete: an empty operator node", "DELETE", "filter=" + q(`{"filters":[{"operator":"not","value":[{"operator":"or","value":[]}]}]}`), "filters"},
		{"list: an empty or", "GET", "filters=" + q(`{"not":{"or":[]}}`), "filters"},
		{"list: an empty and node", "GET", "filters=" + q(`[{"operator":"and","value":[]}]`), "filters"},
	} {
		status, body := tt.do(t, tc.method, orders+"?"+tc.query, tt.owner, "")
		if status != 400 || !strings.Contains(body, `"`+tc.param+`"`) || !strings.Contains(body, "at least one condition") {
			t.Errorf("%s: %d %s", tc.name, status, body)
		}
	}
	status, body := tt.do(t, "GET", orders+"?_count=true", tt.owner, "")
	if status != 200 || !strings.Contains(body, `"total":5`) {
		t.Errorf("the orders after: %d %s", status, body)
	}
	if status, body := tt.do(t, "GET", orders+"?filters="+q(`{"or":[{"qty":1},{"qty":2}]}`), tt.owner, ""); status != 200 || !strings.Contains(body, `"total":2`) {
		t.Errorf("a filled or: %d %s", status, body)
	}
}
