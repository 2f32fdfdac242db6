package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"taruvi/internal/api"
	"taruvi/internal/blob"
	"taruvi/internal/modules"
	"taruvi/internal/modules/files"
	"taruvi/internal/web"
)

// fileStack is an appStack whose API serves files too, kept by a local
// blob store in a folder of the test's.
type fileStack struct {
	*appStack
	storage string // the blob store's folder
	spool   string // where a file sent before its fields waits
}

// newFileStack wires the API as newAppStack does, with the files app and
// an upload limit of maxUpload bytes. One file sent before its fields may
// wait at a time.
func newFileStack(t *testing.T, maxUpload int64) *fileStack {
	t.Helper()
	storage, spool := t.TempDir(), t.TempDir()
	blobs, err := blob.NewLocal(storage)
	if err != nil {
		t.Fatal(err)
	}
	spools, err := web.NewSpools(spool, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := newStack(t, appLimits, withApps, func(s *stack, a *api.API) {
		a.Modules = append(a.Modules, files.New(modules.Core{DB: s.db, Authz: s.authz, Blobs: blobs,
			MaxUploadBytes: maxUpload, Spools: spools, Log: a.Log}))
	})
	return &fileStack{appStack: &appStack{s}, storage: storage, spool: spool}
}

// spooled returns the names of the files waiting in the spool folder.
func (s *fileStack) spooled(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(s.spool)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// blobs returns the keys of every blob the store holds, uploads in
// progress aside.
func (s *fileStack) blobs(t *testing.T) []string {
	t.Helper()
	var keys []string
	root := filepath.Join(s.storage, "tenants")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(s.storage, path)
		keys = append(keys, filepath.ToSlash(rel))
		return err
	})
	if err != nil && !strings.Contains(err.Error(), "no such file") {
		t.Fatal(err)
	}
	return keys
}

// storageKey reads the storage key of file id from the tenant's table.
func (s *fileStack) storageKey(t *testing.T, a *appTenant, id string) string {
	t.Helper()
	var key string
	err := s.db.InTenant(a.operator(), func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT storage_key FROM files WHERE id = $1`, id).Scan(&key)
	})
	if err != nil {
		t.Fatalf("storage key of file %s: %v", id, err)
	}
	return key
}

// formPart is one part of a multipart body: its Content-Disposition as
// sent, an optional Content-Type, and its content.
type formPart struct {
	disposition string
	contentType string
	body        string
}

// field is a form field.
func field(name, value string) formPart {
	return formPart{disposition: `form-data; name="` + name + `"`, body: value}
}

// filePart is the file part, named filename (quoted as browsers do).
func filePart(filename, contentType, body string) formPart {
	quoted := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(filename)
	return formPart{disposition: `form-data; name="file"; filename="` + quoted + `"`, contentType: contentType, body: body}
}

// multipartBody encodes parts; it returns the Content-Type and the body.
func multipartBody(t *testing.T, parts ...formPart) (string, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{"Content-Disposition": {p.disposition}}
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, p.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), b.String()
}

// upload is one POST /api/files/ of a scenario. Parts, raw and fragments
// may name saved values as {{name}}; raw is sent, with contentType, when
// parts is nil.
type upload struct {
	name        string
	cred        string
	reqID       string
	parts       []formPart
	raw         string
	contentType string
	status      int
	want        []string
	absent      []string
	save        map[string]string
}

// runUploads sends the uploads in order, each a subtest, to host.
func (s *fileStack) runUploads(t *testing.T, host string, vars map[string]string, uploads []upload) {
	t.Helper()
	for _, u := range uploads {
		t.Run(u.name, func(t *testing.T) {
			expand := func(text string) string { return expandVars(t, vars, text) }
			contentType, body := u.contentType, expand(u.raw)
			if u.parts != nil {
				parts := make([]formPart, len(u.parts))
				for i, p := range u.parts {
					parts[i] = formPart{disposition: expand(p.disposition), contentType: p.contentType, body: expand(p.body)}
				}
				contentType, body = multipartBody(t, parts...)
			}
			status, res := s.post(t, host, u.cred, u.reqID, contentType, strings.NewReader(body))
			checkBody(t, "upload", status, u.status, res, u.want, u.absent, vars)
			if left := s.spooled(t); len(left) > 0 {
				t.Errorf("temporary files left behind: %q", left)
			}
			saveValues(t, res, u.save, vars)
		})
	}
}

// post sends body to POST /api/files/ and returns the status and the
// response body, which must be JSON.
func (s *fileStack) post(t *testing.T, host, cred, reqID, contentType string, body io.Reader) (int, string) {
	t.Helper()
	res := s.request(t, "POST", host, "/api/files/", body, map[string]string{
		"Content-Type": contentType, "Authorization": cred, "X-Request-ID": reqID})
	res.mustBeJSON(t, "upload")
	return res.status, res.body
}

// download fetches GET /api/files/{id}/download/.
func (s *fileStack) download(t *testing.T, host, cred, id string) response {
	t.Helper()
	return s.request(t, "GET", host, "/api/files/"+id+"/download/", nil, map[string]string{"Authorization": cred})
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
