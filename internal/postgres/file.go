package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"taruvi"
)

// Files implements taruvi.FileService: metadata in the tenant's files
// table, contents in a blob store under the tenant's prefix. A file is
// visible when its project is (projectVisible).
//
// An upload streams the body to the blob store first, outside any
// transaction (a transaction held open for the minutes of a large upload
// would pin a connection and its locks), and then records the row; a
// failed insert deletes the blob again. A deletion removes the row first
// and then the blob: should the blob outlive its row (a crash, an outage
// of the store), the file is gone for every user all the same, and the
// orphan is logged for cleaning.
type Files struct {
	db       *DB
	authz    taruvi.Authorizer
	blobs    taruvi.BlobStore
	maxBytes int64
	log      *slog.Logger
}

var _ taruvi.FileService = (*Files)(nil)

// NewFiles returns the file service over db and blobs, authorizing through
// authz. maxBytes (TARUVI_MAX_UPLOAD_BYTES) bounds every upload; log gets
// the blobs that could not be deleted and keys refused as another
// tenant's.
func NewFiles(db *DB, authz taruvi.Authorizer, blobs taruvi.BlobStore, maxBytes int64, log *slog.Logger) *Files {
	return &Files{db: db, authz: authz, blobs: blobs, maxBytes: maxBytes, log: log}
}

const fileColumns = `f.id, f.name, f.size, f.content_type, f.sha256, f.project_id, f.task_id, f.uploaded_by, f.created_at`

func scanFile(row pgx.Row, extra ...any) (*taruvi.File, error) {
	var f taruvi.File
	err := row.Scan(append([]any{&f.ID, &f.Name, &f.Size, &f.ContentType, &f.SHA256, &f.ProjectID, &f.TaskID,
		&f.UploadedBy, &f.CreatedAt}, extra...)...)
	return &f, err
}

func fileNotFound(id int64) error {
	return taruvi.Errorf(taruvi.ENOTFOUND, "File %d not found.", id)
}

// ListFiles implements taruvi.FileService in one statement: visibility,
// filters, the page and the total.
func (s *Files) ListFiles(ctx context.Context, q taruvi.ListQuery) ([]*taruvi.File, int, error) {
	page, err := cachedRead(ctx, s.db, "files", q, func() (listed[*taruvi.File], error) {
		items, total, err := s.listFiles(ctx, q)
		return listed[*taruvi.File]{items, total}, err
	})
	return page.items, page.total, err
}

func (s *Files) listFiles(ctx context.Context, q taruvi.ListQuery) ([]*taruvi.File, int, error) {
	p, err := tenantPrincipal(ctx)
	if err != nil {
		return nil, 0, err
	}
	visible, args := projectVisible(p, "f.project_id", nil)
	lc := buildList(taruvi.FileListSpec, q, "f", args)
	where := visible + " AND " + lc.Where
	files, total, err := tenantPage(ctx, s.db, pageSQL(fileColumns, "files", "f", where, lc),
		countSQL("files", "f", where), lc.Args, q.Offset(), scanFile)
	if err != nil {
		return nil, 0, fmt.Errorf("list files: %w", err)
	}
	return files, total, nil
}

// FindFileByID implements taruvi.FileService.
func (s *Files) FindFileByID(ctx context.Context, id int64) (*taruvi.File, error) {
	p, err := tenantPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	f, _, err := s.findVisible(ctx, p, id)
	return f, err
}

// findVisible returns a visible file and its storage key.
func (s *Files) findVisible(ctx context.Context, p *taruvi.Principal, id int64) (*taruvi.File, string, error) {
	var f *taruvi.File
	var key string
	err := s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		visible, args := projectVisible(p, "f.project_id", []any{id})
		var err error
		f, err = scanFile(tx.QueryRow(ctx, `SELECT `+fileColumns+`, f.storage_key FROM files f
			WHERE f.id = $1 AND `+visible, args...), &key)
		if errors.Is(err, pgx.ErrNoRows) {
			return fileNotFound(id)
		}
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return f, key, nil
}

// UploadFile implements taruvi.FileService. Visibility and permission are
// settled before the body is read; the insert checks visibility again, so
// a project deleted or hidden during the upload keeps nothing.
func (s *Files) UploadFile(ctx context.Context, in taruvi.FileUpload) (*taruvi.File, error) {
	p, err := tenantPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	projectID, err := s.uploadProject(ctx, p, in.ProjectID, in.TaskID)
	if err != nil {
		return nil, err
	}
	if err := s.authz.Can(ctx, taruvi.PermAddFile, projectObject(projectID)); err != nil {
		return nil, err
	}
	key, err := newFileKey(ctx)
	if err != nil {
		return nil, err
	}
	info, err := s.blobs.Put(ctx, key, in.Body, s.maxBytes, in.ContentType)
	if err != nil {
		return nil, fmt.Errorf("store the content of %q: %w", in.Name, err)
	}
	f, err := s.insertFile(ctx, p, in, projectID, info)
	if err != nil {
		s.removeBlob(ctx, key, "the file's row was not recorded")
		return nil, err
	}
	return f, nil
}

// CanUpload implements taruvi.FileService.
func (s *Files) CanUpload(ctx context.Context) error {
	if _, err := tenantPrincipal(ctx); err != nil {
		return err
	}
	return s.authz.Can(ctx, taruvi.PermAddFile, taruvi.Object{Type: taruvi.ObjectProject})
}

// uploadProject returns the project a new file goes to: the given one,
// which must be visible, or the project of the given task, which must be
// visible and, when both are given, in that project.
func (s *Files) uploadProject(ctx context.Context, p *taruvi.Principal, projectID, taskID int64) (int64, error) {
	if taskID == 0 {
		visible, err := isProjectVisible(ctx, s.db, p, projectID)
		switch {
		case err != nil:
			return 0, err
		case !visible:
			return 0, projectNotFound(projectID)
		}
		return projectID, nil
	}
	var taskProject int64
	err := s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		visible, args := projectVisible(p, "t.project_id", []any{taskID})
		err := tx.QueryRow(ctx, `SELECT t.project_id FROM tasks t WHERE t.id = $1 AND `+visible, args...).Scan(&taskProject)
		if errors.Is(err, pgx.ErrNoRows) {
			return taskNotFound(taskID)
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	if projectID != 0 && projectID != taskProject {
		return 0, &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid file.",
			Fields: map[string]string{"task": fmt.Sprintf("Task %d is not in project %d.", taskID, projectID)}}
	}
	return taskProject, nil
}

// newFileKey returns a fresh storage key under the tenant's prefix. It is
// random, never made of the user's file name, so that no name can reach
// another key.
func newFileKey(ctx context.Context) (string, error) {
	t := taruvi.TenantFromContext(ctx)
	if t == nil {
		return "", errors.New("file key: no tenant in the context")
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("file key: %w", err)
	}
	return taruvi.TenantBlobPrefix(t) + "files/" + hex.EncodeToString(b[:]), nil
}

// insertFile records an uploaded file. The project's visibility and the
// task's project are checked again in the statement: either may have
// changed during the upload.
func (s *Files) insertFile(ctx context.Context, p *taruvi.Principal, in taruvi.FileUpload, projectID int64,
	info taruvi.BlobInfo) (*taruvi.File, error) {
	var uploader, task *int64
	if p.UserID > 0 {
		uploader = &p.UserID
	}
	if in.TaskID > 0 {
		task = &in.TaskID
	}
	gone := func() error {
		if task != nil {
			return taskNotFound(*task)
		}
		return projectNotFound(projectID)
	}
	var f *taruvi.File
	err := s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		visible, args := projectVisible(p, "p.id", []any{projectID, in.Name, info.Size, in.ContentType, info.SHA256,
			info.Key, task, uploader})
		var err error
		f, err = scanFile(tx.QueryRow(ctx, `INSERT INTO files AS f (name, size, content_type, sha256, storage_key,
				project_id, task_id, uploaded_by)
			SELECT $2, $3, $4, $5, $6, p.id, $7, $8 FROM projects p WHERE p.id = $1 AND `+visible+`
				AND ($7::bigint IS NULL OR EXISTS (SELECT 1 FROM tasks t WHERE t.id = $7 AND t.project_id = p.id))
			RETURNING `+fileColumns, args...))
		var pgErr *pgconn.PgError
		if errors.Is(err, pgx.ErrNoRows) || (errors.As(err, &pgErr) && pgErr.Code == "23503") {
			return gone()
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("record file %q: %w", in.Name, err)
	}
	return f, nil
}

// OpenFile implements taruvi.FileService.
func (s *Files) OpenFile(ctx context.Context, id int64) (io.ReadCloser, *taruvi.File, error) {
	p, err := tenantPrincipal(ctx)
	if err != nil {
		return nil, nil, err
	}
	f, key, err := s.findVisible(ctx, p, id)
	if err != nil {
		return nil, nil, err
	}
	if err := s.checkKey(ctx, key); err != nil {
		return nil, nil, fileNotFound(id)
	}
	rc, _, err := s.blobs.Get(ctx, key)
	if taruvi.ErrorCode(err) == taruvi.ENOTFOUND {
		s.log.ErrorContext(ctx, "the content of a file is missing from the blob store", "tenant", p.Audience,
			"request_id", taruvi.RequestIDFromContext(ctx), "file_id", id, "key", key)
		return nil, nil, taruvi.Errorf(taruvi.ENOTFOUND, "The content of file %d is missing.", id)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open file %d: %w", id, err)
	}
	return rc, f, nil
}

// DeleteFile implements taruvi.FileService: the row goes first, in its
// transaction, then the blob. A blob that cannot be deleted is logged, not
// returned: the file is gone for its users either way.
func (s *Files) DeleteFile(ctx context.Context, id int64) error {
	p, err := tenantPrincipal(ctx)
	if err != nil {
		return err
	}
	f, _, err := s.findVisible(ctx, p, id)
	if err != nil {
		return err
	}
	if err := s.authz.Can(ctx, taruvi.PermDeleteFile, projectObject(f.ProjectID)); err != nil {
		return err
	}
	var key string
	err = s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `DELETE FROM files WHERE id = $1 RETURNING storage_key`, id).Scan(&key)
		if errors.Is(err, pgx.ErrNoRows) {
			return fileNotFound(id)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("delete file %d: %w", id, err)
	}
	s.removeBlob(ctx, key, "the file was deleted")
	return nil
}

// blobCleanupTimeout bounds the deletion of a blob whose row is gone or
// was never recorded.
const blobCleanupTimeout = 30 * time.Second

// removeBlob deletes the blob of key, logging a failure: the blob is then
// an orphan, left to the store's maintenance. It runs to the end even when
// the request was cancelled.
func (s *Files) removeBlob(ctx context.Context, key, why string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), blobCleanupTimeout)
	defer cancel()
	if err := s.checkKey(ctx, key); err != nil {
		return
	}
	if err := s.blobs.Delete(ctx, key); err != nil {
		s.log.WarnContext(ctx, "blob not deleted; it is an orphan now", "reason", why, "key", key,
			"request_id", taruvi.RequestIDFromContext(ctx), "error", err)
	}
}

// checkKey refuses a key outside the prefix of the tenant in ctx. Keys
// come from the tenant's own table, which only this store writes, so this
// fails only for a row forged or copied from another tenant: a defence in
// depth behind the database's isolation of schemas, since the blob store
// itself accepts any tenant's keys.
func (s *Files) checkKey(ctx context.Context, key string) error {
	t := taruvi.TenantFromContext(ctx)
	if t != nil && t.OwnsBlobKey(key) {
		return nil
	}
	tenant := ""
	if t != nil {
		tenant = t.Schema
	}
	s.log.WarnContext(ctx, "blob key outside the tenant's prefix refused", "category", "security",
		"event", "foreign_blob_key", "tenant", tenant, "request_id", taruvi.RequestIDFromContext(ctx), "key", key)
	return taruvi.Errorf(taruvi.EFORBIDDEN, "The file's storage key is not the tenant's.")
}
