package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"taruvi"
)

// Tasks implements taruvi.TaskService over the tenant's tasks table. A task
// is visible when its project is (projectVisible).
type Tasks struct {
	db    *DB
	authz taruvi.Authorizer
}

var _ taruvi.TaskService = (*Tasks)(nil)

// NewTasks returns the task service over db, authorizing through authz.
func NewTasks(db *DB, authz taruvi.Authorizer) *Tasks { return &Tasks{db: db, authz: authz} }

const taskColumns = `t.id, t.project_id, t.title, t.description, t.status, t.priority, t.assignee_id, t.due_date,
	t.position, t.created_by, t.created_at, t.updated_at`

func scanTask(row pgx.Row, extra ...any) (*taruvi.Task, error) {
	var t taruvi.Task
	var due *time.Time
	err := row.Scan(append([]any{&t.ID, &t.ProjectID, &t.Title, &t.Description, &t.Status, &t.Priority,
		&t.AssigneeID, &due, &t.Position, &t.CreatedBy, &t.CreatedAt, &t.UpdatedAt}, extra...)...)
	if due != nil {
		s := due.Format(time.DateOnly)
		t.DueDate = &s
	}
	return &t, err
}

func taskNotFound(id int64) error {
	return taruvi.Errorf(taruvi.ENOTFOUND, "Task %d not found.", id)
}

// ListTasks implements taruvi.TaskService in one statement: visibility,
// filters, the page and the total.
func (s *Tasks) ListTasks(ctx context.Context, q taruvi.ListQuery) ([]*taruvi.Task, int, error) {
	page, err := cachedRead(ctx, s.db, "tasks", q, func() (listed[*taruvi.Task], error) {
		items, total, err := s.listTasks(ctx, q)
		return listed[*taruvi.Task]{items, total}, err
	})
	return page.items, page.total, err
}

func (s *Tasks) listTasks(ctx context.Context, q taruvi.ListQuery) ([]*taruvi.Task, int, error) {
	p, err := tenantPrincipal(ctx)
	if err != nil {
		return nil, 0, err
	}
	visible, args := projectVisible(p, "t.project_id", nil)
	lc := buildList(taruvi.TaskListSpec, q, "t", args)
	where := visible + " AND " + lc.Where
	tasks, total, err := tenantPage(ctx, s.db, pageSQL(taskColumns, "tasks", "t", where, lc),
		countSQL("tasks", "t", where), lc.Args, q.Offset(), scanTask)
	if err != nil {
		return nil, 0, fmt.Errorf("list tasks: %w", err)
	}
	return tasks, total, nil
}

// TaskBoard implements taruvi.TaskService in one statement: the matching
// tasks are counted by status in one pass (a MATERIALIZED CTE, which
// PostgreSQL would otherwise inline into a subquery run per row), and a
// LATERAL subquery per status takes the column's first perColumn.
func (s *Tasks) TaskBoard(ctx context.Context, q taruvi.ListQuery, perColumn int) ([]taruvi.TaskColumn, error) {
	if perColumn < 1 || perColumn > taruvi.MaxPageSize {
		perColumn = taruvi.MaxPageSize
	}
	q.Page, q.PageSize = 1, perColumn
	return cachedRead(ctx, s.db, "task-board", q, func() ([]taruvi.TaskColumn, error) { return s.taskBoard(ctx, q) })
}

func (s *Tasks) taskBoard(ctx context.Context, q taruvi.ListQuery) ([]taruvi.TaskColumn, error) {
	p, err := tenantPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	visible, args := projectVisible(p, "t.project_id", []any{taruvi.TaskStatuses})
	lc := buildList(taruvi.TaskListSpec, q, "t", args)
	where := visible + " AND " + lc.Where
	columns := make([]taruvi.TaskColumn, len(taruvi.TaskStatuses))
	index := map[string]int{}
	for i, status := range taruvi.TaskStatuses {
		columns[i].Status, index[status] = status, i
	}
	err = s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `WITH counts AS MATERIALIZED (
				SELECT t.status, count(*)::int AS n FROM tasks t WHERE `+where+` GROUP BY t.status)
			SELECT `+taskColumns+`, c.n
			FROM unnest($1::text[]) WITH ORDINALITY s(status, ord)
			JOIN counts c ON c.status = s.status
			CROSS JOIN LATERAL (SELECT t.* FROM tasks t WHERE t.status = s.status AND `+where+`
				ORDER BY `+lc.Order+` `+lc.Limit+`) t
			ORDER BY s.ord, `+lc.Order, lc.Args...)
		_, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (struct{}, error) {
			var total int
			t, err := scanTask(row, &total)
			if err == nil {
				c := &columns[index[t.Status]]
				c.Tasks, c.Total = append(c.Tasks, t), total
			}
			return struct{}{}, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("task board: %w", err)
	}
	return columns, nil
}

// FindTaskByID implements taruvi.TaskService.
func (s *Tasks) FindTaskByID(ctx context.Context, id int64) (*taruvi.Task, error) {
	p, err := tenantPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	var task *taruvi.Task
	err = s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		visible, args := projectVisible(p, "t.project_id", []any{id})
		var err error
		task, err = scanTask(tx.QueryRow(ctx, `SELECT `+taskColumns+` FROM tasks t WHERE t.id = $1 AND `+visible, args...))
		if errors.Is(err, pgx.ErrNoRows) {
			return taskNotFound(id)
		}
		return err
	})
	return task, err
}

// CreateTask implements taruvi.TaskService. The insert selects the project
// under the visibility rule, so an invisible project inserts nothing.
func (s *Tasks) CreateTask(ctx context.Context, in taruvi.TaskCreate) (*taruvi.Task, error) {
	p, err := tenantPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	noProject := &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid task.",
		Fields: map[string]string{"project_id": "No such project."}}
	if in.ProjectID <= 0 {
		return nil, in.Validate()
	}
	if err := s.authz.Can(ctx, taruvi.PermAddTask, projectObject(in.ProjectID)); err != nil {
		if taruvi.ErrorCode(err) == taruvi.EFORBIDDEN {
			if visible, verr := isProjectVisible(ctx, s.db, p, in.ProjectID); verr != nil {
				return nil, verr
			} else if !visible {
				return nil, noProject
			}
		}
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var creator *int64
	if p.UserID > 0 {
		creator = &p.UserID
	}
	// One statement, pipelined with the scope and the commit: one round
	// trip. The insert selects the project under the visibility rule, and
	// the assignment notice is enqueued for the row it inserted, if any,
	// when it has an assignee.
	visible, args := projectVisible(p, "p.id", []any{in.ProjectID, in.Title, in.Description, in.Status,
		in.Priority, in.AssigneeID, in.DueDate, in.Position, creator})
	_, job, err := JobStatement(taruvi.TaskAssignedArgs{TenantRef: taruvi.TenantRef{Tenant: taruvi.TenantFromContext(ctx).Schema}})
	if err != nil {
		return nil, err
	}
	n := len(args)
	args = append(args, job...)
	ph := func(i int) string { return "$" + strconv.Itoa(n+i) }
	var task *taruvi.Task
	unit := &pgx.Batch{}
	unit.Queue(`WITH t AS (
			INSERT INTO tasks AS t (project_id, title, description, status, priority, assignee_id, due_date, position, created_by)
			SELECT p.id, $2, $3, $4, $5, $6, $7::text::date, $8, $9 FROM projects p WHERE p.id = $1 AND `+visible+`
			RETURNING `+taskColumns+`)
		SELECT `+taskColumns+`, CASE WHEN t.assignee_id IS NOT NULL THEN taruvi.enqueue_job(`+ph(1)+`,
			`+ph(2)+`::jsonb || jsonb_build_object('task_id', t.id, 'assignee_id', t.assignee_id),
			`+ph(3)+`, `+ph(4)+`, `+ph(5)+`, `+ph(6)+`, `+ph(7)+`) END
		FROM t`, args...).
		QueryRow(func(row pgx.Row) error {
			var err error
			task, err = scanTask(row, new(*int64))
			return err
		})
	err = s.db.InTenant(ctx, nil, Pipelined(unit))
	if errors.Is(err, pgx.ErrNoRows) || taruvi.ErrorCode(err) == taruvi.ENOTFOUND {
		return nil, noProject
	} else if err != nil {
		return nil, taskWriteError(err)
	}
	return task, nil
}

// notifyAssignee enqueues the assignment notice when task has an assignee
// other than before (nil: none before), in the write's transaction.
func (s *Tasks) notifyAssignee(ctx context.Context, tx pgx.Tx, task *taruvi.Task, before *int64) error {
	if task.AssigneeID == nil || (before != nil && *before == *task.AssigneeID) {
		return nil
	}
	_, err := s.db.enqueue(ctx, tx, taruvi.TaskAssignedArgs{
		TenantRef: taruvi.TenantRef{Tenant: taruvi.TenantFromContext(ctx).Schema},
		TaskID:    task.ID, AssigneeID: *task.AssigneeID})
	return err
}

// taskWriteError names the field a failed write broke.
func taskWriteError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" && pgErr.ConstraintName == "tasks_assignee_id_fkey" {
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid task.",
			Fields: map[string]string{"assignee_id": "No such user."}, Wrapped: err}
	}
	return err
}

// UpdateTask implements taruvi.TaskService.
func (s *Tasks) UpdateTask(ctx context.Context, id int64, upd taruvi.TaskUpdate) (*taruvi.Task, error) {
	if _, err := s.authorize(ctx, taruvi.PermChangeTask, id); err != nil {
		return nil, err
	}
	if err := upd.Validate(); err != nil {
		return nil, err
	}
	var task *taruvi.Task
	err := s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var before *int64
		if upd.AssigneeID != nil && *upd.AssigneeID > 0 {
			err := tx.QueryRow(ctx, `SELECT assignee_id FROM tasks WHERE id = $1 FOR UPDATE`, id).Scan(&before)
			if errors.Is(err, pgx.ErrNoRows) {
				return taskNotFound(id)
			} else if err != nil {
				return err
			}
		}
		var err error
		task, err = scanTask(tx.QueryRow(ctx, `UPDATE tasks AS t SET
				title = coalesce($2, t.title),
				description = coalesce($3, t.description),
				status = coalesce($4, t.status),
				priority = coalesce($5, t.priority),
				assignee_id = CASE WHEN $6::bigint IS NULL THEN t.assignee_id ELSE nullif($6::bigint, 0) END,
				due_date = CASE WHEN $7::text IS NULL THEN t.due_date ELSE nullif($7::text, '')::date END,
				position = coalesce($8, t.position),
				updated_at = now()
			WHERE t.id = $1 RETURNING `+taskColumns,
			id, upd.Title, upd.Description, upd.Status, upd.Priority, upd.AssigneeID, upd.DueDate, upd.Position))
		if errors.Is(err, pgx.ErrNoRows) {
			return taskNotFound(id)
		} else if err != nil {
			return taskWriteError(err)
		}
		if upd.AssigneeID == nil || *upd.AssigneeID <= 0 {
			return nil
		}
		return s.notifyAssignee(ctx, tx, task, before)
	})
	return task, err
}

// DeleteTask implements taruvi.TaskService.
func (s *Tasks) DeleteTask(ctx context.Context, id int64) error {
	if _, err := s.authorize(ctx, taruvi.PermDeleteTask, id); err != nil {
		return err
	}
	return s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM tasks WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete task %d: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return taskNotFound(id)
		}
		return nil
	})
}

// authorize finds a visible task (ENOTFOUND otherwise) and asks for
// permission on its project. A task never changes project, so the answer
// holds for the write that follows.
func (s *Tasks) authorize(ctx context.Context, permission string, id int64) (*taruvi.Task, error) {
	task, err := s.FindTaskByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.authz.Can(ctx, permission, projectObject(task.ProjectID)); err != nil {
		return nil, err
	}
	return task, nil
}
