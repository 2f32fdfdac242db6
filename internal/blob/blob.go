// Package blob implements taruvi.BlobStore on local disk (Local) and on S3
// or any S3-compatible service (S3).
//
// Both backends stream: Put never holds a whole file in memory. Local copies
// through a 32 KiB buffer into a temporary file and renames it into place;
// S3 sends files of up to 5 MiB in one request and larger ones as a
// multipart upload of 5 MiB parts read into one reused buffer, so an upload
// costs about 5 MiB of memory whatever its size.
//
// The S3 backend uses aws-sdk-go-v2 (service/s3 and credentials only) rather
// than minio-go. Unknown sizes without buffering the whole file are handled
// here, with a part buffer of our own, so neither library's uploader is
// needed (both buffer whole parts too); what decides is
// the dependency graph: the SDK's modules come from one vendor with no third
// party below them, and they are in the graph anyway because gofakes3, the
// S3 server of the tests, is built on them, whereas minio-go would add a
// dozen more modules (compression, SIMD hashing, serialization).
//
// Keys are checked with taruvi.ValidateBlobKey before anything is touched:
// a key must lie under a tenant's prefix, "tenants/<id>/". Which tenant is
// the caller's business: a store accepts any tenant's key, so callers build
// keys from the tenant in the context (taruvi.TenantBlobPrefix), never from
// input.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"

	"taruvi"
)

// meter reads from r on behalf of Put: it stops at the first read once ctx
// is done, fails with ETOOLARGE as soon as more than max bytes come (a
// negative max means no limit), and hashes and counts what it returns.
// Once it has failed it keeps failing.
type meter struct {
	ctx context.Context
	r   io.Reader
	max int64
	n   int64
	sum hash.Hash
	err error
}

func newMeter(ctx context.Context, r io.Reader, max int64) *meter {
	return &meter{ctx: ctx, r: r, max: max, sum: sha256.New()}
}

func (m *meter) Read(p []byte) (int, error) {
	if m.err != nil {
		return 0, m.err
	}
	if err := m.ctx.Err(); err != nil {
		m.err = err
		return 0, err
	}
	// Read at most one byte past the limit: enough to know it is passed.
	if room := m.max - m.n; m.max >= 0 && int64(len(p)) > room {
		p = p[:room+1]
	}
	n, err := m.r.Read(p)
	m.n += int64(n)
	if m.max >= 0 && m.n > m.max {
		m.err = tooLarge(m.max)
		return 0, m.err
	}
	m.sum.Write(p[:n])
	if err != nil && err != io.EOF {
		m.err = err
	}
	return n, err
}

// info returns what was read so far.
func (m *meter) info(key string) taruvi.BlobInfo {
	return taruvi.BlobInfo{Key: key, Size: m.n, SHA256: hex.EncodeToString(m.sum.Sum(nil))}
}

func tooLarge(max int64) error {
	return taruvi.Errorf(taruvi.ETOOLARGE, "The file is larger than the limit of %d bytes.", max)
}

func notFound() error {
	return taruvi.Errorf(taruvi.ENOTFOUND, "File not found.")
}
