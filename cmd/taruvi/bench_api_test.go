package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"taruvi/internal/postgres/postgrestest"
)

func TestBenchAPI(t *testing.T) {
	t.Parallel()
	out, stderr := runBenchOK(t, runBenchAPI,
		"--tenants", "2", "--projects", "5", "--concurrency", "2", "--duration", "1s", "--json")
	keys, v := jsonKeys(t, out)
	wantPrefix(t, keys, []string{"read_rps", "read_p99_ms", "write_rps", "write_p99_ms"})
	for _, k := range []string{"read_rps", "read_p99_ms", "write_rps", "write_p99_ms", "project_write_rps", "project_write_p99_ms",
		"read_p50_ms", "write_p50_ms", "project_write_p50_ms", "reads", "writes", "project_writes"} {
		if !(v[k] > 0) {
			t.Errorf("%s = %v, want a positive number: %s", k, v[k], out)
		}
	}
	if v["tenants"] != 2 || v["projects"] != 5 || v["concurrency"] != 2 || v["duration_s"] != 1 {
		t.Errorf("tenants, projects, concurrency, duration_s = %v, %v, %v, %v; want 2, 5, 2, 1",
			v["tenants"], v["projects"], v["concurrency"], v["duration_s"])
	}
	// Each client reads and writes at least once.
	if v["reads"] < 2 || v["writes"] < 2 || v["project_writes"] < 2 {
		t.Errorf("reads %v, writes %v, project writes %v: want at least one per client", v["reads"], v["writes"], v["project_writes"])
	}
	if v["read_p50_ms"] > v["read_p99_ms"] || v["write_p50_ms"] > v["write_p99_ms"] || v["project_write_p50_ms"] > v["project_write_p99_ms"] {
		t.Errorf("a p50 above its p99: %s", out)
	}
	if v["read_cache_ttl_s"] != 2 {
		t.Errorf("read_cache_ttl_s = %v, want the default 2", v["read_cache_ttl_s"])
	}
	wantStderr(t, stderr, "seeded tenants 2/2", "signed in owners 2/2")
}

// TARUVI_READ_CACHE_TTL=0 from the environment turns the read cache off,
// so that every read reaches the database.
func TestBenchAPIReadCacheOff(t *testing.T) {
	t.Parallel()
	var stdout bytes.Buffer
	var stderr syncBuffer
	getenv := func(name string) string {
		if name == "TARUVI_READ_CACHE_TTL" {
			return "0"
		}
		return ""
	}
	err := runBenchAPI(context.Background(), env{args: []string{"--tenants", "1", "--projects", "3", "--concurrency", "1",
		"--duration", "600ms", "--json", "--database", postgrestest.NewScratch(t)}, getenv: getenv, stdout: &stdout, stderr: &stderr})
	if err != nil {
		t.Fatalf("bench api: %v\n%s", err, stderr.String())
	}
	assertDropped(t, stderr.String())
	_, v := jsonKeys(t, stdout.String())
	if v["read_cache_ttl_s"] != 0 || !(v["reads"] > 0) {
		t.Errorf("read_cache_ttl_s = %v, reads = %v; want 0 and some reads", v["read_cache_ttl_s"], v["reads"])
	}
}

// With more projects than a page, every read must return a full page of 20.
func TestBenchAPIHumanOutput(t *testing.T) {
	t.Parallel()
	out, _ := runBenchOK(t, runBenchAPI,
		"--tenants", "1", "--projects", "25", "--concurrency", "1", "--duration", "400ms")
	if !strings.HasPrefix(out, "bench api, 1 tenants of 25 projects, 1 clients over HTTP: reads ") || !strings.Contains(out, "), writes ") ||
		!strings.Contains(out, "), project writes ") {
		t.Errorf("output = %q", out)
	}
}

// Ctrl-C while the tenants are being seeded still drops the database and
// roles.
func TestBenchAPIInterrupted(t *testing.T) {
	t.Parallel()
	stderr := runInterrupted(t, runBenchAPI, "seeded tenants", "--tenants", "30", "--projects", "5", "--duration", "10s", "--json")
	if strings.Contains(stderr, "seeded tenants 30/30") {
		t.Errorf("the seed went on after the interruption:\n%s", stderr)
	}
}

func TestBenchAPIUsage(t *testing.T) {
	t.Parallel()
	checkUsage(t, "bench api", runBenchAPI, []usageCase{
		{[]string{"--tenants", "0"}, "--tenants must be from 1 to 10000, got 0"},
		{[]string{"--tenants", "10001"}, "--tenants must be from 1 to 10000"},
		{[]string{"--projects", "0"}, "--projects must be from 1 to 10000, got 0"},
		{[]string{"--concurrency", "0"}, "--concurrency must be from 1 to 1024, got 0"},
		{[]string{"--duration", "10ms"}, "--duration must be from 200ms to 1h, got 10ms"},
		{[]string{"extra"}, `bench api takes no arguments, got ["extra"]`},
		{[]string{"--database", "mysql://localhost/x"}, "--database must be a postgres:// URL"},
		{[]string{"--bogus"}, ""},
	})
}
