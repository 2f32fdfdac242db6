package main

import (
	"strings"
	"testing"
)

func TestBenchAuth(t *testing.T) {
	t.Parallel()
	out, stderr := runBenchOK(t, runBenchAuth, "--users", "2", "--concurrency", "2", "--duration", "1s", "--json")
	keys, v := jsonKeys(t, out)
	wantPrefix(t, keys, []string{"refresh_per_s", "login_per_s", "verify_p99_us"})
	for _, k := range []string{"refresh_per_s", "login_per_s", "verify_p99_us", "verify_p50_us", "refreshes", "logins",
		"login_c2_per_s", "login_c16_per_s", "login_c64_per_s", "login_c16_p99_ms"} {
		if !(v[k] > 0) {
			t.Errorf("%s = %v, want a positive number: %s", k, v[k], out)
		}
	}
	if v["users"] != 2 || v["concurrency"] != 2 {
		t.Errorf("users, concurrency = %v, %v; want 2, 2", v["users"], v["concurrency"])
	}
	// Each client signs in at least once and refreshes at least once.
	if v["logins"] < 2 || v["refreshes"] < 2 {
		t.Errorf("logins %v, refreshes %v: want at least one per client", v["logins"], v["refreshes"])
	}
	if v["verify_p50_us"] > v["verify_p99_us"] {
		t.Errorf("p50 %v above p99 %v", v["verify_p50_us"], v["verify_p99_us"])
	}
	if _, ok := v["login_rss_growth_mb"]; !ok || v["login_refused"] < 0 {
		t.Errorf("no login_rss_growth_mb or login_refused: %s", out)
	}
	wantStderr(t, stderr, "created users 2/2")
}

func TestBenchAuthHumanOutput(t *testing.T) {
	t.Parallel()
	out, _ := runBenchOK(t, runBenchAuth, "--users", "1", "--concurrency", "1", "--duration", "400ms")
	if !strings.HasPrefix(out, "bench auth, 1 users, 1 clients over HTTP: refresh ") || !strings.Contains(out, "verification p99 ") {
		t.Errorf("output = %q", out)
	}
}

// Ctrl-C while the users are being made still drops the database and roles.
func TestBenchAuthInterrupted(t *testing.T) {
	t.Parallel()
	runInterrupted(t, runBenchAuth, "created users", "--users", "200", "--duration", "10s", "--json")
}

func TestBenchAuthUsage(t *testing.T) {
	t.Parallel()
	checkUsage(t, "bench auth", runBenchAuth, []usageCase{
		{[]string{"--users", "0"}, "--users must be from 1 to 10000, got 0"},
		{[]string{"--concurrency", "0"}, "--concurrency must be from 1 to 1024, got 0"},
		{[]string{"--concurrency", "5000"}, "--concurrency must be from 1 to 1024"},
		{[]string{"--duration", "10ms"}, "--duration must be from 200ms to 1h, got 10ms"},
		{[]string{"extra"}, `bench auth takes no arguments, got ["extra"]`},
		{[]string{"--database", "mysql://localhost/x"}, "--database must be a postgres:// URL"},
		{[]string{"--bogus"}, ""},
	})
}
