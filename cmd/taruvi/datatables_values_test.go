package main

import (
	"net/url"
	"testing"
)

// TestDatatableValuesOverHTTP sends a table of every field type, over
// the real server, query values and bodies at the edges of each type
// (overflow, NaN, impossible dates, wrong JSON kinds, NUL, aggregates of
// types they do not apply to): every answer is a 2xx or a 4xx, never a
// 5xx, and the aggregates that cannot apply are a 400 naming _aggregate.
func TestDatatableValuesOverHTTP(t *testing.T) {
	t.Parallel()
	s := startAppsServer(t)
	o := s.newSite(t, "owner")
	_, c := s.siteClients(t, o)
	c.must(t, 201, "POST", "/api/apps/", `{"name":"P"}`)
	c.must(t, 201, "POST", "/api/apps/p/datatables/", `{"name":"all","schema":{"primaryKey":"id","fields":[
		{"name":"id","type":"integer"},{"name":"s","type":"string","constraints":{"pattern":"^[a-z]*$","minLength":0}},{"name":"n","type":"number","constraints":{"minimum":-5,"maximum":1e6}},
		{"name":"i","type":"integer","constraints":{"enum":[1,2,3]}},{"name":"b","type":"boolean"},{"name":"d","type":"date"},{"name":"dt","type":"datetime"},
		{"name":"tm","type":"time"},{"name":"u","type":"uuid"},{"name":"o","type":"object"},{"name":"a","type":"array"}]}}`)
	rows := "/api/apps/p/datatables/all/data/"
	createRow(t, c, rows, `{"s":"abc","n":1.5,"i":1,"b":true,"d":"2026-01-02","dt":"2026-01-02T03:04:05Z","tm":"10:11:12","u":"7b0c8d56-3f51-4b8e-9c45-3f7f0d1e2a3b","o":{"k":1},"a":[1,"x"]}`)
	qs := []string{"page=99999999999999999999", "page=9223372036854775807", "page=922337203685477580&page_size=1000", "i__gt=99999999999999999999", "n=1e400", "n=NaN", "n=Infinity",
		"d=2026-13-45", "dt=yesterday", "tm=25:00", "u=nope", "ordering=-", "ordering=id,id", "ordering=--id", "fields=", "fields=,", "_aggregate=sum(", "_aggregate=sum(o)",
		"_aggregate=avg(s)", "_aggregate=string_agg(s)", "_aggregate=json_agg(o)", "_aggregate=array_agg(a)", "_aggregate=min(b)", "_aggregate=max(u)", "_aggregate=sum(n)&_having=" + url.QueryEscape("sum_n > 'x'"),
		"_group_by=o&_aggregate=count(*)", "_group_by=a&_aggregate=count(*)", "o__contains=k", "a__acontains=x", "a__acontains=1", "o__acontains=k", "s__between=a,b", "b__between=true,false",
		"dt__between=2026-01-01,2026-02-01", "d__gt=2026-01-01", "tm__lt=11:00", "u__in=7b0c8d56-3f51-4b8e-9c45-3f7f0d1e2a3b,x", "s__like=%25", "s__ilike=%25B%25", "i__in=", "i=", "s=",
		"b=yes", "b=1", "search=abc", "populate=*", "populate=s", "filters=" + url.QueryEscape(`[{"operator":"or","value":[]}]`), "filters=" + url.QueryEscape(`{"not":{"i":1}}`),
		"filters=" + url.QueryEscape(`{"and":[{"or":[{"i":1},{"i":2}]},{"not":{"s":"x"}}]}`), "filters=" + url.QueryEscape(`[{"field":"i","operator":"in","value":[1,2]}]`),
		"filters=" + url.QueryEscape(`[{"field":"n","operator":"between","value":[0,2]}]`), "filters=" + url.QueryEscape(`{"o":{"k":1}}`), "filters=" + url.QueryEscape(`{"a__acontains":["x"]}`),
		"s__startswith=" + url.QueryEscape("\x00"), "s=" + url.QueryEscape("\xff"), "i__null=maybe", "d__year=2026", "_count=yes", "_aggregate=min(o)", "_aggregate=max(a)", "_aggregate=min(u)", "_aggregate=min(tm)", "_aggregate=max(d)", "_aggregate=max(s)", "_aggregate=stddev(i)", "_aggregate=variance(n)", "_aggregate=array_agg(u)", "_aggregate=string_agg(i)", "_aggregate=count(o)", "_aggregate=count(u)", "_group_by=u&_aggregate=count(*)&ordering=u", "ordering=o", "ordering=a", "_aggregate=sum(i)&_group_by=b&_having=" + url.QueryEscape("b = true"), "_aggregate=max(u)&_group_by=s&_having=" + url.QueryEscape("max_u > 1")}
	for _, q := range qs {
		status, out := c.call(t, "GET", rows+"?"+q, "")
		if status >= 500 {
			t.Errorf("GET ?%s: %d %.300s", q, status, out)
		}
	}
	bodies := []string{`{"n":1e400}`, `{"n":"NaN"}`, `{"i":4}`, `{"i":1.5}`, `{"i":"1"}`, `{"s":"ABC"}`, `{"d":"2026-02-30"}`, `{"dt":"2026-01-02"}`, `{"tm":"24:00:00"}`,
		`{"u":"x"}`, `{"o":[1]}`, `{"a":{"k":1}}`, `{"b":"true"}`, `{"id":"x"}`, `{"id":9223372036854775807}`, `{"id":99999999999999999999}`, `{"n":-6}`, `{"s":"` + "\u0000" + `"}`,
		`[]`, `[1]`, `[{}]`, `{}`, `null`, `"x"`, `{"nope":1}`, `{"search_vector":"x"}`}
	for _, b := range bodies {
		status, out := c.call(t, "POST", rows, b)
		if status >= 500 {
			t.Errorf("POST %s: %d %.300s", b, status, out)
		}
	}
	for _, agg := range []string{"min(u)", "max(u)", "min(b)", "max(o)", "min(a)", "sum(s)", "avg(d)"} {
		status, out := c.call(t, "GET", rows+"?_aggregate="+url.QueryEscape(agg), "")
		if env := decodeEnvelope(t, out); status != 400 || env.Code != "VALIDATION_ERROR" || env.Errors["_aggregate"] == nil {
			t.Errorf("_aggregate=%s: %d %.300s, want 400 naming _aggregate", agg, status, out)
		}
	}
}

// TestNumberBoundsNameTheField: a number just past its field's maximum
// (beyond float64's precision) is refused as a 400 naming the field, as
// any other value breaking a constraint is, before or after SQL runs.
func TestNumberBoundsNameTheField(t *testing.T) {
	t.Parallel()
	s := startAppsServer(t)
	_, c := s.siteClients(t, s.newSite(t, "owner"))
	c.must(t, 201, "POST", "/api/apps/", `{"name":"P"}`)
	c.must(t, 201, "POST", "/api/apps/p/datatables/", `{"name":"m","schema":{"fields":[
		{"name":"n","type":"number","constraints":{"minimum":-1.5,"maximum":1.5}}]}}`)
	for _, body := range []string{`{"n":1.50000000000000000001}`, `{"n":-1.50000000000000000001}`, `{"n":1.6}`} {
		status, out := c.call(t, "POST", "/api/apps/p/datatables/m/data/", body)
		if env := decodeEnvelope(t, out); status != 400 || env.Code != "VALIDATION_ERROR" || env.Errors["n"] == nil {
			t.Errorf("POST %s: %d %s, want 400 VALIDATION_ERROR naming n", body, status, out)
		}
	}
}
