package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
	"taruvi/internal/redis/redistest"
)

// The tests of this file run the real binary as separate processes on
// loopback ports, as replicas of one deployment behind a load balancer:
// one PostgreSQL database, one Redis.

var (
	binaryOnce sync.Once
	binaryDir  string // holds binaryPath; removed after the tests
	binaryPath string
	binaryErr  error
)

// binary builds the taruvi command once per test run.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	binaryOnce.Do(func() {
		binaryDir, binaryErr = os.MkdirTemp("", "taruvi-bin-")
		if binaryErr != nil {
			return
		}
		binaryPath = filepath.Join(binaryDir, "taruvi")
		args := []string{"build", "-o", binaryPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			binaryErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

// removeBinary removes the binary built by binary, if any, once every
// test is done with it.
func removeBinary() {
	if binaryDir != "" {
		_ = os.RemoveAll(binaryDir)
	}
}

// deployment is a database and a Redis that replicas share.
type deployment struct {
	bin   string
	env   map[string]string
	db    *postgres.DB
	redis *redistest.Server
}

func newDeployment(t *testing.T, vars map[string]string) *deployment {
	t.Helper()
	bin := binary(t)
	db, url := postgrestest.OpenURL(t, postgres.Options{MigrationSets: postgres.BuiltinMigrationSets()})
	d := &deployment{bin: bin, db: db, redis: redistest.Start(t), env: map[string]string{
		"TARUVI_DATABASE_URL":     url,
		"TARUVI_SECRET_KEY":       "a replica secret shared by every process of the test",
		"TARUVI_LOG_LEVEL":        "warn",
		"TARUVI_SHUTDOWN_TIMEOUT": "10s",
		"TARUVI_STORAGE_DIR":      t.TempDir(),
		"TARUVI_DB_MAX_CONNS":     "4",
	}}
	d.env["TARUVI_REDIS_URL"] = d.redis.URL()
	for k, v := range vars {
		d.env[k] = v
	}
	return d
}

// command runs the binary with the deployment's environment.
func (d *deployment) command(extra map[string]string, args ...string) *exec.Cmd {
	cmd := exec.Command(d.bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range d.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range extra {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// run runs a command of the binary to its end with stdin.
func (d *deployment) run(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := d.command(nil, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("taruvi %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// replica is one `taruvi serve` process.
type replica struct {
	url    string
	debug  string
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   chan error
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// background starts a process of the binary that serves no HTTP (worker,
// scheduler) and stops it when the test ends.
func (d *deployment) background(t *testing.T, args ...string) {
	t.Helper()
	var stderr bytes.Buffer
	cmd := d.command(nil, args...)
	cmd.Stderr = &lockedWriter{w: &stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("taruvi %s log:\n%s", strings.Join(args, " "), stderr.String())
		}
	})
}

// serve starts a replica and waits until it is ready.
func (d *deployment) serve(t *testing.T) *replica {
	t.Helper()
	addr, debug := freeAddr(t), freeAddr(t)
	r := &replica{url: "http://" + addr, debug: "http://" + debug, stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	r.cmd = d.command(map[string]string{"TARUVI_HTTP_ADDR": addr, "TARUVI_DEBUG_ADDR": debug}, "serve")
	r.cmd.Stderr = &lockedWriter{w: r.stderr}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.done
		if t.Failed() {
			t.Logf("replica %s log:\n%s", addr, r.stderr)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if status, _ := r.tryGet("/health/ready", "localhost", ""); status == 200 {
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("replica on %s did not become ready:\n%s", addr, r.stderr)
	return nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

var replicaClient = &http.Client{Timeout: 15 * time.Second}

// tryGet sends a request; status 0 means no answer (connection refused).
func (r *replica) tryGet(path, host, cred string) (int, string) {
	return r.send("GET", path, host, cred, "")
}

func (r *replica) send(method, path, host, cred, body string) (int, string) {
	req, err := http.NewRequest(method, r.url+path, strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Host = host
	if cred != "" {
		req.Header.Set("Authorization", cred)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := replicaClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// login signs in on host and returns the Authorization header value.
func (r *replica) login(t *testing.T, host, email, password string) string {
	t.Helper()
	status, body := r.send("POST", "/api/auth/jwt/token/", host, "", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password))
	if status != 200 {
		t.Fatalf("login %s on %s: %d %s", email, host, status, body)
	}
	var res struct {
		Data struct {
			Access string `json:"access"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil || res.Data.Access == "" {
		t.Fatalf("login body: %v %s", err, body)
	}
	return "Bearer " + res.Data.Access
}

// within repeats check until it returns true or d has passed, and returns
// how long it took.
func within(t *testing.T, d time.Duration, what string, check func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !check() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
