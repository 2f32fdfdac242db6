package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"taruvi/internal/postgres/postgrestest"
)

// runBenchAuthCmd runs `bench auth args...` on the test server.
func runBenchAuthCmd(ctx context.Context, t *testing.T, stderr *syncBuffer, args ...string) (string, error) {
	t.Helper()
	server := postgrestest.NewScratch(t)
	var stdout bytes.Buffer
	err := runBenchAuth(ctx, env{args: append(args, "--database", server), getenv: noEnv, stdout: &stdout, stderr: stderr})
	return stdout.String(), err
}

func TestBenchAuth(t *testing.T) {
	t.Parallel()
	var stderr syncBuffer
	out, err := runBenchAuthCmd(context.Background(), t, &stderr, "--users", "2", "--concurrency", "2", "--duration", "1s", "--json")
	if err != nil {
		t.Fatalf("bench auth: %v\n%s", err, stderr.String())
	}
	keys, v := jsonKeys(t, out)
	wantPrefix(t, keys, []string{"refresh_per_s", "login_per_s", "verify_p99_us"})
	for _, k := range []string{"refresh_per_s", "login_per_s", "verify_p99_us", "verify_p50_us", "refreshes", "logins"} {
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
	if !strings.Contains(stderr.String(), "created users 2/2") {
		t.Errorf("stderr shows no progress of the users:\n%s", stderr.String())
	}
	assertDropped(t, stderr.String())
}

func TestBenchAuthHumanOutput(t *testing.T) {
	t.Parallel()
	var stderr syncBuffer
	out, err := runBenchAuthCmd(context.Background(), t, &stderr, "--users", "1", "--concurrency", "1", "--duration", "400ms")
	if err != nil {
		t.Fatalf("bench auth: %v\n%s", err, stderr.String())
	}
	if !strings.HasPrefix(out, "bench auth, 1 users, 1 clients over HTTP: refresh ") || !strings.Contains(out, "verification p99 ") {
		t.Errorf("output = %q", out)
	}
	assertDropped(t, stderr.String())
}

// Ctrl-C while the users are being made still drops the database and roles.
func TestBenchAuthInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := syncBuffer{onWrite: func(p []byte) {
		if bytes.Contains(p, []byte("created users")) {
			cancel()
		}
	}}
	_, err := runBenchAuthCmd(ctx, t, &stderr, "--users", "200", "--duration", "10s", "--json")
	if err == nil || !strings.Contains(err.Error(), "bench interrupted") {
		t.Fatalf("err = %v, want the bench interrupted", err)
	}
	assertDropped(t, stderr.String())
}

func TestBenchAuthUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--users", "0"}, "--users must be from 1 to 10000, got 0"},
		{[]string{"--concurrency", "0"}, "--concurrency must be from 1 to 1024, got 0"},
		{[]string{"--concurrency", "5000"}, "--concurrency must be from 1 to 1024"},
		{[]string{"--duration", "10ms"}, "--duration must be from 200ms to 1h, got 10ms"},
		{[]string{"extra"}, `bench auth takes no arguments, got ["extra"]`},
		{[]string{"--database", "mysql://localhost/x"}, "--database must be a postgres:// URL"},
		{[]string{"--bogus"}, ""},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		err := runBenchAuth(context.Background(), env{args: tt.args, getenv: noEnv, stdout: &stdout, stderr: &stderr})
		var exit exitError
		if !errors.As(err, &exit) || exit.code != 2 || !strings.Contains(exit.msg, tt.want) {
			t.Errorf("bench auth %v: err = %#v, want a usage error containing %q", tt.args, err, tt.want)
		}
		if stdout.Len() != 0 {
			t.Errorf("bench auth %v: stdout = %q, want nothing", tt.args, stdout.String())
		}
	}
}
