package blob_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/blob"
)

func TestLocal(t *testing.T) {
	t.Parallel()
	testConformance(t, func(t *testing.T) harness {
		dir := t.TempDir()
		l, err := blob.NewLocal(dir)
		if err != nil {
			t.Fatal(err)
		}
		return harness{store: l, leftovers: func(t *testing.T) []string { return filesUnder(t, dir) }}
	})
}

// filesUnder lists every file below dir, temporary ones included, as
// slash-separated paths relative to dir.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestLocalLayout(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "storage", "blobs")
	l, err := blob.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o750 {
		t.Errorf("storage directory mode %v, want 0750", fi.Mode().Perm())
	}
	put(t, l, "tenants/acme/files/a.txt", []byte("hello"))
	data, err := os.ReadFile(filepath.Join(dir, "tenants", "acme", "files", "a.txt"))
	if err != nil || string(data) != "hello" {
		t.Errorf("file of the blob: %q, %v", data, err)
	}
	if _, err := blob.NewLocal(""); err == nil {
		t.Error("NewLocal with no directory: no error")
	}
}

// TestLocalCollision covers keys that a file system cannot hold side by
// side: a key that is the folder of another, or lies below a file.
func TestLocalCollision(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	l, err := blob.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	put(t, l, "tenants/acme/a/b", []byte("b"))
	for _, k := range []string{"tenants/acme/a", "tenants/acme/a/b/c"} {
		_, err := l.Put(ctx, k, bytes.NewReader([]byte("x")), 10, "")
		if taruvi.ErrorCode(err) != taruvi.ECONFLICT {
			t.Errorf("Put %s: %v, want %s", k, err, taruvi.ECONFLICT)
		}
	}
	if got := filesUnder(t, dir); !slices.Equal(got, []string{"tenants/acme/a/b"}) {
		t.Errorf("files after refused Puts: %q", got)
	}
}

func TestLocalRemovesStaleTemps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := blob.NewLocal(dir); err != nil {
		t.Fatal(err)
	}
	stale, fresh := filepath.Join(dir, ".tmp", "put-1"), filepath.Join(dir, ".tmp", "put-2")
	for _, f := range []string{stale, fresh} {
		if err := os.WriteFile(f, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-25 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := blob.NewLocal(dir); err != nil {
		t.Fatal(err)
	}
	if got := filesUnder(t, dir); !slices.Equal(got, []string{".tmp/put-2"}) {
		t.Errorf("files after NewLocal: %q, want only the fresh upload", got)
	}
}

func TestLocalPingFails(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := blob.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := l.Ping(context.Background()); err == nil {
		t.Error("Ping with the storage directory gone: no error")
	}
}

// TestLocalInvalidKeysCreateNothing checks what the shared suite cannot see
// on disk: a refused key creates no folder either.
func TestLocalInvalidKeysCreateNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	l, err := blob.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"tenants/acme/../../outside/x", "outside/x", "/tmp/x", "tenants/acme//x"} {
		if _, err := l.Put(ctx, k, bytes.NewReader([]byte("x")), 10, ""); taruvi.ErrorCode(err) != taruvi.EINVALID {
			t.Errorf("Put %q: %v, want %s", k, err, taruvi.EINVALID)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != ".tmp" {
		t.Errorf("storage directory holds %v, want only .tmp", entries)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "outside")); err == nil {
		t.Error("a key with .. created a folder outside the storage directory")
	}
}
