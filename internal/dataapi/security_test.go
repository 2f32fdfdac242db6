package dataapi_test

import (
	"net/url"
	"strings"
	"sync"
	"testing"

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
