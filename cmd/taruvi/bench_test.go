package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"taruvi/internal/postgres/postgrestest"
)

// TestMain removes the binary the tests built, with the scratch databases.
func TestMain(m *testing.M) { postgrestest.Main(m, removeBinary) }

// syncBuffer is a bytes.Buffer safe for the bench's worker goroutines; it
// calls onWrite, if set, with each write.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	onWrite func(p []byte)
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.onWrite != nil {
		b.onWrite(p)
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func noEnv(string) string { return "" }

// benchCommand runs `taruvi bench args...` as the command line does.
func benchCommand(ctx context.Context, e env) error {
	return run(ctx, append([]string{"bench"}, e.args...), e.getenv, e.stdin, e.stdout, e.stderr)
}

// runBenchCmd runs a bench command (benchCommand, runBenchAPI, runBenchAuth)
// with args on the test server and returns its stdout.
func runBenchCmd(ctx context.Context, t *testing.T, bench func(context.Context, env) error, stderr *syncBuffer, args ...string) (string, error) {
	t.Helper()
	// A scratch database of the harness: it skips or fails the test as the
	// harness does when the server is down, and serves as the admin URL.
	server := postgrestest.NewScratch(t)
	var stdout bytes.Buffer
	err := bench(ctx, env{args: append(args, "--database", server), getenv: noEnv, stdout: &stdout, stderr: stderr})
	return stdout.String(), err
}

// runBenchOK runs a bench command with args on the test server, which must
// succeed and drop its database and roles; it returns stdout and stderr.
func runBenchOK(t *testing.T, bench func(context.Context, env) error, args ...string) (string, string) {
	t.Helper()
	var stderr syncBuffer
	out, err := runBenchCmd(context.Background(), t, bench, &stderr, args...)
	if err != nil {
		t.Fatalf("bench %v: %v\n%s", args, err, stderr.String())
	}
	assertDropped(t, stderr.String())
	return out, stderr.String()
}

// wantStderr checks that stderr shows each of the fragments.
func wantStderr(t *testing.T, stderr string, fragments ...string) {
	t.Helper()
	for _, want := range fragments {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// runInterrupted runs a bench command with args that is cancelled as soon as
// its stderr shows marker: it must report the interruption and still drop
// its database and roles. It returns stderr.
func runInterrupted(t *testing.T, bench func(context.Context, env) error, marker string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := syncBuffer{onWrite: func(p []byte) {
		if bytes.Contains(p, []byte(marker)) {
			cancel()
		}
	}}
	_, err := runBenchCmd(ctx, t, bench, &stderr, args...)
	if err == nil || !strings.Contains(err.Error(), "bench interrupted") {
		t.Fatalf("err = %v, want the bench interrupted", err)
	}
	assertDropped(t, stderr.String())
	return stderr.String()
}

// usageCase is a command line that must be refused, and a fragment of the
// message.
type usageCase struct {
	args []string
	want string
}

// checkUsage runs bench, named name in messages, with each command line:
// each must be a usage error (exit status 2) containing want, with nothing
// on stdout.
func checkUsage(t *testing.T, name string, bench func(context.Context, env) error, tests []usageCase) {
	t.Helper()
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		err := bench(context.Background(), env{args: tt.args, getenv: noEnv, stdout: &stdout, stderr: &stderr})
		var exit exitError
		if !errors.As(err, &exit) || exit.code != 2 || !strings.Contains(exit.msg, tt.want) {
			t.Errorf("%s %v: err = %#v, want a usage error containing %q", name, tt.args, err, tt.want)
		}
		if stdout.Len() != 0 {
			t.Errorf("%s %v: stdout = %q, want nothing", name, tt.args, stdout.String())
		}
	}
}

// jsonKeys decodes one JSON object and returns its keys in order and its
// numbers by key.
func jsonKeys(t *testing.T, out string) ([]string, map[string]float64) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("output is not a JSON object: %q", out)
	}
	var keys []string
	values := map[string]float64{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("decode %q: %v", out, err)
		}
		key := tok.(string)
		var v float64
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("decode %s in %q: %v", key, out, err)
		}
		keys = append(keys, key)
		values[key] = v
	}
	return keys, values
}

func wantPrefix(t *testing.T, keys, want []string) {
	t.Helper()
	if len(keys) < len(want) || !slices.Equal(keys[:len(want)], want) {
		t.Errorf("keys = %v, want them to start with %v", keys, want)
	}
}

var benchDatabaseRE = regexp.MustCompile(`bench: database (\S+), roles (\S+)_\*`)

// assertDropped checks that the bench database named in stderr and its
// roles are gone from the server.
func assertDropped(t *testing.T, stderr string) {
	t.Helper()
	m := benchDatabaseRE.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("stderr names no bench database:\n%s", stderr)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, postgrestest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var databases, roles int
	err = conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_database WHERE datname = $1),
		(SELECT count(*) FROM pg_roles WHERE starts_with(rolname, $2))`, m[1], m[2]+"_").Scan(&databases, &roles)
	if err != nil {
		t.Fatal(err)
	}
	if databases != 0 || roles != 0 {
		t.Errorf("after the bench, database %s exists %d times and %d roles %s_* remain", m[1], databases, roles, m[2])
	}
}

func TestBenchProvision(t *testing.T) {
	t.Parallel()
	out, stderr := runBenchOK(t, benchCommand, "provision", "--tenants", "5", "--existing", "3", "--json")
	keys, v := jsonKeys(t, out)
	wantPrefix(t, keys, []string{"tenants", "existing", "p50_ms", "p95_ms", "p99_ms"})
	if v["tenants"] != 5 || v["existing"] != 3 {
		t.Errorf("tenants, existing = %v, %v; want 5, 3", v["tenants"], v["existing"])
	}
	if !(v["p50_ms"] > 0 && v["p50_ms"] <= v["p95_ms"] && v["p95_ms"] <= v["p99_ms"]) {
		t.Errorf("percentiles not positive and ordered: %s", out)
	}
	wantStderr(t, stderr, "provisioned existing tenants 3/3", "bench: checkpoint in", "bench: dropped database")
}

func TestBenchMigrate(t *testing.T) {
	t.Parallel()
	out, stderr := runBenchOK(t, benchCommand, "migrate", "--tenants", "5", "--workers", "2", "--json")
	keys, v := jsonKeys(t, out)
	wantPrefix(t, keys, []string{"tenants", "check_s", "apply_s"})
	if v["tenants"] != 5 || v["workers"] != 2 {
		t.Errorf("tenants, workers = %v, %v; want 5, 2", v["tenants"], v["workers"])
	}
	if !(v["check_s"] > 0 && v["apply_s"] > 0) {
		t.Errorf("timings not positive: %s", out)
	}
	wantStderr(t, stderr, "migrated tenants 5/5")
}

func TestBenchHumanOutput(t *testing.T) {
	t.Parallel()
	out, _ := runBenchOK(t, benchCommand, "provision", "--tenants", "2")
	if !strings.HasPrefix(out, "provisioned 2 tenants one at a time on top of 0: p50 ") {
		t.Errorf("output = %q", out)
	}
}

// Ctrl-C in the middle of provisioning still drops the database and roles.
func TestBenchInterrupted(t *testing.T) {
	t.Parallel()
	runInterrupted(t, benchCommand, "provisioned tenants", "migrate", "--tenants", "500", "--json")
}

func TestBenchUsage(t *testing.T) {
	t.Parallel()
	checkUsage(t, "bench", benchCommand, []usageCase{
		{[]string{}, "usage: taruvi bench provision|migrate"},
		{[]string{"warp"}, `unknown bench command "warp"`},
		{[]string{"provision", "--tenants", "0"}, "--tenants must be from 1 to 100000, got 0"},
		{[]string{"provision", "--tenants", "100001"}, "--tenants must be from 1 to 100000"},
		{[]string{"provision", "--existing", "-1"}, "--existing must be from 0 to 100000, got -1"},
		{[]string{"provision", "extra"}, `bench provision takes no arguments, got ["extra"]`},
		{[]string{"provision", "--database", "mysql://localhost/x"}, "--database must be a postgres:// URL"},
		{[]string{"migrate", "--tenants", "-3"}, "--tenants must be from 1 to 100000, got -3"},
		{[]string{"migrate", "--workers", "300"}, "--workers must be from 1 to 256"},
		{[]string{"migrate", "--workers", "-1"}, "--workers must be from 1 to 256"},
		{[]string{"migrate", "--bogus"}, ""},
	})
}

func TestBenchServerDown(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	args := []string{"bench", "provision", "--tenants", "1", "--database", "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2"}
	err := run(context.Background(), args, noEnv, nil, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "connect to postgres@127.0.0.1:1/postgres") {
		t.Errorf("err = %v, want a connection error naming the server", err)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing", stdout.String())
	}
}
