package postgres

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// Reports keeps the tenant's reports: the rows behind taruvi.ReportService
// (whose job states the jobs package adds) and the CSV export the
// generate_report job writes to the blob store.
type Reports struct {
	db    *DB
	blobs taruvi.BlobStore
}

// NewReports returns the report store over db, writing CSV files to blobs.
func NewReports(db *DB, blobs taruvi.BlobStore) *Reports { return &Reports{db: db, blobs: blobs} }

func reportNotFound(id int64) error {
	return taruvi.Errorf(taruvi.ENOTFOUND, "Report %d not found.", id)
}

const reportColumns = `id, project_id, requested_by, coalesce(job_id, 0), row_count, size, created_at, storage_key`

func scanReport(row pgx.Row) (*taruvi.Report, string, error) {
	var r taruvi.Report
	var key *string
	err := row.Scan(&r.ID, &r.ProjectID, &r.RequestedBy, &r.JobID, &r.Rows, &r.Size, &r.CreatedAt, &key)
	if key != nil {
		r.Ready = true
		return &r, *key, err
	}
	return &r, "", err
}

// CreateReport records a report of a project the caller can see and
// enqueues its generate_report job in the same transaction.
func (s *Reports) CreateReport(ctx context.Context, projectID int64) (*taruvi.Report, error) {
	p, err := tenantPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	noProject := &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid report.",
		Fields: map[string]string{"project_id": "No such project."}}
	if projectID <= 0 {
		return nil, noProject
	}
	var requester *int64
	if p.UserID > 0 {
		requester = &p.UserID
	}
	var r *taruvi.Report
	err = s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		visible, args := projectVisible(p, "p.id", []any{projectID, requester})
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO reports (project_id, requested_by)
			SELECT p.id, $2 FROM projects p WHERE p.id = $1 AND `+visible+` RETURNING id`, args...).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return noProject
		} else if err != nil {
			return err
		}
		ids, err := s.db.enqueue(ctx, tx, taruvi.GenerateReportArgs{
			TenantRef: taruvi.TenantRef{Tenant: taruvi.TenantFromContext(ctx).Schema}, ReportID: id})
		if err != nil {
			return err
		}
		r, _, err = scanReport(tx.QueryRow(ctx, `UPDATE reports SET job_id = $2 WHERE id = $1 RETURNING `+reportColumns, id, ids[0]))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create report: %w", err)
	}
	return r, nil
}

// FindReport returns a report the caller may see: the requester's own, or
// any to the tenant's owners.
func (s *Reports) FindReport(ctx context.Context, id int64) (*taruvi.Report, error) {
	r, _, err := s.findVisible(ctx, id)
	return r, err
}

func (s *Reports) findVisible(ctx context.Context, id int64) (*taruvi.Report, string, error) {
	p, err := tenantPrincipal(ctx)
	if err != nil {
		return nil, "", err
	}
	var r *taruvi.Report
	var key string
	err = s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		r, key, err = scanReport(tx.QueryRow(ctx, `SELECT `+reportColumns+` FROM reports
			WHERE id = $1 AND ($2 OR requested_by = $3)`, id, p.IsOwner, p.UserID))
		if errors.Is(err, pgx.ErrNoRows) {
			return reportNotFound(id)
		}
		return err
	})
	return r, key, err
}

// OpenReport streams a ready report's CSV; ECONFLICT while it is not ready.
func (s *Reports) OpenReport(ctx context.Context, id int64) (io.ReadCloser, *taruvi.Report, error) {
	r, key, err := s.findVisible(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if key == "" {
		return nil, nil, taruvi.Errorf(taruvi.ECONFLICT, "Report %d is not ready yet.", id)
	}
	if err := checkTenantKey(ctx, key); err != nil {
		return nil, nil, err
	}
	body, _, err := s.blobs.Get(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	return body, r, nil
}

// checkTenantKey refuses a storage key outside the tenant of ctx.
func checkTenantKey(ctx context.Context, key string) error {
	t := taruvi.TenantFromContext(ctx)
	if t == nil || !t.OwnsBlobKey(key) {
		return fmt.Errorf("storage key %q is outside the tenant's prefix", key)
	}
	return nil
}

// GenerateReport writes report id's CSV (the project's tasks) to the blob
// store and records it, in the tenant of ctx. The key depends on the
// report only, so a retried job overwrites its own earlier attempt.
func (s *Reports) GenerateReport(ctx context.Context, id int64) error {
	t := taruvi.TenantFromContext(ctx)
	if t == nil {
		return errors.New("generate report: no tenant in the context")
	}
	key := taruvi.TenantBlobPrefix(t) + "reports/" + strconv.FormatInt(id, 10) + ".csv"
	pr, pw := io.Pipe()
	put := make(chan error, 1)
	var info taruvi.BlobInfo
	go func() {
		var err error
		info, err = s.blobs.Put(ctx, key, pr, -1, "text/csv")
		pr.CloseWithError(err)
		put <- err
	}()
	rows, err := s.writeCSV(ctx, id, pw)
	pw.CloseWithError(err)
	if putErr := <-put; err == nil {
		err = putErr
	}
	if err != nil {
		return fmt.Errorf("generate report %d: %w", id, err)
	}
	return s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE reports SET storage_key = $2, row_count = $3, size = $4, completed_at = now()
			WHERE id = $1`, id, key, rows, info.Size)
		return err
	})
}

func (s *Reports) writeCSV(ctx context.Context, id int64, w io.Writer) (int, error) {
	n := 0
	err := s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT t.id, t.title, t.status, t.priority, coalesce(u.email, ''),
				coalesce(to_char(t.due_date, 'YYYY-MM-DD'), ''), t.created_at
			FROM reports r JOIN tasks t ON t.project_id = r.project_id LEFT JOIN users u ON u.id = t.assignee_id
			WHERE r.id = $1 ORDER BY t.position, t.id`, id)
		defer rows.Close()
		cw := csv.NewWriter(w)
		if err := cw.Write([]string{"id", "title", "status", "priority", "assignee", "due_date", "created_at"}); err != nil {
			return err
		}
		for rows.Next() {
			var taskID int64
			var title, status, assignee, due string
			var priority int
			var created time.Time
			if err := rows.Scan(&taskID, &title, &status, &priority, &assignee, &due, &created); err != nil {
				return err
			}
			if err := cw.Write([]string{strconv.FormatInt(taskID, 10), csvSafe(title), status, strconv.Itoa(priority),
				assignee, due, created.UTC().Format(time.RFC3339)}); err != nil {
				return err
			}
			n++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	})
	return n, err
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}
