package taruvi

import (
	"context"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// BlobInfo describes a stored blob.
type BlobInfo struct {
	Key    string
	Size   int64
	SHA256 string // hex
}

// BlobStore keeps file contents. Keys are always under a tenant's prefix
// (TenantBlobPrefix): implementations refuse any other key, so no code path
// can reach another tenant's files by building a key. Get and Delete
// return ENOTFOUND for a missing key; Put returns ETOOLARGE when the
// content passes maxBytes (and stores nothing).
type BlobStore interface {
	// Put streams r to key without holding it in memory, and returns its
	// size and SHA-256.
	Put(ctx context.Context, key string, r io.Reader, maxBytes int64, contentType string) (BlobInfo, error)
	// Get streams a blob; the caller closes it.
	Get(ctx context.Context, key string) (io.ReadCloser, BlobInfo, error)
	Delete(ctx context.Context, key string) error
	// Ping checks the store is reachable, for health checks.
	Ping(ctx context.Context) error
}

// blobOwnerRE is the folder of a tenant under "tenants/": its id, or the
// schema name under which blobs were stored before. Ids are digits and
// schema names start with a letter, so the two never meet.
const blobOwnerRE = `([1-9][0-9]{0,18}|[a-z][a-z0-9_]{1,62})`

var (
	blobKeyRE    = regexp.MustCompile(`^tenants/` + blobOwnerRE + `/[A-Za-z0-9._/-]{1,900}$`)
	blobPrefixRE = regexp.MustCompile(`^tenants/` + blobOwnerRE + `/$`)
)

// TenantBlobPrefix is the prefix of every key t writes: "tenants/<id>/".
// The id is never reused, so a tenant created again under a deleted one's
// schema name neither reads the deleted one's blobs nor loses its own when
// they are purged.
func TenantBlobPrefix(t *Tenant) string { return "tenants/" + strconv.FormatInt(t.ID, 10) + "/" }

// SchemaBlobPrefix is where blobs of the tenant of schema were stored
// before keys named the tenant's id: "tenants/<schema>/". Keys recorded
// under it stay readable by that tenant; nothing new is written there.
func SchemaBlobPrefix(schema string) string { return "tenants/" + schema + "/" }

// OwnsBlobKey reports whether key lies under t's prefix, or under the
// prefix of its schema name that older keys have.
func (t *Tenant) OwnsBlobKey(key string) bool {
	for _, p := range []string{TenantBlobPrefix(t), SchemaBlobPrefix(t.Schema)} {
		if len(key) > len(p) && strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// ValidateBlobKey returns EINVALID unless key is a tenant key: under
// "tenants/<id>/" (or an older "tenants/<schema>/"), of safe characters,
// with no empty, "." or ".." segment.
func ValidateBlobKey(key string) error {
	if !blobKeyRE.MatchString(key) {
		return Errorf(EINVALID, "Invalid blob key %q.", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return Errorf(EINVALID, "Invalid blob key %q.", key)
		}
	}
	return nil
}

// ValidateBlobPrefix returns EINVALID unless prefix is the whole prefix of
// one tenant, TenantBlobPrefix or SchemaBlobPrefix.
func ValidateBlobPrefix(prefix string) error {
	if !blobPrefixRE.MatchString(prefix) {
		return Errorf(EINVALID, "Invalid blob prefix %q.", prefix)
	}
	return nil
}
