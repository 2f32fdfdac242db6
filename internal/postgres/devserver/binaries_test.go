package devserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeBin writes the three server programs into dir; pg_ctl reports major.
func fakeBin(t *testing.T, dir, major string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	scripts := map[string]string{
		"initdb":   "#!/bin/sh\nexit 0\n",
		"pg_ctl":   "#!/bin/sh\necho 'pg_ctl (PostgreSQL) " + major + ".2'\n",
		"postgres": "#!/bin/sh\nexit 0\n",
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindBinariesOrder(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	fakeBin(t, filepath.Join(root, "lib", "9.6", "bin"), "9")
	fakeBin(t, filepath.Join(root, "lib", "16", "bin"), "16")
	fakeBin(t, filepath.Join(root, "lib", "15", "bin"), "15")
	fakeBin(t, filepath.Join(root, "configured"), "14")
	fakeBin(t, filepath.Join(root, "onpath"), "13")
	pgConfig := filepath.Join(root, "pg_config")
	script := "#!/bin/sh\necho " + filepath.Join(root, "configured") + "\n"
	if err := os.WriteFile(pgConfig, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}

	got, err := findBinaries(search{
		pgConfig: pgConfig,
		libGlob:  filepath.Join(root, "lib", "*", "bin"),
		path:     filepath.Join(root, "empty") + string(os.PathListSeparator) + filepath.Join(root, "onpath"),
	})
	if err != nil {
		t.Fatal(err)
	}
	var majors []int
	for _, b := range got {
		majors = append(majors, b.Major)
	}
	want := []int{14, 16, 15, 9, 13}
	if len(majors) != len(want) {
		t.Fatalf("majors = %v, want %v", majors, want)
	}
	for i := range want {
		if majors[i] != want[i] {
			t.Fatalf("majors = %v, want %v", majors, want)
		}
	}
	if got[0].InitDB != filepath.Join(root, "configured", "initdb") {
		t.Errorf("first initdb = %s", got[0].InitDB)
	}
}

func TestFindBinariesSkipsIncompleteFolders(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "lib", "17", "bin")
	fakeBin(t, dir, "17")
	if err := os.Remove(filepath.Join(dir, "postgres")); err != nil { // client-only install
		t.Fatal(err)
	}
	_, err := findBinaries(search{libGlob: filepath.Join(root, "lib", "*", "bin"), path: root})
	if err == nil {
		t.Fatal("found binaries in a folder without postgres")
	}
}

func TestFindBinariesNotFoundSaysHowToInstall(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	glob := filepath.Join(root, "lib", "*", "bin")
	_, err := findBinaries(search{libGlob: glob, path: root})
	if err == nil {
		t.Fatal("no error without binaries")
	}
	for _, want := range []string{"apt-get install postgresql", glob, "pg_config", "PATH", "TARUVI_DATABASE_URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestPickBinaries(t *testing.T) {
	t.Parallel()
	all := []Binaries{{PGCtl: "/a/pg_ctl", Major: 16}, {PGCtl: "/b/pg_ctl", Major: 15}}
	if b, err := pickBinaries(all, 0, "/data"); err != nil || b.Major != 16 {
		t.Errorf("new cluster: got %+v, %v; want the newest", b, err)
	}
	if b, err := pickBinaries(all, 15, "/data"); err != nil || b.PGCtl != "/b/pg_ctl" {
		t.Errorf("cluster 15: got %+v, %v; want version 15", b, err)
	}
	_, err := pickBinaries(all, 12, "/data")
	if err == nil || !strings.Contains(err.Error(), "PostgreSQL 12") || !strings.Contains(err.Error(), "16, 15") {
		t.Errorf("cluster 12: got %v, want an error naming 12 and the installed versions", err)
	}
}

func TestClusterMajor(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if n, err := clusterMajor(dir); n != 0 || err != nil {
		t.Errorf("empty folder: %d, %v", n, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "PG_VERSION"), []byte("15\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := clusterMajor(dir); n != 15 || err != nil {
		t.Errorf("PG_VERSION 15: %d, %v", n, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "PG_VERSION"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := clusterMajor(dir); err == nil {
		t.Error("no error for an unreadable PG_VERSION")
	}
}
