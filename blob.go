package taruvi

import (
	"context"
	"io"
	"regexp"
	"strings"
)

// BlobInfo describes a stored blob.
type BlobInfo struct {
	Key    string
	Size   int64
	SHA256 string // hex
}

// BlobStore keeps file contents. Keys are always under the tenant's prefix
// ("tenants/<schema>/..."): implementations refuse any other key, so no
// code path can reach another tenant's files by building a key. Get and
// Delete return ENOTFOUND for a missing key; Put returns ETOOLARGE when the
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

var blobKeyRE = regexp.MustCompile(`^tenants/[a-z][a-z0-9_]{1,62}/[A-Za-z0-9._/-]{1,900}$`)

// TenantBlobPrefix is the prefix every key of tenant schema starts with.
func TenantBlobPrefix(schema string) string { return "tenants/" + schema + "/" }

// ValidateBlobKey returns EINVALID unless key is a tenant key: under
// "tenants/<schema>/", of safe characters, with no empty, "." or ".."
// segment.
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
