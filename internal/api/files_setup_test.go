package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi/internal/api"
	"taruvi/internal/blob"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
	"taruvi/internal/redis"
	"taruvi/internal/token"
	"taruvi/internal/web"
)

// fileStack is an appStack whose API serves files too, kept by a local
// blob store in a folder of the test's.
type fileStack struct {
	*appStack
	storage string      // the blob store's folder
	log     *syncBuffer // the server's log
}

// newFileStack wires the API as newAppStack does, with the files app and
// an upload limit of maxUpload bytes.
func newFileStack(t *testing.T, maxUpload int64) *fileStack {
	t.Helper()
	db := postgrestest.DB(t)
	key, err := token.GenerateKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keys := token.NewKeySet(key)
	sealer, err := token.NewSealer(strings.Repeat("f", 40))
	if err != nil {
		t.Fatal(err)
	}
	buf := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(buf, nil))
	auth := postgres.NewAuth(db, postgres.AuthOptions{
		Issuer:    token.NewIssuer("taruvi", keys, nil),
		Sealer:    sealer,
		Accounts:  redis.NewMemoryThrottle(100, time.Minute),
		Addresses: redis.NewMemoryThrottle(1000, time.Minute),
		Log:       log,
	})
	storage := t.TempDir()
	blobs, err := blob.NewLocal(storage)
	if err != nil {
		t.Fatal(err)
	}
	authz := postgres.NewAuthz(db, log)
	users := postgres.NewUsers(db, authz)
	server := web.NewServer(web.Config{BaseDomain: "localhost", PlatformHosts: []string{"localhost"},
		TenantVersion: db.TenantVersion(), Auth: auth}, log, web.NewTenantCache(postgres.NewTenants(db), time.Minute))
	(&api.API{Auth: auth, Users: users, Keys: keys, Log: log, Projects: postgres.NewProjects(db, authz),
		Tasks: postgres.NewTasks(db, authz), History: postgres.NewHistory(db, authz),
		Files: postgres.NewFiles(db, authz, blobs, maxUpload, log), MaxUploadBytes: maxUpload}).Register(server)
	ts := httptest.NewServer(server)
	t.Cleanup(ts.Close)
	return &fileStack{
		appStack: &appStack{db: db, auth: auth, users: users, url: ts.URL, client: ts.Client()},
		storage:  storage,
		log:      buf,
	}
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
			expand := func(text string) string {
				return callVarRE.ReplaceAllStringFunc(text, func(m string) string {
					v, ok := vars[callVarRE.FindStringSubmatch(m)[2]]
					if !ok {
						t.Fatalf("%s is not set (an earlier call failed?)", m)
					}
					return v
				})
			}
			contentType, body := u.contentType, expand(u.raw)
			if u.parts != nil {
				parts := make([]formPart, len(u.parts))
				for i, p := range u.parts {
					parts[i] = formPart{disposition: expand(p.disposition), contentType: p.contentType, body: expand(p.body)}
				}
				contentType, body = multipartBody(t, parts...)
			}
			status, res := s.post(t, host, u.cred, u.reqID, contentType, strings.NewReader(body))
			short := res
			if len(short) > 800 {
				short = short[:800] + "..."
			}
			if status != u.status {
				t.Errorf("upload: status %d, want %d; body %s", status, u.status, short)
			}
			if status >= 400 && !strings.Contains(res, `"status":"error"`) {
				t.Errorf("not an error envelope: %s", short)
			}
			for _, f := range u.want {
				if f = expand(f); !strings.Contains(res, f) {
					t.Errorf("body lacks %s: %s", f, short)
				}
			}
			for _, f := range u.absent {
				if f = expand(f); strings.Contains(res, f) {
					t.Errorf("body has %s: %s", f, short)
				}
			}
			for name, path := range u.save {
				v, err := jsonAt(res, path)
				if err != nil {
					t.Fatalf("save %s from %s: %v in %s", name, path, err, short)
				}
				vars[name] = v
			}
		})
	}
}

// post sends body to POST /api/files/ and returns the status and the
// response body, which must be JSON.
func (s *fileStack) post(t *testing.T, host, cred, reqID, contentType string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", s.url+"/api/files/", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if cred != "" {
		req.Header.Set("Authorization", cred)
	}
	if reqID != "" {
		req.Header.Set("X-Request-ID", reqID)
	}
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("upload: Content-Type %q", ct)
	}
	return res.StatusCode, string(b)
}

// download fetches GET /api/files/{id}/download/ and returns the response,
// with its body read.
func (s *fileStack) download(t *testing.T, host, cred, id string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", s.url+"/api/files/"+id+"/download/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	if cred != "" {
		req.Header.Set("Authorization", cred)
	}
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("download %s: %v", id, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("download %s: %v", id, err)
	}
	return res, b
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
