package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"testing"

	"taruvi"
)

// harness is one backend under test: a fresh, empty store, and a way to
// list everything it holds (blobs, temporary files, unfinished uploads), to
// check that a failed Put leaves nothing behind.
type harness struct {
	store     taruvi.BlobStore
	leftovers func(t *testing.T) []string
}

// partSize mirrors the S3 backend's part size, for sizes on its edges.
const partSize = 5 << 20

const key = "tenants/acme/files/report.pdf"

// testConformance runs the behaviour every BlobStore shares against the
// stores newHarness returns, one fresh store per case.
func testConformance(t *testing.T, newHarness func(t *testing.T) harness) {
	cases := []struct {
		name string
		test func(t *testing.T, h harness)
	}{
		{"RoundTrip", testRoundTrip},
		{"Overwrite", testOverwrite},
		{"OtherTenantKey", testOtherTenantKey},
		{"Delete", testDelete},
		{"Missing", testMissing},
		{"InvalidKeys", testInvalidKeys},
		{"TooLarge", testTooLarge},
		{"TooLargeKeepsOld", testTooLargeKeepsOld},
		{"Cancelled", testCancelled},
		{"ReadError", testReadError},
		{"Ping", testPing},
		{"DeleteTenantBlobs", testDeleteTenantBlobs},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.test(t, newHarness(t))
		})
	}
}

func testRoundTrip(t *testing.T, h harness) {
	ctx := context.Background()
	// Sizes on the edges of the S3 backend's single request and parts.
	for _, size := range []int{0, 1, 64 << 10, partSize, partSize + 1, 2*partSize + 12345} {
		data := randomBytes(size)
		info, err := h.store.Put(ctx, key, bytes.NewReader(data), int64(size), "application/pdf")
		if err != nil {
			t.Fatalf("Put %d bytes: %v", size, err)
		}
		want := taruvi.BlobInfo{Key: key, Size: int64(size), SHA256: sha256Hex(data)}
		if info != want {
			t.Errorf("Put %d bytes = %+v, want %+v", size, info, want)
		}
		if got := get(t, h.store, key); !bytes.Equal(got, data) {
			t.Errorf("Get after Put of %d bytes: got %d bytes, not the same", size, len(got))
		}
	}
	if got := h.leftovers(t); !slices.Equal(got, []string{key}) {
		t.Errorf("store holds %q, want only %q", got, key)
	}
}

func testOverwrite(t *testing.T, h harness) {
	put(t, h.store, key, randomBytes(partSize+10))
	second := []byte("second version")
	info := put(t, h.store, key, second)
	if info.Size != int64(len(second)) || info.SHA256 != sha256Hex(second) {
		t.Errorf("Put over an existing blob = %+v", info)
	}
	if got := get(t, h.store, key); !bytes.Equal(got, second) {
		t.Errorf("Get after overwrite = %q, want %q", got, second)
	}
}

// testOtherTenantKey shows that the store does not know the caller's
// tenant: any tenant key is accepted, so callers build keys from the
// tenant in the context. Two tenants' blobs stay apart.
func testOtherTenantKey(t *testing.T, h harness) {
	a, b := "tenants/acme/x", "tenants/globex/x"
	put(t, h.store, a, []byte("acme"))
	put(t, h.store, b, []byte("globex"))
	if got := get(t, h.store, a); string(got) != "acme" {
		t.Errorf("Get %s = %q", a, got)
	}
	if got := get(t, h.store, b); string(got) != "globex" {
		t.Errorf("Get %s = %q", b, got)
	}
}

// tenantRemover is what maintenance asks of a store for deleted tenants.
type tenantRemover interface {
	DeleteTenantBlobs(ctx context.Context, prefix string) (int64, error)
}

// testDeleteTenantBlobs: removing a tenant's prefix removes every blob
// under it, at any depth, and nothing of a tenant whose id or name only
// starts the same way; anything but one tenant's whole prefix is refused.
func testDeleteTenantBlobs(t *testing.T, h harness) {
	ctx := context.Background()
	remover := h.store.(tenantRemover)
	gone := []string{"tenants/5/files/a", "tenants/5/reports/1.csv", "tenants/acme/files/old"}
	kept := []string{"tenants/51/files/a", "tenants/acme_2/files/a", "tenants/ac/files/a"}
	for _, k := range append(slices.Clone(gone), kept...) {
		put(t, h.store, k, []byte(k))
	}
	for prefix, want := range map[string]int64{"tenants/5/": 2, "tenants/acme/": 1, "tenants/6/": 0} {
		if n, err := remover.DeleteTenantBlobs(ctx, prefix); err != nil || n != want {
			t.Errorf("DeleteTenantBlobs(%q) = %d, %v; want %d", prefix, n, err, want)
		}
	}
	for _, k := range gone {
		if _, _, err := h.store.Get(ctx, k); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
			t.Errorf("Get %s after its tenant's removal: %v, want %s", k, err, taruvi.ENOTFOUND)
		}
	}
	for _, k := range kept {
		if got := get(t, h.store, k); string(got) != k {
			t.Errorf("Get %s = %q", k, got)
		}
	}
	for _, prefix := range []string{"", "tenants/", "tenants/5", "tenants/51/files/", "tenants/../", "tenants/0/", "/tenants/5/"} {
		if _, err := remover.DeleteTenantBlobs(ctx, prefix); taruvi.ErrorCode(err) != taruvi.EINVALID {
			t.Errorf("DeleteTenantBlobs(%q): %v, want %s", prefix, err, taruvi.EINVALID)
		}
	}
	if got := len(h.leftovers(t)); got != len(kept) {
		t.Errorf("the store holds %d blobs, want %d", got, len(kept))
	}
}

func testDelete(t *testing.T, h harness) {
	ctx := context.Background()
	put(t, h.store, key, []byte("content"))
	if err := h.store.Delete(ctx, key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, _, err := h.store.Get(ctx, key); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		t.Errorf("Get after Delete: %v, want %s", err, taruvi.ENOTFOUND)
	}
	if err := h.store.Delete(ctx, key); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		t.Errorf("second Delete: %v, want %s", err, taruvi.ENOTFOUND)
	}
	if got := h.leftovers(t); len(got) != 0 {
		t.Errorf("store holds %q after Delete", got)
	}
}

func testMissing(t *testing.T, h harness) {
	ctx := context.Background()
	put(t, h.store, "tenants/acme/dir/file", []byte("x")) // a blob below the missing key
	for _, k := range []string{key, "tenants/acme/dir", "tenants/acme/dir/file/below"} {
		if _, _, err := h.store.Get(ctx, k); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
			t.Errorf("Get %s: %v, want %s", k, err, taruvi.ENOTFOUND)
		}
		if err := h.store.Delete(ctx, k); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
			t.Errorf("Delete %s: %v, want %s", k, err, taruvi.ENOTFOUND)
		}
	}
	if got := get(t, h.store, "tenants/acme/dir/file"); string(got) != "x" {
		t.Errorf("the blob below the missing key changed: %q", got)
	}
}

func testInvalidKeys(t *testing.T, h harness) {
	ctx := context.Background()
	keys := []string{
		"",
		"report.pdf",
		"files/report.pdf",
		"tenant/acme/report.pdf",
		"tenants/acme",
		"tenants/acme/",
		"tenants/a/report.pdf", // schema names have two characters at least
		"tenants/Acme/report.pdf",
		"tenants/1acme/report.pdf",
		"tenants/0/report.pdf", // tenant ids start at 1
		"tenants/07/report.pdf",
		"tenants/12345678901234567890/report.pdf",
		"/tenants/acme/report.pdf",
		"../tenants/acme/report.pdf",
		"tenants/../tenants/acme/report.pdf",
		"tenants/acme/../globex/report.pdf",
		"tenants/acme/..",
		"tenants/acme/./report.pdf",
		"tenants/acme//report.pdf",
		"tenants/acme/files/",
		`tenants/acme/..\..\report.pdf`,
		"tenants/acme/report pdf",
		"tenants/acme/report.pdf\x00",
		"tenants/acme/report?.pdf",
		"tenants/acme/rapport-é.pdf",
		"tenants/acme/report.pdf\n",
	}
	for _, k := range keys {
		_, err := h.store.Put(ctx, k, unreadable{t}, 100, "text/plain")
		if taruvi.ErrorCode(err) != taruvi.EINVALID {
			t.Errorf("Put %q: %v, want %s", k, err, taruvi.EINVALID)
		}
		if _, _, err := h.store.Get(ctx, k); taruvi.ErrorCode(err) != taruvi.EINVALID {
			t.Errorf("Get %q: %v, want %s", k, err, taruvi.EINVALID)
		}
		if err := h.store.Delete(ctx, k); taruvi.ErrorCode(err) != taruvi.EINVALID {
			t.Errorf("Delete %q: %v, want %s", k, err, taruvi.EINVALID)
		}
	}
	if got := h.leftovers(t); len(got) != 0 {
		t.Errorf("invalid keys left %q", got)
	}
}

func testTooLarge(t *testing.T, h harness) {
	ctx := context.Background()
	// The last limit passes in the middle of a multipart upload on S3.
	for _, limit := range []int64{0, 1000, partSize + 100} {
		src := &countingReader{r: bytes.NewReader(randomBytes(int(limit) + 1000))}
		_, err := h.store.Put(ctx, key, src, limit, "")
		if taruvi.ErrorCode(err) != taruvi.ETOOLARGE {
			t.Fatalf("Put over %d bytes: %v, want %s", limit, err, taruvi.ETOOLARGE)
		}
		if src.n > limit+1 {
			t.Errorf("Put over %d bytes read %d bytes, want at most %d", limit, src.n, limit+1)
		}
		if _, _, err := h.store.Get(ctx, key); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
			t.Errorf("Get after ETOOLARGE: %v, want %s", err, taruvi.ENOTFOUND)
		}
		if got := h.leftovers(t); len(got) != 0 {
			t.Errorf("ETOOLARGE over %d bytes left %q", limit, got)
		}
		// Exactly the limit is fine.
		data := randomBytes(int(limit))
		if _, err := h.store.Put(ctx, key, bytes.NewReader(data), limit, ""); err != nil {
			t.Errorf("Put of exactly %d bytes: %v", limit, err)
		}
		if err := h.store.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
}

func testTooLargeKeepsOld(t *testing.T, h harness) {
	old := []byte("the old content")
	put(t, h.store, key, old)
	_, err := h.store.Put(context.Background(), key, bytes.NewReader(randomBytes(partSize+2)), partSize+1, "")
	if taruvi.ErrorCode(err) != taruvi.ETOOLARGE {
		t.Fatalf("Put: %v, want %s", err, taruvi.ETOOLARGE)
	}
	if got := get(t, h.store, key); !bytes.Equal(got, old) {
		t.Errorf("a refused Put changed the blob: %d bytes", len(got))
	}
	if got := h.leftovers(t); !slices.Equal(got, []string{key}) {
		t.Errorf("store holds %q, want only %q", got, key)
	}
}

func testCancelled(t *testing.T, h harness) {
	// Cancelled after 6 MiB of 8: on S3, the multipart upload has begun.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := &cancellingReader{r: bytes.NewReader(randomBytes(8 << 20)), after: 6 << 20, cancel: cancel}
	_, err := h.store.Put(ctx, key, src, 100<<20, "")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put cancelled mid-stream: %v, want context.Canceled", err)
	}
	if src.n > 6<<20+partSize {
		t.Errorf("Put read %d bytes after the cancel at %d", src.n, 6<<20)
	}
	if _, _, err := h.store.Get(context.Background(), key); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		t.Errorf("Get after a cancelled Put: %v, want %s", err, taruvi.ENOTFOUND)
	}
	// Cancelled before it starts.
	if _, err := h.store.Put(ctx, key, bytes.NewReader([]byte("x")), 10, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a cancelled context: %v, want context.Canceled", err)
	}
	if got := h.leftovers(t); len(got) != 0 {
		t.Errorf("cancelled Put left %q", got)
	}
}

func testReadError(t *testing.T, h harness) {
	boom := errors.New("client went away")
	src := io.MultiReader(bytes.NewReader(randomBytes(partSize+1000)), errReader{boom})
	_, err := h.store.Put(context.Background(), key, src, 100<<20, "")
	if !errors.Is(err, boom) {
		t.Fatalf("Put from a failing reader: %v, want its error", err)
	}
	if taruvi.ErrorCode(err) != taruvi.EINTERNAL {
		t.Errorf("Put from a failing reader: code %s, want %s", taruvi.ErrorCode(err), taruvi.EINTERNAL)
	}
	if got := h.leftovers(t); len(got) != 0 {
		t.Errorf("failed Put left %q", got)
	}
}

func testPing(t *testing.T, h harness) {
	if err := h.store.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if got := h.leftovers(t); len(got) != 0 {
		t.Errorf("Ping left %q", got)
	}
}

// put stores data at key or fails the test.
func put(t *testing.T, s taruvi.BlobStore, key string, data []byte) taruvi.BlobInfo {
	t.Helper()
	info, err := s.Put(context.Background(), key, bytes.NewReader(data), int64(len(data)), "application/octet-stream")
	if err != nil {
		t.Fatalf("Put %s: %v", key, err)
	}
	return info
}

// get reads the blob at key or fails the test; the size Get reports must
// be the size read.
func get(t *testing.T, s taruvi.BlobStore, key string) []byte {
	t.Helper()
	rc, info, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get %s: %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	if info.Key != key || info.Size != int64(len(data)) {
		t.Errorf("Get %s info = %+v, read %d bytes", key, info, len(data))
	}
	return data
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(n), byte(n >> 8), byte(n >> 16)}).Read(b)
	return b
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// unreadable fails the test when read: a store must refuse a bad key
// before it reads anything.
type unreadable struct{ t *testing.T }

func (u unreadable) Read([]byte) (int, error) {
	u.t.Error("the store read the content of a Put it should have refused")
	return 0, io.EOF
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// cancellingReader calls cancel once it has returned after bytes.
type cancellingReader struct {
	r      io.Reader
	after  int64
	n      int64
	cancel context.CancelFunc
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n >= c.after {
		c.cancel()
	}
	return n, err
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
