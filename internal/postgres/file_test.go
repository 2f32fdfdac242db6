package postgres_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/auth"
	"taruvi/internal/blob"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
)

// fileApps is the file service of one test over a local blob store, with
// the project and user services to set it up.
type fileApps struct {
	*apps
	users   *auth.Users
	files   *postgres.Files
	storage string
	log     *lockedBuffer
}

// lockedBuffer is a log sink shared by the services and the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newFileApps(t *testing.T, maxBytes int64) *fileApps {
	t.Helper()
	db := postgrestest.DB(t)
	buf := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(buf, nil))
	authz := testAuthz(db, log)
	storage := t.TempDir()
	blobs, err := blob.NewLocal(storage)
	if err != nil {
		t.Fatal(err)
	}
	return &fileApps{
		apps:    &apps{db: db, projects: postgres.NewProjects(db, authz), tasks: postgres.NewTasks(db, authz), history: postgres.NewHistory(db, authz, builtinHistoryTypes)},
		users:   testUsers(db, authz),
		files:   postgres.NewFiles(db, authz, blobs, maxBytes, log),
		storage: storage,
		log:     buf,
	}
}

// blobs returns the keys of the blobs the store holds.
func (s *fileApps) blobs(t *testing.T) []string {
	t.Helper()
	var keys []string
	err := filepath.WalkDir(filepath.Join(s.storage, "tenants"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(s.storage, path)
		keys = append(keys, filepath.ToSlash(rel))
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return keys
}

// project creates a project as the operator.
func (s *fileApps) project(t *testing.T, ctx context.Context, name string) *taruvi.Project {
	t.Helper()
	p, err := s.projects.CreateProject(operator(ctx), taruvi.ProjectCreate{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// member returns the context of a new user who is a member of project
// and holds perms model-wide.
func (s *fileApps) member(t *testing.T, ctx context.Context, name string, project int64, perms ...string) context.Context {
	t.Helper()
	op := operator(ctx)
	u, err := s.users.CreateUser(op, taruvi.UserCreate{Email: name + "@example.test"})
	if err != nil {
		t.Fatal(err)
	}
	if project > 0 {
		if _, err := s.projects.AddProjectMember(op, project, taruvi.ProjectMember{UserID: u.ID}); err != nil {
			t.Fatal(err)
		}
	}
	for _, perm := range perms {
		if _, err := s.users.GrantPermission(op, taruvi.ObjectGrant{UserID: &u.ID, Permission: perm}); err != nil {
			t.Fatal(err)
		}
	}
	return taruvi.NewContextWithPrincipal(ctx, &taruvi.Principal{UserID: u.ID, Audience: taruvi.AudienceFromContext(ctx)})
}

// unread is a body that fails the test when read: the upload must be
// refused before.
type unread struct{ t *testing.T }

func (u unread) Read([]byte) (int, error) {
	u.t.Error("the body was read")
	return 0, io.ErrUnexpectedEOF
}

// TestFileAuthorizationComesFirst: without a principal of the tenant,
// with bad input, an invisible project or task, or without the
// permission, nothing is read and nothing is stored.
func TestFileAuthorizationComesFirst(t *testing.T) {
	t.Parallel()
	s := newFileApps(t, 1<<20)
	ctx, _ := postgrestest.TenantContext(t, s.db)
	p1, p2 := s.project(t, ctx, "Apollo"), s.project(t, ctx, "Gemini")
	task, err := s.tasks.CreateTask(operator(ctx), taruvi.TaskCreate{ProjectID: p2.ID, Title: "Orbit"})
	if err != nil {
		t.Fatal(err)
	}
	member := s.member(t, ctx, "mia", p1.ID)
	outsider := s.member(t, ctx, "otto", 0, taruvi.PermAddFile, taruvi.PermDeleteFile)
	foreign := taruvi.NewContextWithPrincipal(ctx, &taruvi.Principal{UserID: 1, Audience: "t_other", IsOwner: true})
	platform := operator(context.Background())
	upload := func(project, task int64, name string) taruvi.FileUpload {
		return taruvi.FileUpload{Name: name, ProjectID: project, TaskID: task, Body: unread{t}}
	}
	cases := []struct {
		name string
		ctx  context.Context
		in   taruvi.FileUpload
		code string
	}{
		{"anonymous", ctx, upload(p1.ID, 0, "a.txt"), taruvi.EUNAUTHORIZED},
		{"another tenant's principal", foreign, upload(p1.ID, 0, "a.txt"), taruvi.EFORBIDDEN},
		{"the platform", platform, upload(p1.ID, 0, "a.txt"), taruvi.ENOTFOUND},
		{"no name", operator(ctx), upload(p1.ID, 0, " "), taruvi.EINVALID},
		{"a path for a name", operator(ctx), upload(p1.ID, 0, "dir/"), taruvi.EINVALID},
		{"no project or task", operator(ctx), upload(0, 0, "a.txt"), taruvi.EINVALID},
		{"a task of another project", operator(ctx), upload(p1.ID, task.ID, "a.txt"), taruvi.EINVALID},
		{"an unknown project", operator(ctx), upload(999, 0, "a.txt"), taruvi.ENOTFOUND},
		{"an unknown task", operator(ctx), upload(0, 999, "a.txt"), taruvi.ENOTFOUND},
		{"an invisible project", outsider, upload(p1.ID, 0, "a.txt"), taruvi.ENOTFOUND},
		{"a task of an invisible project", member, upload(0, task.ID, "a.txt"), taruvi.ENOTFOUND},
		{"a member without add_file", member, upload(p1.ID, 0, "a.txt"), taruvi.EFORBIDDEN},
	}
	for _, c := range cases {
		if _, err := s.files.UploadFile(c.ctx, c.in); taruvi.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	for _, c := range cases[:3] {
		calls := map[string]error{}
		_, _, calls["ListFiles"] = s.files.ListFiles(c.ctx, taruvi.ListQuery{Page: 1, PageSize: 10})
		_, calls["FindFileByID"] = s.files.FindFileByID(c.ctx, 1)
		_, _, calls["OpenFile"] = s.files.OpenFile(c.ctx, 1)
		calls["DeleteFile"] = s.files.DeleteFile(c.ctx, 1)
		for name, err := range calls {
			if taruvi.ErrorCode(err) != c.code {
				t.Errorf("%s, %s: %v, want %s", c.name, name, err, c.code)
			}
		}
	}
	if got := s.blobs(t); len(got) != 0 {
		t.Errorf("refused uploads left %q", got)
	}
}

// TestFileUploadByOperator: the command line uploads with no uploader; the
// storage key is random, under the tenant's prefix, and not part of the
// file as callers see it.
func TestFileUploadByOperator(t *testing.T) {
	t.Parallel()
	s := newFileApps(t, 1<<20)
	ctx, tenant := postgrestest.TenantContext(t, s.db)
	p := s.project(t, ctx, "Apollo")
	op := operator(ctx)
	f, err := s.files.UploadFile(op, taruvi.FileUpload{Name: `..\..\Report.PDF`, ContentType: "Application/PDF",
		ProjectID: p.ID, Body: strings.NewReader("%PDF-")})
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "Report.PDF" || f.ContentType != "application/pdf" || f.Size != 5 || f.UploadedBy != nil ||
		f.ProjectID != p.ID || f.TaskID != nil || len(f.SHA256) != 64 {
		t.Errorf("uploaded %+v", f)
	}
	var key string
	err = s.db.InTenant(op, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT storage_key FROM files WHERE id = $1`, f.ID).Scan(&key)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^tenants/` + strconv.FormatInt(tenant.ID, 10) + `/files/[0-9a-f]{32}$`).MatchString(key) {
		t.Errorf("storage key %q, want tenants/%d/files/<32 hex digits>", key, tenant.ID)
	}
	if got := s.blobs(t); len(got) != 1 || got[0] != key {
		t.Errorf("the store holds %q, want %q", got, key)
	}
	b, _ := json.Marshal(f)
	if strings.Contains(string(b), key) || strings.Contains(string(b), "storage") {
		t.Errorf("the file shows its storage key: %s", b)
	}
	rc, opened, err := s.files.OpenFile(op, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if content, err := io.ReadAll(rc); err != nil || string(content) != "%PDF-" || *opened != *f {
		t.Errorf("OpenFile = %+v, %q, %v", opened, content, err)
	}
}

// projectDeleter is a body that deletes the file's project as it is first
// read: the upload's visibility check passed, and the insert must fail.
type projectDeleter struct {
	t       *testing.T
	s       *fileApps
	ctx     context.Context
	project int64
	once    sync.Once
	r       io.Reader
}

func (d *projectDeleter) Read(p []byte) (int, error) {
	d.once.Do(func() {
		if err := d.s.projects.DeleteProject(operator(d.ctx), d.project); err != nil {
			d.t.Errorf("delete the project mid-upload: %v", err)
		}
	})
	return d.r.Read(p)
}

// TestFileUploadLeavesNothingOnFailure: when the row cannot be recorded
// (the project went during the upload) or the file is over the limit,
// neither the row nor the blob remains.
func TestFileUploadLeavesNothingOnFailure(t *testing.T) {
	t.Parallel()
	s := newFileApps(t, 100)
	ctx, _ := postgrestest.TenantContext(t, s.db)
	op := operator(ctx)
	gone := s.project(t, ctx, "Ephemeral")
	body := &projectDeleter{t: t, s: s, ctx: ctx, project: gone.ID, r: strings.NewReader("some content")}
	_, err := s.files.UploadFile(op, taruvi.FileUpload{Name: "a.txt", ProjectID: gone.ID, Body: body})
	if taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		t.Errorf("upload to a project deleted meanwhile: %v, want %s", err, taruvi.ENOTFOUND)
	}
	kept := s.project(t, ctx, "Kept")
	_, err = s.files.UploadFile(op, taruvi.FileUpload{Name: "big.bin", ProjectID: kept.ID, Body: strings.NewReader(strings.Repeat("x", 101))})
	if taruvi.ErrorCode(err) != taruvi.ETOOLARGE {
		t.Errorf("upload over the limit: %v, want %s", err, taruvi.ETOOLARGE)
	}
	if got := s.blobs(t); len(got) != 0 {
		t.Errorf("failed uploads left blobs %q", got)
	}
	files, total, err := s.files.ListFiles(op, taruvi.ListQuery{Page: 1, PageSize: 10})
	if err != nil || total != 0 {
		t.Errorf("failed uploads left rows: %d %+v %v", total, files, err)
	}
	if _, err := s.files.UploadFile(op, taruvi.FileUpload{Name: "ok.bin", ProjectID: kept.ID,
		Body: strings.NewReader(strings.Repeat("x", 100))}); err != nil {
		t.Errorf("upload of exactly the limit: %v", err)
	}
}

// TestFileDeleteWithLostBlob: a file whose blob is gone still deletes; the
// failure to delete the blob is logged, and the download says the content
// is missing rather than failing.
func TestFileDeleteWithLostBlob(t *testing.T) {
	t.Parallel()
	s := newFileApps(t, 1<<20)
	ctx, _ := postgrestest.TenantContext(t, s.db)
	op := operator(ctx)
	p := s.project(t, ctx, "Apollo")
	f, err := s.files.UploadFile(op, taruvi.FileUpload{Name: "a.txt", ProjectID: p.ID, Body: strings.NewReader("a")})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range s.blobs(t) {
		if err := os.Remove(filepath.Join(s.storage, filepath.FromSlash(key))); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.files.OpenFile(op, f.ID); taruvi.ErrorCode(err) != taruvi.ENOTFOUND ||
		!strings.Contains(taruvi.ErrorMessage(err), "missing") {
		t.Errorf("OpenFile without its blob: %v, want %s saying the content is missing", err, taruvi.ENOTFOUND)
	}
	if err := s.files.DeleteFile(op, f.ID); err != nil {
		t.Fatalf("DeleteFile without its blob: %v", err)
	}
	if _, err := s.files.FindFileByID(op, f.ID); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		t.Errorf("FindFileByID after DeleteFile: %v, want %s", err, taruvi.ENOTFOUND)
	}
	if log := s.log.String(); !strings.Contains(log, "orphan") || !strings.Contains(log, "content of a file is missing") {
		t.Errorf("the lost blob is not logged: %s", log)
	}
}

// TestFileRefusesAnotherTenantsKey: a row of tenant B naming a key of
// tenant A, which only raw SQL can write, reads and deletes nothing of A.
func TestFileRefusesAnotherTenantsKey(t *testing.T) {
	t.Parallel()
	s := newFileApps(t, 1<<20)
	ctxA, _ := postgrestest.TenantContext(t, s.db)
	ctxB, _ := postgrestest.TenantContext(t, s.db)
	pa, pb := s.project(t, ctxA, "A"), s.project(t, ctxB, "B")
	fa, err := s.files.UploadFile(operator(ctxA), taruvi.FileUpload{Name: "a.txt", ProjectID: pa.ID, Body: strings.NewReader("secret")})
	if err != nil {
		t.Fatal(err)
	}
	keyA := s.blobs(t)[0]
	var forged int64
	err = s.db.InTenant(operator(ctxB), func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO files (name, size, content_type, sha256, storage_key, project_id)
			VALUES ('b.txt', 6, 'text/plain', 'x', $1, $2) RETURNING id`, keyA, pb.ID).Scan(&forged)
	})
	if err != nil {
		t.Fatal(err)
	}
	if rc, _, err := s.files.OpenFile(operator(ctxB), forged); taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		if rc != nil {
			rc.Close()
		}
		t.Errorf("OpenFile of B's row with A's key: %v, want %s", err, taruvi.ENOTFOUND)
	}
	if err := s.files.DeleteFile(operator(ctxB), forged); err != nil {
		t.Errorf("DeleteFile of B's row: %v", err)
	}
	if strings.Count(s.log.String(), `"event":"foreign_blob_key"`) != 2 {
		t.Errorf("want two security events in the log: %s", s.log.String())
	}
	rc, _, err := s.files.OpenFile(operator(ctxA), fa.ID)
	if err != nil {
		t.Fatalf("A's file after B's attempts: %v", err)
	}
	defer rc.Close()
	if content, _ := io.ReadAll(rc); string(content) != "secret" {
		t.Errorf("A's file reads %q", content)
	}
}
