package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/postgres/postgrestest"
)

// cliResult is what one run of the program left behind.
type cliResult struct {
	stdout, stderr string
	err            error
	took           time.Duration
}

// code is the exit status main would give the run.
func (r cliResult) code() int {
	var exit exitError
	switch {
	case r.err == nil, errors.Is(r.err, flag.ErrHelp):
		return 0
	case errors.As(r.err, &exit):
		return exit.code
	}
	return 1
}

// message is what main would print after "taruvi: ".
func (r cliResult) message() string {
	if r.err == nil {
		return ""
	}
	return errorText(r.err)
}

// runCLI runs the program with args and an environment of vars only.
func runCLI(t *testing.T, vars map[string]string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	start := time.Now()
	err := run(ctx, args, func(k string) string { return vars[k] }, strings.NewReader(""), &stdout, &stderr)
	return cliResult{stdout: stdout.String(), stderr: stderr.String(), err: err, took: time.Since(start)}
}

// cliCase is one run of the program and what it must show.
type cliCase struct {
	args    []string
	vars    map[string]string // nil: the test's environment
	code    int               // exit status
	stdout  []string          // fragments of stdout
	message []string          // fragments of the error message
	absent  []string          // fragments found nowhere in the output or the error
}

// check runs c and fails the test on any difference.
func (c cliCase) check(t *testing.T, vars map[string]string) cliResult {
	t.Helper()
	if c.vars != nil {
		vars = c.vars
	}
	r := runCLI(t, vars, c.args...)
	if r.code() != c.code {
		t.Fatalf("taruvi %s: exit %d (%v), want %d\nstdout: %s\nstderr: %s", strings.Join(c.args, " "), r.code(), r.err, c.code, r.stdout, r.stderr)
	}
	for _, f := range c.stdout {
		if !strings.Contains(r.stdout, f) {
			t.Errorf("taruvi %s: stdout lacks %q:\n%s", strings.Join(c.args, " "), f, r.stdout)
		}
	}
	for _, f := range c.message {
		if !strings.Contains(r.message(), f) {
			t.Errorf("taruvi %s: error %q lacks %q", strings.Join(c.args, " "), r.message(), f)
		}
	}
	for _, f := range c.absent {
		if strings.Contains(r.stdout+r.stderr+r.message(), f) {
			t.Errorf("taruvi %s: output shows %q:\nstdout: %s\nstderr: %s\nerror: %s", strings.Join(c.args, " "), f, r.stdout, r.stderr, r.message())
		}
	}
	return r
}

func TestCLIWithoutDatabase(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-pw"
	tests := []struct {
		name string
		cliCase
	}{
		{"version", cliCase{args: []string{"version"}, stdout: []string{"taruvi " + taruvi.Version + "\n"}}},
		{"no command", cliCase{args: nil, code: 2, stdout: []string{"Usage: taruvi", "serve", "migrate", "tenants"}}},
		{"help", cliCase{args: []string{"help"}, stdout: []string{"Usage: taruvi"}}},
		{"unknown command", cliCase{args: []string{"frobnicate"}, code: 2, message: []string{`"frobnicate"`}}},
		{"tenants without subcommand", cliCase{args: []string{"tenants"}, code: 2, message: []string{"usage: taruvi tenants"}}},
		{"tenants unknown subcommand", cliCase{args: []string{"tenants", "frob"}, code: 2, message: []string{`"frob"`}}},
		{"tenants create without schema", cliCase{args: []string{"tenants", "create"}, code: 2, message: []string{"usage"}}},
		{"tenants delete without --yes", cliCase{args: []string{"tenants", "delete", "acme"}, code: 2, message: []string{"--yes", "acme"}}},
		{"domains without subcommand", cliCase{args: []string{"domains"}, code: 2, message: []string{"usage"}}},
		{"domains add one argument", cliCase{args: []string{"domains", "add", "acme"}, code: 2, message: []string{"usage"}}},
		{"migrate with an argument", cliCase{args: []string{"migrate", "now"}, code: 2, message: []string{"no arguments"}}},
		{"migrate unknown flag", cliCase{args: []string{"migrate", "--fast"}, code: 2}},
		{"migrate too many workers", cliCase{args: []string{"migrate", "--workers", "999"}, code: 2, message: []string{"--workers"}}},
		{"config defaults", cliCase{args: []string{"config"}, stdout: []string{"TARUVI_DATABASE_URL=\n", "TARUVI_HTTP_ADDR=:8000\n",
			"TARUVI_BASE_DOMAIN=localhost\n", "TARUVI_PLATFORM_HOSTS=localhost,127.0.0.1,::1\n", "TARUVI_TRUST_TENANT_HEADER=false\n",
			"TARUVI_LOG_FORMAT=json\n"}}},
		{"config masks the URL password", cliCase{args: []string{"config"},
			vars:   map[string]string{"TARUVI_DATABASE_URL": "postgres://app:" + secret + "@db.example:5432/taruvi?sslmode=disable"},
			stdout: []string{"TARUVI_DATABASE_URL=postgres://app:xxxxx@db.example:5432/taruvi?sslmode=disable\n"}, absent: []string{secret}}},
		{"config masks a password parameter", cliCase{args: []string{"config"},
			vars:   map[string]string{"TARUVI_DATABASE_URL": "postgres://app@db.example/taruvi?password=" + secret},
			stdout: []string{"TARUVI_DATABASE_URL=postgres://app@db.example/taruvi?password=xxxxx\n"}, absent: []string{secret}}},
		{"config shows set values", cliCase{args: []string{"config"},
			vars:   map[string]string{"TARUVI_HTTP_ADDR": "127.0.0.1:9000", "TARUVI_TRUST_TENANT_HEADER": "true", "TARUVI_BASE_DOMAIN": "Example.COM"},
			stdout: []string{"TARUVI_HTTP_ADDR=127.0.0.1:9000\n", "TARUVI_TRUST_TENANT_HEADER=true\n", "TARUVI_BASE_DOMAIN=example.com\n"}}},
		{"invalid HTTP address", cliCase{args: []string{"config"}, vars: map[string]string{"TARUVI_HTTP_ADDR": "nonsense"},
			code: 1, message: []string{"TARUVI_HTTP_ADDR", "nonsense"}}},
		{"HTTP address without colon", cliCase{args: []string{"config"}, vars: map[string]string{"TARUVI_HTTP_ADDR": "8000"},
			code: 1, message: []string{"TARUVI_HTTP_ADDR"}}},
		{"serve with invalid HTTP address", cliCase{args: []string{"serve"}, vars: map[string]string{"TARUVI_HTTP_ADDR": "nonsense"},
			code: 1, message: []string{"TARUVI_HTTP_ADDR"}}},
		{"invalid log format", cliCase{args: []string{"config"}, vars: map[string]string{"TARUVI_LOG_FORMAT": "xml"},
			code: 1, message: []string{"TARUVI_LOG_FORMAT", "xml"}}},
		{"invalid pool size", cliCase{args: []string{"migrate"}, vars: map[string]string{"TARUVI_DB_MAX_CONNS": "-1"},
			code: 1, message: []string{"TARUVI_DB_MAX_CONNS"}}},
		{"invalid boolean", cliCase{args: []string{"config"}, vars: map[string]string{"TARUVI_TRUST_TENANT_HEADER": "yes please"},
			code: 1, message: []string{"TARUVI_TRUST_TENANT_HEADER"}}},
		{"invalid base domain", cliCase{args: []string{"config"}, vars: map[string]string{"TARUVI_BASE_DOMAIN": "bad domain!"},
			code: 1, message: []string{"TARUVI_BASE_DOMAIN"}}},
		{"not a postgres URL", cliCase{args: []string{"tenants", "list"}, vars: map[string]string{"TARUVI_DATABASE_URL": "mysql://app:" + secret + "@db/x"},
			code: 1, message: []string{"TARUVI_DATABASE_URL", "postgres://"}, absent: []string{secret}}},
		{"no database URL", cliCase{args: []string{"tenants", "list"}, code: 1, message: []string{"TARUVI_DATABASE_URL is not set"}}},
		{"no database URL for migrate", cliCase{args: []string{"migrate"}, code: 1, message: []string{"TARUVI_DATABASE_URL is not set"}}},
		{"serve without a secret key", cliCase{args: []string{"serve"}, vars: map[string]string{"TARUVI_DATABASE_URL": "postgres://postgres@127.0.0.1:1/x"},
			code: 1, message: []string{"TARUVI_SECRET_KEY is not set"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.check(t, map[string]string{})
		})
	}
}

func TestCLIUnknownCommandPrintsUsage(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "frobnicate")
	var exit exitError
	if !errors.As(r.err, &exit) || exit.code != 2 {
		t.Fatalf("unknown command: %v, want an exitError with code 2", r.err)
	}
	if !strings.Contains(r.stderr, "Usage: taruvi") || r.stdout != "" {
		t.Errorf("usage should go to stderr only:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
	}
}

func TestCLIDatabaseDown(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-pw"
	vars := map[string]string{"TARUVI_DATABASE_URL": "postgres://postgres:" + secret + "@127.0.0.1:1/taruvi?sslmode=disable",
		"TARUVI_SECRET_KEY": strings.Repeat("k", 32)}
	for _, args := range [][]string{{"tenants", "list"}, {"migrate"}, {"migrate", "--check"}, {"serve"}, {"domains", "remove", "x.example.test"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			r := cliCase{args: args, code: 1, message: []string{"connect", "127.0.0.1"}, absent: []string{secret}}.check(t, vars)
			if r.took > 5*time.Second {
				t.Errorf("failing took %v, want well under 5s", r.took)
			}
		})
	}
}

// listedTenant is one entry of `tenants list --json`.
type listedTenant struct {
	Schema        string    `json:"schema"`
	Name          string    `json:"name"`
	Status        string    `json:"status"`
	SchemaVersion int       `json:"schema_version"`
	Domains       []string  `json:"domains"`
	CreatedAt     time.Time `json:"created_at"`
}

// listTenants runs `tenants list --json` and parses its output.
func listTenants(t *testing.T, vars map[string]string) map[string]listedTenant {
	t.Helper()
	r := cliCase{args: []string{"tenants", "list", "--json"}}.check(t, vars)
	var list []listedTenant
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("tenants list --json: %v:\n%s", err, r.stdout)
	}
	byName := map[string]listedTenant{}
	for _, l := range list {
		byName[l.Schema] = l
	}
	return byName
}

// jsonLines parses output made of JSON objects, one a line.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not a JSON object: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if len(lines) == 0 {
		t.Fatal("no JSON lines")
	}
	return lines
}

// events returns the "event" field of each line.
func events(lines []map[string]any) []string {
	var out []string
	for _, l := range lines {
		e, _ := l["event"].(string)
		out = append(out, e)
	}
	return out
}

func TestCLIMigrate(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"TARUVI_DATABASE_URL": postgrestest.NewScratch(t)}

	cliCase{args: []string{"tenants", "list"}, code: 1, message: []string{"taruvi migrate"}}.check(t, vars)
	cliCase{args: []string{"migrate", "--check"}, code: 1, stdout: []string{`"ok":false`, `"public_version":0`}}.check(t, vars)

	r := cliCase{args: []string{"migrate"}}.check(t, vars)
	lines := jsonLines(t, r.stdout)
	if got := events(lines); !slices.Equal(got, []string{"public", "river", "done"}) {
		t.Fatalf("migrate events %v, want [public river done]:\n%s", got, r.stdout)
	}
	if lines[1]["from"] != 0.0 || lines[1]["to"].(float64) < 1 {
		t.Errorf("river event %v, want from 0 to River's newest version", lines[1])
	}
	if lines[0]["from"] != 0.0 || lines[0]["to"].(float64) < 1 {
		t.Errorf("public event %v, want from 0 to the newest version", lines[0])
	}
	publicVersion := lines[0]["to"]

	r = cliCase{args: []string{"migrate", "--check"}, stdout: []string{`"ok":true`}}.check(t, vars)
	if line := jsonLines(t, r.stdout)[0]; line["public_version"] != publicVersion || line["behind"] == nil {
		t.Errorf("check after migrate: %v", line)
	}

	// A rerun has nothing to do and says so.
	r = cliCase{args: []string{"migrate"}}.check(t, vars)
	lines = jsonLines(t, r.stdout)
	if got := events(lines); !slices.Equal(got, []string{"public", "river", "done"}) {
		t.Fatalf("rerun events %v:\n%s", got, r.stdout)
	}
	if lines[0]["from"] != publicVersion || lines[0]["to"] != publicVersion || lines[1]["from"] != lines[1]["to"] ||
		lines[2]["tenants"] != 0.0 || lines[2]["failed"] != 0.0 {
		t.Errorf("rerun: %v", lines)
	}

	cliCase{args: []string{"migrate", "--tenant", "t_nosuchtenant"}, code: 1, message: []string{"not found"}}.check(t, vars)
}

func TestCLITenants(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"TARUVI_DATABASE_URL": postgrestest.NewScratch(t)}
	cliCase{args: []string{"migrate"}}.check(t, vars)
	r := cliCase{args: []string{"migrate", "--check"}}.check(t, vars)
	wantVersion := int(jsonLines(t, r.stdout)[0]["tenant_wanted"].(float64))

	schema := postgrestest.SchemaName()
	other := postgrestest.SchemaName()
	domain := strings.ReplaceAll(schema, "_", "-") + ".example.test"
	second := "second-" + domain

	steps := []cliCase{
		{args: []string{"tenants", "create", schema, "--name", "Acme Inc.", "--domain", domain},
			stdout: []string{"created tenant " + schema, `"Acme Inc."`}},
		{args: []string{"tenants", "create", schema}, code: 1, message: []string{schema, "exists already"}},
		{args: []string{"tenants", "create", "public"}, code: 1, message: []string{`"public"`, "reserved"}},
		{args: []string{"tenants", "create", "pg_acme"}, code: 1, message: []string{`"pg_acme"`, "pg_"}},
		{args: []string{"tenants", "create", "Bad-Name"}, code: 1, message: []string{"Invalid schema name"}},
		{args: []string{"tenants", "create", other, "--domain", domain}, code: 1, message: []string{domain, "taken"}},
		{args: []string{"tenants", "create", other, "--domain", "not a domain"}, code: 1, message: []string{"Invalid domain"}},
		{args: []string{"domains", "add", "t_nosuchtenant", "x.example.test"}, code: 1, message: []string{"t_nosuchtenant", "not found"}},
		{args: []string{"domains", "add", schema, domain}, code: 1, message: []string{"taken"}},
		{args: []string{"domains", "add", schema, "Bad Domain"}, code: 1, message: []string{"Invalid domain"}},
		{args: []string{"domains", "add", schema, strings.ToUpper(second), "--primary"}, stdout: []string{"domain " + second + " now serves tenant " + schema}},
		{args: []string{"tenants", "list"}, stdout: []string{"SCHEMA", schema, "Acme Inc.", "active", second + "," + domain}},
	}
	for _, s := range steps {
		s.check(t, vars)
	}

	list := listTenants(t, vars)
	if _, ok := list[other]; ok || len(list) != 1 {
		t.Fatalf("failed creations left tenants behind: %+v", list)
	}
	got := list[schema]
	if got.Name != "Acme Inc." || got.Status != taruvi.TenantActive || got.SchemaVersion != wantVersion ||
		!slices.Equal(got.Domains, []string{second, domain}) || got.CreatedAt.IsZero() {
		t.Errorf("listed %+v, want Acme Inc., active, version %d, domains [%s %s] (primary first)", got, wantVersion, second, domain)
	}

	steps = []cliCase{
		{args: []string{"domains", "remove", second}, stdout: []string{"domain " + second + " removed"}},
		{args: []string{"domains", "remove", second}, code: 1, message: []string{"not found"}},
		{args: []string{"tenants", "delete", schema, "--yes"}, code: 1, message: []string{"suspend it before deleting"}},
		{args: []string{"tenants", "suspend", schema}, stdout: []string{"tenant " + schema + " is suspended"}},
		{args: []string{"tenants", "suspend", "t_nosuchtenant"}, code: 1, message: []string{"not found"}},
		{args: []string{"tenants", "delete", schema}, code: 2, message: []string{"--yes"}},
	}
	for _, s := range steps {
		s.check(t, vars)
	}
	got = listTenants(t, vars)[schema]
	if got.Status != taruvi.TenantSuspended || !slices.Equal(got.Domains, []string{domain}) {
		t.Fatalf("after suspend, a refused delete and a domain removal: %+v", got)
	}

	steps = []cliCase{
		{args: []string{"tenants", "resume", schema}, stdout: []string{"tenant " + schema + " is active"}},
		{args: []string{"tenants", "suspend", schema}},
		{args: []string{"tenants", "delete", schema, "--yes"}, stdout: []string{"deleted tenant " + schema}},
		{args: []string{"tenants", "delete", schema, "--yes"}, code: 1, message: []string{"not found"}},
		{args: []string{"migrate", "--check"}, stdout: []string{`"tenants":0`, `"ok":true`}},
	}
	for _, s := range steps {
		s.check(t, vars)
	}
	if list := listTenants(t, vars); len(list) != 0 {
		t.Errorf("after delete: %+v", list)
	}
}

// TestCLIUsersPasswordRules: the command line refuses a password that
// breaks a rule, saying which, before it touches the database.
func TestCLIUsersPasswordRules(t *testing.T) {
	t.Parallel()
	for pw, want := range map[string]string{
		"short":                          "at least 10 characters",
		"ann.lee.the.first@EXAMPLE.test": "your email address or your name",
		"Ann.Lee.The.First":              "your email address or your name",
		"password123":                    "most common passwords",
		"a fine password of ann!":        "",
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), []string{"users", "create", "--tenant", "t_none", "--email", "Ann.Lee.The.First@example.test", "--password-stdin"},
			func(k string) string {
				return map[string]string{"TARUVI_DATABASE_URL": "postgres://127.0.0.1:1/none"}[k]
			}, strings.NewReader(pw+"\n"), &stdout, &stderr)
		if want == "" {
			if err != nil && strings.Contains(errorText(err), "assword") {
				t.Errorf("%q: refused: %v", pw, err)
			}
			continue
		}
		if err == nil || !strings.Contains(errorText(err), want) {
			t.Errorf("%q: %v, want an error naming %q", pw, err, want)
		}
	}
}
