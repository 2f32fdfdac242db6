package devserver

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// owner is the system user the server runs as when this process is root,
// which PostgreSQL refuses to run as.
type owner struct {
	name     string
	uid, gid uint32
	groups   []uint32
}

// serverOwner returns nil when this process is not root (the server then
// runs as this process's user), else the postgres user, else nobody.
func serverOwner() (*owner, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		o := &owner{name: name, uid: uint32(uid), gid: uint32(gid)}
		if ids, err := u.GroupIds(); err == nil {
			for _, id := range ids {
				if g, err := strconv.ParseUint(id, 10, 32); err == nil {
					o.groups = append(o.groups, uint32(g))
				}
			}
		}
		return o, nil
	}
	return nil, fmt.Errorf("PostgreSQL does not run as root, and neither a postgres nor a nobody user exists to run it as: " +
		"create one (Debian: adduser --system postgres) or run as an ordinary user")
}

// credential is what child processes run with; nil runs them as ourselves.
func (o *owner) credential() *syscall.SysProcAttr {
	if o == nil {
		return nil
	}
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: o.uid, Gid: o.gid, Groups: o.groups}}
}

// chownAll gives path and everything below it to o.
func (o *owner) chownAll(path string) error {
	if o == nil {
		return nil
	}
	return filepath.WalkDir(path, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(o.uid), int(o.gid))
	})
}

// canTraverse reports whether o may pass through every existing folder
// above path (path itself is given to o, so it does not count).
func (o *owner) canTraverse(path string) bool {
	if o == nil {
		return true
	}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		if st, err := os.Stat(dir); err == nil {
			if !o.mayEnter(st) {
				return false
			}
		}
		if dir == filepath.Dir(dir) {
			return true
		}
	}
}

// mayEnter applies the Unix search permission of a folder to o.
func (o *owner) mayEnter(st os.FileInfo) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	perm := st.Mode().Perm()
	if sys.Uid == o.uid {
		return perm&0o100 != 0
	}
	inGroup := sys.Gid == o.gid
	for _, g := range o.groups {
		inGroup = inGroup || g == sys.Gid
	}
	if inGroup {
		return perm&0o010 != 0
	}
	return perm&0o001 != 0
}

// fallbackDir is the data directory used in place of dir when o cannot
// reach dir: one folder per requested dir under the system's temporary
// folder, so later runs find the same cluster.
func fallbackDir(dir string) string {
	return filepath.Join(os.TempDir(), "taruvi-postgres-"+shortHash(dir))
}

// socketDir is where the server puts its Unix socket: a short path, since
// socket paths are limited to about a hundred bytes, derived from the data
// directory so that a later Stop finds it.
func socketDir(dataDir string) string {
	return filepath.Join(os.TempDir(), "taruvi-pg-"+shortHash(dataDir))
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

// makePrivateDir creates dir with mode 0700 for o, refusing a symbolic link
// or a folder someone else made in its place.
func (o *owner) makePrivateDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
		return err
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !st.IsDir() || !ok {
		return fmt.Errorf("%s is not a folder", dir)
	}
	wantUID := uint32(os.Geteuid())
	if o != nil {
		wantUID = o.uid
	}
	if sys.Uid != uint32(os.Geteuid()) && sys.Uid != wantUID {
		return fmt.Errorf("%s belongs to another user (uid %d): remove it", dir, sys.Uid)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	return o.chownAll(dir)
}
