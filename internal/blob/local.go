package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"taruvi"
)

// tmpDirName is the folder, under the root, of uploads in progress. Keys all
// start with "tenants/", so no key can name it or a file in it.
const tmpDirName = ".tmp"

// staleTemp is how long a temporary file must have been left untouched
// before NewLocal removes it as the leftover of a crash. Uploads in progress
// write to theirs all the time.
const staleTemp = 24 * time.Hour

// Local is a BlobStore on a local file system: the blob of key
// "tenants/acme/files/x" is the file <dir>/tenants/acme/files/x.
type Local struct {
	dir string // absolute, cleaned
	tmp string // dir/.tmp
}

var _ taruvi.BlobStore = (*Local)(nil)

// NewLocal returns a store keeping blobs under dir (TARUVI_STORAGE_DIR),
// which it creates (mode 0750) when missing. It removes the temporary files
// of uploads that a crash left behind.
func NewLocal(dir string) (*Local, error) {
	if dir == "" {
		return nil, errors.New("blob: no storage directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blob: storage directory %s: %w", dir, err)
	}
	l := &Local{dir: abs, tmp: filepath.Join(abs, tmpDirName)}
	if err := os.MkdirAll(l.tmp, 0o750); err != nil {
		return nil, fmt.Errorf("blob: create storage directory: %w", err)
	}
	if err := l.removeStaleTemps(time.Now().Add(-staleTemp)); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Local) removeStaleTemps(before time.Time) error {
	entries, err := os.ReadDir(l.tmp)
	if err != nil {
		return fmt.Errorf("blob: read %s: %w", l.tmp, err)
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() || fi.ModTime().After(before) {
			continue
		}
		if err := os.Remove(filepath.Join(l.tmp, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("blob: remove stale upload: %w", err)
		}
	}
	return nil
}

// path returns the file of key, refusing with EINVALID a key that is not a
// tenant key or would resolve outside the root.
func (l *Local) path(key string) (string, error) {
	if err := taruvi.ValidateBlobKey(key); err != nil {
		return "", err
	}
	p := filepath.Join(l.dir, filepath.FromSlash(key))
	if !strings.HasPrefix(p, l.dir+string(filepath.Separator)) {
		return "", taruvi.Errorf(taruvi.EINVALID, "Invalid blob key %q.", key)
	}
	return p, nil
}

// Put streams r into a temporary file, hashing and counting it, then moves
// it to key's file in one rename: readers see the old content or the new,
// never a part. Past maxBytes (a negative maxBytes means no limit) it stops
// reading and returns ETOOLARGE; on any error nothing changes. contentType
// is not kept: the caller records it with the file's other metadata.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, maxBytes int64, contentType string) (taruvi.BlobInfo, error) {
	path, err := l.path(key)
	if err != nil {
		return taruvi.BlobInfo{}, err
	}
	tmp, err := os.CreateTemp(l.tmp, "put-*")
	if err != nil {
		return taruvi.BlobInfo{}, fmt.Errorf("put blob: %w", err)
	}
	defer func() {
		if tmp != nil { // not moved into place: drop it
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	m := newMeter(ctx, r, maxBytes)
	if _, err := io.Copy(tmp, m); err != nil {
		if taruvi.ErrorCode(err) == taruvi.ETOOLARGE {
			return taruvi.BlobInfo{}, err
		}
		return taruvi.BlobInfo{}, fmt.Errorf("put blob: copy: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return taruvi.BlobInfo{}, fmt.Errorf("put blob: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return taruvi.BlobInfo{}, fmt.Errorf("put blob: close: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return taruvi.BlobInfo{}, fmt.Errorf("put blob: %w", err)
	}
	if err := l.moveIntoPlace(tmp.Name(), path); err != nil {
		return taruvi.BlobInfo{}, err
	}
	tmp = nil
	return m.info(key), nil
}

// moveIntoPlace renames the temporary file to path and syncs the folder so
// the new name survives a crash.
func (l *Local) moveIntoPlace(tmp, path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return collision(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return collision(err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("put blob: open folder: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("put blob: sync folder: %w", err)
	}
	return nil
}

// collision turns the errors of a key that is also a folder
// ("tenants/a/x" when "tenants/a/x/y" exists), or runs through a file, into
// ECONFLICT; an S3 bucket has no folders and accepts both keys.
func collision(err error) error {
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.EEXIST) {
		return &taruvi.Error{
			Code:    taruvi.ECONFLICT,
			Message: "The file's storage key collides with another file's.",
			Wrapped: err,
		}
	}
	return fmt.Errorf("put blob: %w", err)
}

// Get opens key's file. The BlobInfo has the key and size; its SHA256 is
// empty, as hashing would mean reading the whole file first.
func (l *Local) Get(ctx context.Context, key string) (io.ReadCloser, taruvi.BlobInfo, error) {
	path, err := l.path(key)
	if err != nil {
		return nil, taruvi.BlobInfo{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, taruvi.BlobInfo{}, missing(err, "get blob")
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, taruvi.BlobInfo{}, fmt.Errorf("get blob: %w", err)
	}
	if !fi.Mode().IsRegular() { // a folder of other keys
		f.Close()
		return nil, taruvi.BlobInfo{}, notFound()
	}
	return f, taruvi.BlobInfo{Key: key, Size: fi.Size()}, nil
}

// Delete removes key's file; ENOTFOUND when there is none. Readers that
// opened it before keep reading the old content.
func (l *Local) Delete(ctx context.Context, key string) error {
	path, err := l.path(key)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return missing(err, "delete blob")
	}
	if !fi.Mode().IsRegular() {
		return notFound()
	}
	if err := os.Remove(path); err != nil {
		return missing(err, "delete blob")
	}
	return nil
}

// missing maps "no such file" (or a file where a folder should be) to
// ENOTFOUND.
func missing(err error, op string) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return notFound()
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Ping checks that the storage directory takes new files.
func (l *Local) Ping(ctx context.Context) error {
	f, err := os.CreateTemp(l.tmp, "ping-*")
	if err != nil {
		return fmt.Errorf("blob storage not writable: %w", err)
	}
	name := f.Name()
	_, werr := f.WriteString("ok")
	cerr := f.Close()
	rerr := os.Remove(name)
	if err := errors.Join(werr, cerr, rerr); err != nil {
		return fmt.Errorf("blob storage not writable: %w", err)
	}
	return nil
}
