package dataapi_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestAggregates groups and aggregates orders with every function, names
// results as the contract does (count, sum_total) or by alias, filters
// groups with _having and refuses what does not parse.
func TestAggregates(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tt := s.newTenant(t)
	tt.shop(t)
	seedOrders(t, tt)
	const orders = "/api/apps/shop/datatables/orders/data/?"
	q := url.QueryEscape
	get := func(query string) (int, string, []map[string]any) {
		status, body := tt.do(t, "GET", orders+query, tt.owner, "")
		var env struct{ Data []map[string]any }
		_ = json.Unmarshal([]byte(body), &env)
		return status, body, env.Data
	}

	status, body, rows := get("_aggregate=" + q("count(*),sum(total),avg(qty) as a,min(placed),max(note)") + "&_group_by=paid&ordering=paid")
	if status != 200 || len(rows) != 3 || !strings.Contains(body, `"total":3`) {
		t.Fatalf("group by paid: %d %s", status, body)
	}
	// false: orders 2 and 5; true: 1 and 3; null: 4.
	if r := rows[0]; r["paid"] != false || r["count"] != 2.0 || r["sum_total"] != 70.0 || r["a"] != 3.5 || r["min_placed"] != "2024-02-01" ||
		r["max_note"] == nil {
		t.Errorf("the false group: %v", r)
	}
	if r := rows[1]; r["paid"] != true || r["count"] != 2.0 || r["sum_total"] != 40.5 {
		t.Errorf("the true group: %v", r)
	}
	if r := rows[2]; r["paid"] != nil || r["count"] != 1.0 || r["sum_total"] != nil {
		t.Errorf("the null group: %v", r)
	}

	_, body, rows = get("_aggregate=" + q("count(*),sum(total)") + "&_group_by=paid&_having=" + q("sum_total > 50") + "&ordering=paid")
	if len(rows) != 1 || rows[0]["paid"] != false {
		t.Errorf("having sum_total > 50: %s", body)
	}
	_, body, rows = get("_aggregate=" + q("count(*) as n,sum(qty)") + "&_group_by=customer_id&_having=" + q("n >= 2 and (sum_qty < 5 or sum_qty = 7)") + "&ordering=-n")
	if len(rows) != 2 || rows[0]["n"] != 2.0 {
		t.Errorf("having with and, or and parentheses: %s", body)
	}
	_, body, rows = get("_group_by=paid&_having=" + q("paid = true"))
	if len(rows) != 1 || rows[0]["count"] != 1.0*2 {
		t.Errorf("group by alone counts, having on a group field: %s", body)
	}
	_, body, rows = get("_aggregate=" + q("count(*),count(note),count(distinct customer_id) as customers,sum(qty),avg(total),min(qty),max(qty),"+
		"array_agg(qty),string_agg(note, '|'),json_agg(qty),stddev(qty),variance(qty)") + "&qty__lte=3")
	if len(rows) != 1 {
		t.Fatalf("aggregates without groups: %s", body)
	}
	r := rows[0]
	for name, want := range map[string]string{"count": "3", "count_note": "3", "customers": "2", "sum_qty": "6", "min_qty": "1", "max_qty": "3",
		"array_agg_qty": "[1 2 3]", "json_agg_qty": "[1 2 3]", "variance_qty": "1"} {
		if got := fmt.Sprint(r[name]); got != want {
			t.Errorf("%s: %s, want %s (%s)", name, got, want, body)
		}
	}
	if sa, _ := r["string_agg_note"].(string); len(strings.Split(sa, "|")) != 3 {
		t.Errorf("string_agg with a separator: %v", r["string_agg_note"])
	}
	if _, _, rows = get("_aggregate=count(*)&_group_by=customer_id&page_size=1&page=2&ordering=customer_id"); len(rows) != 1 {
		t.Errorf("a page of groups: %v", rows)
	}
	if _, body, _ = get("_aggregate=count(*)&_group_by=customer_id&_count=true"); !strings.Contains(body, `"total":3`) {
		t.Errorf("counting groups: %s", body)
	}

	for _, bad := range []struct{ query, want string }{
		{"_aggregate=" + q("foo(qty)"), "foo"}, {"_aggregate=" + q("sum(note)"), "number field"}, {"_aggregate=" + q("sum(nope)"), "nope"},
		{"_aggregate=" + q("min(meta)"), "min"}, {"_aggregate=" + q("sum(*)"), "sum(*)"}, {"_aggregate=" + q("count(*); drop table x"), "_aggregate"},
		{"_aggregate=" + q("count(*) as x,sum(qty) as x"), "twice"}, {"_aggregate=" + q("sum(qty, 'x')"), "separator"},
		{"_group_by=nope", "nope"}, {"_having=" + q("count > 1"), "_having"},
		{"_aggregate=count(*)&_having=" + q("count >>> 1"), "_having"}, {"_aggregate=count(*)&_having=" + q("nope > 1"), "nope"},
		{"_aggregate=count(*)&_having=" + q("count > x"), "number"}, {"_aggregate=count(*)&_having=" + q("(count > 1"), "_having"},
		{"_aggregate=count(*)&ordering=qty", "ordering"},
	} {
		status, body, _ := get(bad.query)
		if status != 400 || !strings.Contains(body, `"VALIDATION_ERROR"`) || !strings.Contains(body, bad.want) {
			t.Errorf("%s: %d %s, want 400 with %s", bad.query, status, body, bad.want)
		}
	}
}

// TestPopulate replaces foreign keys by the rows they reference: one key,
// *, dotted two deep, the tenant's users (never their password hash), and
// on a single row's read.
func TestPopulate(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tt := s.newTenant(t)
	tt.shop(t)
	c1, _ := seedOrders(t, tt)
	var userID int64
	status, body := tt.do(t, "GET", "/api/users/me/", tt.owner, "")
	var me struct{ ID int64 }
	data(t, body, &me)
	userID = me.ID
	if status, body = tt.do(t, "PATCH", "/api/apps/shop/datatables/customers/data/"+c1, tt.owner, fmt.Sprintf(`{"user_id":%d}`, userID)); status != 200 {
		t.Fatalf("set user_id: %d %s", status, body)
	}

	status, body = tt.do(t, "GET", "/api/apps/shop/datatables/orders/data/?populate=customer_id&ordering=qty", tt.owner, "")
	var orders []map[string]any
	data(t, body, &orders)
	if status != 200 || len(orders) != 5 {
		t.Fatalf("populate: %d %s", status, body)
	}
	if c, ok := orders[0]["customer_id"].(map[string]any); !ok || c["name"] != "Ann" {
		t.Errorf("populated customer: %v", orders[0]["customer_id"])
	}
	if orders[4]["customer_id"] != nil {
		t.Errorf("a null foreign key stays null: %v", orders[4]["customer_id"])
	}

	// A line of order 1: populate two deep, and the customer's user.
	_, body = tt.do(t, "GET", "/api/apps/shop/datatables/orders/data/?qty=1", tt.owner, "")
	var o1 []map[string]any
	data(t, body, &o1)
	status, body = tt.do(t, "POST", "/api/apps/shop/datatables/lines/data/", tt.owner, fmt.Sprintf(`{"order_id":%q,"sku":"SKU-1"}`, o1[0]["id"]))
	if status != 201 {
		t.Fatalf("line: %d %s", status, body)
	}
	status, body = tt.do(t, "GET", "/api/apps/shop/datatables/lines/data/?populate="+url.QueryEscape("order_id.customer_id.user_id"), tt.owner, "")
	if status != 200 || !strings.Contains(body, `"sku":"SKU-1"`) || !strings.Contains(body, `"name":"Ann"`) ||
		!strings.Contains(body, `"email":"owner@example.test"`) || strings.Contains(body, "password") {
		t.Errorf("populate three deep: %d %s", status, body)
	}
	status, body = tt.do(t, "GET", "/api/apps/shop/datatables/customers/data/"+c1+"/?populate=*", tt.owner, "")
	if status != 200 || !strings.Contains(body, `"user_id":{"id":`) || strings.Contains(body, "password") {
		t.Errorf("populate * on one row: %d %s", status, body)
	}
	status, body = tt.do(t, "GET", "/api/apps/shop/datatables/customers/data/?populate=user_id.x", tt.owner, "")
	if status != 400 || !strings.Contains(body, "users") {
		t.Errorf("following a user's foreign key: %d %s", status, body)
	}
}
