package devserver

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// needBinaries skips a test without the PostgreSQL server programs, except
// under CI, where their absence is a failure.
func needBinaries(t *testing.T) {
	t.Helper()
	if _, err := FindBinaries(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

// start starts a server on dir and removes its cluster after the test.
func start(t *testing.T, dir string, notices *bytes.Buffer) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := Start(ctx, Options{Dir: dir, Notices: notices})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := Remove(dir); err != nil {
			t.Errorf("remove %s: %v", dir, err)
		}
	})
	return srv
}

// query runs sql on url and returns the first column of its one row.
func query(t *testing.T, url, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var out string
	if err := conn.QueryRow(ctx, sql).Scan(&out); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func execSQL(t *testing.T, url, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// openTempDir returns a temporary folder that every user may traverse
// (t.TempDir makes private ones).
func openTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func portClosed(port int) bool {
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err == nil {
		conn.Close()
		return false
	}
	return true
}

func TestStartStopReusesCluster(t *testing.T) {
	t.Parallel()
	needBinaries(t)
	dir := filepath.Join(openTempDir(t), "postgres")
	var notices bytes.Buffer
	srv := start(t, dir, &notices)

	wantURL := "postgres://postgres@127.0.0.1:" + strconv.Itoa(srv.Port) + "/postgres?sslmode=disable"
	if srv.URL != wantURL {
		t.Errorf("URL = %s, want %s", srv.URL, wantURL)
	}
	if got := query(t, srv.URL, "SHOW fsync"); got != "off" {
		t.Errorf("fsync = %s, want off", got)
	}
	if got := query(t, srv.URL, "SHOW listen_addresses"); got != "127.0.0.1" {
		t.Errorf("listen_addresses = %s", got)
	}
	if got := query(t, srv.URL, "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = 'postgres'"); got != "UTF8" {
		t.Errorf("encoding = %s, want UTF8", got)
	}
	execSQL(t, srv.URL, "CREATE TABLE kept AS SELECT 'from the first run'::text AS note")

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if !portClosed(srv.Port) {
		t.Fatalf("port %d still answers after Stop", srv.Port)
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("a second Stop: %v", err)
	}

	again := start(t, dir, &notices)
	if again.Dir != srv.Dir {
		t.Errorf("second run uses %s, first %s", again.Dir, srv.Dir)
	}
	if got := query(t, again.URL, "SELECT note FROM kept"); got != "from the first run" {
		t.Errorf("second run reads %q: the cluster was not reused", got)
	}
	if err := again.Stop(); err != nil {
		t.Fatal(err)
	}
}

func TestStartStopsServerLeftRunning(t *testing.T) {
	t.Parallel()
	needBinaries(t)
	dir := filepath.Join(t.TempDir(), "postgres")
	var notices bytes.Buffer
	first := start(t, dir, &notices)
	// A second Start, as after a crash of the process that started the first.
	second := start(t, dir, &notices)
	if !strings.Contains(notices.String(), "earlier run left running") {
		t.Errorf("notices %q do not mention the server left running", notices.String())
	}
	if second.Port != first.Port && !portClosed(first.Port) {
		t.Errorf("the first server still answers on port %d", first.Port)
	}
	if got := query(t, second.URL, "SELECT 'up'"); got != "up" {
		t.Errorf("second server answers %q", got)
	}
	// Stop by data directory, as the pgctl command does.
	if err := Stop(dir); err != nil {
		t.Fatal(err)
	}
	if !portClosed(second.Port) {
		t.Errorf("port %d still answers after Stop(dir)", second.Port)
	}
}

func TestFallbackDirWhenUnreachable(t *testing.T) {
	t.Parallel()
	needBinaries(t)
	o, err := serverOwner()
	if err != nil {
		t.Fatal(err)
	}
	if o == nil {
		t.Skip("not root: the server runs as this user, who reaches every folder it names")
	}
	locked := t.TempDir()
	if err := os.Chmod(locked, 0o700); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(locked, "postgres")
	var notices bytes.Buffer
	srv := start(t, dir, &notices)
	if srv.Dir != fallbackDir(dir) {
		t.Errorf("Dir = %s, want the fallback %s", srv.Dir, fallbackDir(dir))
	}
	if !strings.Contains(notices.String(), srv.Dir) {
		t.Errorf("notices %q do not say where the data went", notices.String())
	}
	if got := query(t, srv.URL, "SELECT current_setting('data_directory')"); got != srv.Dir {
		t.Errorf("server data_directory = %s, want %s", got, srv.Dir)
	}
	if err := Remove(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(srv.Dir); !os.IsNotExist(err) {
		t.Errorf("Remove left %s behind (%v)", srv.Dir, err)
	}
}

func TestStartRefusesForeignFolder(t *testing.T) {
	t.Parallel()
	needBinaries(t)
	dir := filepath.Join(openTempDir(t), "postgres")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Options{Dir: dir})
	if err == nil {
		_ = Remove(dir)
		t.Fatal("Start used a folder holding other files")
	}
	if !strings.Contains(err.Error(), "neither empty nor a PostgreSQL data directory") {
		t.Errorf("error = %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "notes.txt")); err != nil || string(b) != "mine" {
		t.Errorf("the folder's file was touched: %q, %v", b, err)
	}
}

func TestStopWithoutServer(t *testing.T) {
	t.Parallel()
	needBinaries(t)
	if err := Stop(filepath.Join(t.TempDir(), "never-started")); err != nil {
		t.Errorf("Stop on a folder without a server: %v", err)
	}
}
