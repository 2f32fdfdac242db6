package main

import (
	"strings"
	"testing"
)

// A tiny shape of the datatables bench: every figure present and positive,
// the seed's triggers reported, the database dropped.
func TestBenchDatatables(t *testing.T) {
	t.Parallel()
	out, stderr := runBenchOK(t, runBenchDatatables, "--tenants", "2", "--rows", "1000", "--big-rows", "2000", "--tables", "4",
		"--concurrency", "2", "--duration", "1500ms", "--json")
	stable := []string{"list_rps", "list_p99_ms", "insert_rps", "bulk_rows_per_s", "create_table_p95_ms", "add_field_ms", "group_by_ms"}
	keys, v := jsonKeys(t, out)
	wantPrefix(t, keys, stable)
	for _, k := range append(stable, "list_p50_ms", "insert_p99_ms", "insert_p50_ms", "bulk_p99_ms", "bulk_p50_ms", "create_table_p50_ms",
		"lists", "inserts", "bulks", "bulk_rows", "created_tables", "tenants", "rows", "big_rows", "concurrency", "duration_s",
		"read_cache_ttl_s", "seed_s", "list_cpu_us", "insert_cpu_us", "bulk_cpu_us_per_row") {
		if !(v[k] > 0) {
			t.Errorf("%s = %v, want a positive number: %s", k, v[k], out)
		}
	}
	if x, ok := v["db_max_conns"]; !ok || x < 0 {
		t.Errorf("db_max_conns = %v, want 0 (the default pool size) or more: %s", x, out)
	}
	// The PostgreSQL share is there when the backends can be seen (a
	// local server), and then positive.
	for _, k := range []string{"list_pg_cpu_us", "insert_pg_cpu_us", "bulk_pg_cpu_us_per_row"} {
		if x, ok := v[k]; ok && !(x > 0) {
			t.Errorf("%s = %v, want a positive number: %s", k, x, out)
		}
	}
	if v["tenants"] != 2 || v["rows"] != 1000 || v["big_rows"] != 2000 || v["created_tables"] != 4 || v["concurrency"] != 2 {
		t.Errorf("tenants, rows, big_rows, created_tables, concurrency = %v, %v, %v, %v, %v; want 2, 1000, 2000, 4, 2",
			v["tenants"], v["rows"], v["big_rows"], v["created_tables"], v["concurrency"])
	}
	// Each client lists, inserts and bulk-inserts at least once.
	if v["lists"] < 2 || v["inserts"] < 2 || v["bulks"] < 2 || v["bulk_rows"] != v["bulks"]*bulkRows {
		t.Errorf("lists %v, inserts %v, bulks %v of %v rows: want at least one of each per client, %d rows each",
			v["lists"], v["inserts"], v["bulks"], v["bulk_rows"], bulkRows)
	}
	if v["list_p50_ms"] > v["list_p99_ms"] || v["insert_p50_ms"] > v["insert_p99_ms"] || v["bulk_p50_ms"] > v["bulk_p99_ms"] ||
		v["create_table_p50_ms"] > v["create_table_p95_ms"] {
		t.Errorf("a p50 above its p99 or p95: %s", out)
	}
	wantStderr(t, stderr, "seeded tenants 2/2", "signed in owners 2/2", "triggers disabled", "seeded datatables 2/2", "seeded 2000 rows")
}

func TestBenchDatatablesHumanOutput(t *testing.T) {
	t.Parallel()
	out, _ := runBenchOK(t, runBenchDatatables, "--tenants", "1", "--rows", "1000", "--big-rows", "1000", "--tables", "1",
		"--concurrency", "1", "--duration", "600ms")
	if !strings.HasPrefix(out, "bench datatables, 1 tenants of 1000 rows, 1 clients over HTTP: lists ") ||
		!strings.Contains(out, "), inserts ") || !strings.Contains(out, " rows/s (p99 ") || !strings.Contains(out, "add field to 1000 rows ") {
		t.Errorf("output = %q", out)
	}
}

func TestBenchDatatablesUsage(t *testing.T) {
	t.Parallel()
	checkUsage(t, "bench datatables", runBenchDatatables, []usageCase{
		{[]string{"--tenants", "0"}, "--tenants must be from 1 to 10000, got 0"},
		{[]string{"--rows", "999"}, "--rows must be from 1000 to 10000000, got 999"},
		{[]string{"--big-rows", "10"}, "--big-rows must be from 1000 to 100000000, got 10"},
		{[]string{"--tables", "0"}, "--tables must be from 1 to 10000, got 0"},
		{[]string{"--concurrency", "0"}, "--concurrency must be from 1 to 1024, got 0"},
		{[]string{"--duration", "10ms"}, "--duration must be from 200ms to 1h, got 10ms"},
		{[]string{"extra"}, `bench datatables takes no arguments, got ["extra"]`},
		{[]string{"--database", "mysql://localhost/x"}, "--database must be a postgres:// URL"},
		{[]string{"--bogus"}, ""},
	})
}
