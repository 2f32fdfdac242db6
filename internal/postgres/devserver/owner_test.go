package devserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCanTraverse(t *testing.T) {
	t.Parallel()
	root := openTempDir(t)
	open := filepath.Join(root, "open")
	closed := filepath.Join(root, "closed")
	for dir, mode := range map[string]os.FileMode{open: 0o755, closed: 0o700} {
		if err := os.Mkdir(dir, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	// A user who is neither the owner nor in the group of these folders.
	stranger := &owner{name: "stranger", uid: uint32(os.Getuid()) + 4242, gid: 4242}

	if !stranger.canTraverse(filepath.Join(open, "data", "postgres")) {
		t.Error("a folder with mode 0755 was not traversable")
	}
	if stranger.canTraverse(filepath.Join(closed, "postgres")) {
		t.Error("a folder with mode 0700 of another user was traversable")
	}
	// The owner of a 0700 folder may enter it.
	me := &owner{name: "me", uid: uint32(os.Getuid()), gid: uint32(os.Getgid())}
	if !me.canTraverse(filepath.Join(closed, "postgres")) {
		t.Error("the owner could not traverse its own 0700 folder")
	}
	// Group members pass a 0750 folder.
	if err := os.Chmod(closed, 0o750); err != nil {
		t.Fatal(err)
	}
	member := &owner{name: "member", uid: stranger.uid, gid: 4242, groups: []uint32{uint32(os.Getgid())}}
	if !member.canTraverse(filepath.Join(closed, "postgres")) {
		t.Error("a group member could not traverse a 0750 folder")
	}
	if stranger.canTraverse(filepath.Join(closed, "postgres")) {
		t.Error("a stranger could traverse a 0750 folder")
	}
	var nobody *owner // not root: the server runs as ourselves
	if !nobody.canTraverse(filepath.Join(closed, "postgres")) {
		t.Error("a nil owner must traverse anything")
	}
}

func TestDerivedFoldersAreShortAndStable(t *testing.T) {
	t.Parallel()
	long := "/" + strings.Repeat("very-long-folder-name/", 20) + "postgres"
	if a, b := socketDir(long), socketDir(long); a != b || !strings.HasPrefix(a, os.TempDir()) {
		t.Errorf("socketDir is not stable: %s, %s", a, b)
	}
	if socketDir(long) == socketDir(long+"2") {
		t.Error("two data directories share a socket folder")
	}
	// Unix socket paths are limited to about 100 bytes, ".s.PGSQL.65535" included.
	if n := len(filepath.Join(socketDir(long), ".s.PGSQL.65535")); n > 100 {
		t.Errorf("socket path of %d bytes", n)
	}
	first, again := fallbackDir(long), fallbackDir(long)
	if first != again || first == fallbackDir("/other") {
		t.Error("fallbackDir is not one stable folder per data directory")
	}
}
