package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"taruvi/internal/postgres/devserver"
)

// devProcess is one `taruvi dev` running in this process.
type devProcess struct {
	stdout, stderr syncBuffer
	stop           context.CancelFunc
	done           chan error
}

// devVars is the environment of a `taruvi dev` on dataDir with its own
// private PostgreSQL, on a free port.
func devVars(dataDir string) map[string]string {
	return map[string]string{"TARUVI_DATA_DIR": dataDir, "TARUVI_HTTP_ADDR": "127.0.0.1:0",
		"TARUVI_LOG_LEVEL": "warn", "TARUVI_SHUTDOWN_TIMEOUT": "5s"}
}

// devDataDir is a data folder the postgres system user can reach when the
// tests run as root (t.TempDir makes private ones), whose cluster is
// removed after the test.
func devDataDir(t *testing.T) string {
	t.Helper()
	if _, err := devserver.FindBinaries(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if err := devserver.Remove(filepath.Join(dir, "postgres")); err != nil {
			t.Errorf("remove the private PostgreSQL: %v", err)
		}
	})
	return dir
}

// startDev starts `taruvi dev` and returns once it serves, with its port.
func startDev(t *testing.T, vars map[string]string) (*devProcess, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &devProcess{stop: cancel, done: make(chan error, 1)}
	go func() {
		d.done <- run(ctx, []string{"dev"}, func(k string) string { return vars[k] }, strings.NewReader(""), &d.stdout, &d.stderr)
	}()
	t.Cleanup(func() { d.shutdown(t) })
	port := regexp.MustCompile(`platform:  http://localhost:(\d+)/`)
	deadline := time.After(3 * time.Minute)
	for {
		if m := port.FindStringSubmatch(d.stdout.String()); m != nil && strings.Contains(d.stdout.String(), "Press Ctrl-C") {
			return d, m[1]
		}
		select {
		case err := <-d.done:
			d.done <- err
			t.Fatalf("taruvi dev ended before serving: %v\nstdout: %s\nstderr: %s", err, d.stdout.String(), d.stderr.String())
		case <-deadline:
			t.Fatalf("taruvi dev did not serve within 3 minutes\nstdout: %s\nstderr: %s", d.stdout.String(), d.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// shutdown stops the instance as Ctrl-C does and waits for its end.
func (d *devProcess) shutdown(t *testing.T) {
	t.Helper()
	d.stop()
	select {
	case err := <-d.done:
		d.done <- err
		if err != nil {
			t.Errorf("taruvi dev stopped with %v\nstderr: %s", err, d.stderr.String())
		}
	case <-time.After(time.Minute):
		t.Error("taruvi dev did not stop within a minute")
	}
}

// devLogin signs the demo owner in on the instance and returns the access
// token.
func devLogin(t *testing.T, port string) string {
	t.Helper()
	body := fmt.Sprintf(`{"email":%q,"password":%q}`, demoOwner.Email, demoOwner.Password)
	req, err := http.NewRequest("POST", "http://127.0.0.1:"+port+"/api/auth/jwt/token/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = demoTenant.Domain + ":" + port
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data struct{ Access string } `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || out.Data.Access == "" {
		t.Fatalf("demo owner sign-in: %d, %v", resp.StatusCode, err)
	}
	return out.Data.Access
}

// devTotal returns the total of a list of the demo tenant, as its owner.
func devTotal(t *testing.T, port, access, path string) int {
	t.Helper()
	var out struct {
		Total *int `json:"total"`
	}
	if err := json.Unmarshal([]byte(devCall(t, port, access, "GET", path, 200)), &out); err != nil || out.Total == nil {
		t.Fatalf("GET %s: no total: %v", path, err)
	}
	return *out.Total
}

// TestDevRefusesSecondInstance runs two `taruvi dev` on one data folder:
// the second is refused before it touches anything, naming the first,
// which goes on serving from its database. While the first runs, the
// other commands find its database; after it stops, they do not.
func TestDevRefusesSecondInstance(t *testing.T) {
	t.Parallel()
	vars := devVars(devDataDir(t))
	first, port := startDev(t, vars)
	tenantHost := demoTenant.Domain + ":" + port
	if status, body := getHost(t, "http://127.0.0.1:"+port+"/api/tenant/", tenantHost); status != 200 {
		t.Fatalf("first instance: %d %s", status, body)
	}

	// As a second `make run` would: the same folder and the same address.
	again := maps.Clone(vars)
	again["TARUVI_HTTP_ADDR"] = "127.0.0.1:" + port
	second := cliCase{args: []string{"dev"}, code: 1, message: []string{"taruvi dev is already running",
		fmt.Sprintf("pid %d", os.Getpid()), "http://localhost:" + port + "/"}}.check(t, again)
	if strings.Contains(second.stderr, "earlier run left running") || strings.Contains(second.stderr, "PostgreSQL") {
		t.Errorf("the refused instance touched PostgreSQL:\n%s", second.stderr)
	}

	// The first still answers from its database (a sign-in reads it).
	access := devLogin(t, port)
	if n := devTotal(t, port, access, "/api/projects/"); n != len(demoProjects) {
		t.Errorf("%d demo projects, want %d", n, len(demoProjects))
	}

	r := cliCase{args: []string{"tenants", "list"}, stdout: []string{demoTenant.Schema, demoTenant.Domain}}.check(t, vars)
	if !strings.Contains(r.stderr, "using the database of taruvi dev (pid") {
		t.Errorf("tenants list does not say which database it uses:\n%s", r.stderr)
	}

	first.shutdown(t)
	cliCase{args: []string{"tenants", "list"}, code: 1, message: []string{"TARUVI_DATABASE_URL is not set"}}.check(t, vars)
}

// TestDevDemoData: the demo tenant has sample projects, tasks and a file,
// which the printed curl line shows, and a second run on the same data
// folder adds none.
func TestDevDemoData(t *testing.T) {
	t.Parallel()
	vars := devVars(devDataDir(t))
	tasks := 0
	for _, p := range demoProjects {
		tasks += len(p.tasks)
	}
	for run := 1; run <= 2; run++ {
		dev, port := startDev(t, vars)
		access := devLogin(t, port)
		for path, want := range map[string]int{"/api/projects/": len(demoProjects), "/api/tasks/": tasks, "/api/files/": 1} {
			if got := devTotal(t, port, access, path); got != want {
				t.Errorf("run %d: %s has %d, want %d", run, path, got, want)
			}
		}
		if run == 1 {
			checkPrintedCurl(t, dev.stdout.String())
		}
		dev.shutdown(t)
	}
}

// TestDevDemoSeededOnce: demo data that stopped partway (the file store
// refused the file) is finished by the next run, without doubling what the
// first made; once whole, it is not added again, even after its projects
// were deleted.
func TestDevDemoSeededOnce(t *testing.T) {
	t.Parallel()
	dir := devDataDir(t)
	vars := devVars(dir)
	// A file where the store's tenant folders go: the demo file fails.
	blocked := filepath.Join(dir, "storage", "tenants")
	if err := os.MkdirAll(filepath.Dir(blocked), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blocked, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cliCase{args: []string{"dev"}, code: 1}.check(t, vars)
	if err := os.Remove(blocked); err != nil {
		t.Fatal(err)
	}

	tasks := 0
	for _, p := range demoProjects {
		tasks += len(p.tasks)
	}
	dev, port := startDev(t, vars)
	access := devLogin(t, port)
	for path, want := range map[string]int{"/api/projects/": len(demoProjects), "/api/tasks/": tasks, "/api/files/": 1} {
		if got := devTotal(t, port, access, path); got != want {
			t.Errorf("after the run that finished the demo data: %s has %d, want %d", path, got, want)
		}
	}
	var list struct {
		Data []struct{ ID int64 } `json:"data"`
	}
	if err := json.Unmarshal([]byte(devCall(t, port, access, "GET", "/api/projects/", 200)), &list); err != nil {
		t.Fatal(err)
	}
	for _, p := range list.Data {
		devCall(t, port, access, "DELETE", fmt.Sprintf("/api/projects/%d/", p.ID), 200)
	}
	dev.shutdown(t)

	_, port = startDev(t, vars)
	if n := devTotal(t, port, devLogin(t, port), "/api/projects/"); n != 0 {
		t.Errorf("a run after the demo projects were deleted made %d again", n)
	}
}

// devCall sends a request to the demo tenant as its owner, fails the test
// unless it gets status, and returns the body.
func devCall(t *testing.T, port, access, method, path string, status int) string {
	t.Helper()
	req, err := http.NewRequest(method, "http://127.0.0.1:"+port+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = demoTenant.Domain + ":" + port
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != status {
		t.Fatalf("%s %s: %d, want %d: %v %s", method, path, resp.StatusCode, status, err, body)
	}
	return string(body)
}

// checkPrintedCurl runs the printed line that signs in and lists projects.
func checkPrintedCurl(t *testing.T, stdout string) {
	t.Helper()
	var line string
	for l := range strings.Lines(stdout) {
		if strings.Contains(l, "/api/projects/") && strings.Contains(l, "curl") {
			line = strings.TrimSpace(l)
		}
	}
	if line == "" {
		t.Fatalf("no curl line lists projects:\n%s", stdout)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Log("curl is not installed, so the printed line is not tried:", err)
		return
	}
	out, err := exec.Command("sh", "-c", line).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"status":"success"`) || !strings.Contains(string(out), demoProjects[0].project.Name) {
		t.Errorf("%s\n%v: %s", line, err, out)
	}
}

// TestDataDirClaim: a data folder has one owner while it lives; others
// read its pid and URL, a second claim is refused naming them, and once it
// is released (as when its process dies) what it wrote counts for nothing.
func TestDataDirClaim(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, ok := runningDev(dir); ok {
		t.Fatal("an empty folder has a running dev")
	}
	owner, err := claimDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.serving("http://localhost:8123/", "postgres://postgres@127.0.0.1:1/postgres", "the secret key"); err != nil {
		t.Fatal(err)
	}
	got, ok := runningDev(dir)
	want := devInstance{PID: os.Getpid(), URL: "http://localhost:8123/", DatabaseURL: "postgres://postgres@127.0.0.1:1/postgres",
		SecretKeyID: secretKeyID("the secret key")}
	if !ok || got != want {
		t.Errorf("runningDev = %+v, %v; want %+v", got, ok, want)
	}
	if _, err := claimDataDir(dir); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("already running on %s (pid %d, http://localhost:8123/)", dir, os.Getpid())) {
		t.Errorf("second claim: %v", err)
	}
	r := cliCase{args: []string{"users", "create", "--tenant", "acme", "--email", "x@example.test"}, code: 1,
		message: []string{"connect", "127.0.0.1:1"}}.check(t, map[string]string{"TARUVI_DATA_DIR": dir})
	if !strings.Contains(r.stderr, "using the database of taruvi dev (pid") || !strings.Contains(r.stderr, "127.0.0.1:1") {
		t.Errorf("users create does not say which database it uses:\n%s", r.stderr)
	}

	// A dev.json its owner could not remove (the process was killed).
	stale, err := os.ReadFile(filepath.Join(dir, devInfoFile))
	if err != nil {
		t.Fatal(err)
	}
	owner.release()
	if err := os.WriteFile(filepath.Join(dir, devInfoFile), stale, 0o600); err != nil {
		t.Fatal(err)
	}
	if d, ok := runningDev(dir); ok {
		t.Errorf("a released folder still has a running dev: %+v", d)
	}
	cliCase{args: []string{"tenants", "list"}, code: 1, message: []string{"TARUVI_DATABASE_URL is not set"}}.check(t, map[string]string{"TARUVI_DATA_DIR": dir})
	again, err := claimDataDir(dir)
	if err != nil {
		t.Fatalf("claim after release: %v", err)
	}
	again.release()
}
