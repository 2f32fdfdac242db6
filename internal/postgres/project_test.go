package postgres_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
)

// apps is the project, task and history services of one test.
type apps struct {
	db       *postgres.DB
	projects *postgres.Projects
	tasks    *postgres.Tasks
	history  *postgres.History
}

// builtinHistoryTypes are the history's object types on a platform of the
// built-in modules, as taruvi.HistoryObjectTypes derives them from their
// audited tables (a test of cmd/taruvi holds the two together).
var builtinHistoryTypes = []string{taruvi.ObjectProject, taruvi.ObjectProjectMember, taruvi.ObjectTask, taruvi.ObjectFile,
	taruvi.ObjectUser, taruvi.ObjectGroup}

func newApps(t *testing.T) *apps {
	t.Helper()
	db := postgrestest.DB(t)
	authz := testAuthz(db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return &apps{db: db, projects: postgres.NewProjects(db, authz), tasks: postgres.NewTasks(db, authz),
		history: postgres.NewHistory(db, authz, builtinHistoryTypes)}
}

// TestProjectByOperator: the command line (no user) creates projects with
// no owner and no members, and its changes are recorded with no actor.
func TestProjectByOperator(t *testing.T) {
	t.Parallel()
	s := newApps(t)
	ctx, _ := postgrestest.TenantContext(t, s.db)
	op := operator(taruvi.NewContextWithRequestID(ctx, "cli-1"))
	p, err := s.projects.CreateProject(op, taruvi.ProjectCreate{Name: "Imported"})
	if err != nil {
		t.Fatal(err)
	}
	if p.OwnerID != nil || len(p.Members) != 0 || p.Status != taruvi.ProjectActive {
		t.Fatalf("project by the operator: %+v", p)
	}
	entries, total, err := s.history.ListHistory(op, taruvi.ObjectProject, "0001", taruvi.ListQuery{Page: 1, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if total != 1 || len(entries) != 1 || entries[0].ActorID != nil || entries[0].RequestID == nil || *entries[0].RequestID != "cli-1" ||
		entries[0].ObjectID != "1" {
		t.Fatalf("history of the operator's project: total %d, %+v", total, entries)
	}
}

// TestAppsNeedAPrincipalOfTheTenant: no principal is EUNAUTHORIZED, a
// principal of another tenant EFORBIDDEN, the platform ENOTFOUND, before
// any SQL runs.
func TestAppsNeedAPrincipalOfTheTenant(t *testing.T) {
	t.Parallel()
	s := newApps(t)
	ctx, _ := postgrestest.TenantContext(t, s.db)
	foreign := taruvi.NewContextWithPrincipal(ctx, &taruvi.Principal{UserID: 1, Audience: "t_other", IsOwner: true})
	platform := operator(context.Background())
	q := taruvi.ListQuery{Page: 1, PageSize: 10}
	for _, c := range []struct {
		ctx  context.Context
		code string
	}{{ctx, taruvi.EUNAUTHORIZED}, {foreign, taruvi.EFORBIDDEN}, {platform, taruvi.ENOTFOUND}} {
		calls := map[string]error{}
		_, _, calls["ListProjects"] = s.projects.ListProjects(c.ctx, q)
		_, calls["FindProjectByID"] = s.projects.FindProjectByID(c.ctx, 1)
		_, calls["CreateProject"] = s.projects.CreateProject(c.ctx, taruvi.ProjectCreate{Name: "x"})
		_, calls["UpdateProject"] = s.projects.UpdateProject(c.ctx, 1, taruvi.ProjectUpdate{Name: new("x")})
		calls["DeleteProject"] = s.projects.DeleteProject(c.ctx, 1)
		_, calls["AddProjectMember"] = s.projects.AddProjectMember(c.ctx, 1, taruvi.ProjectMember{UserID: 1})
		calls["RemoveProjectMember"] = s.projects.RemoveProjectMember(c.ctx, 1, 1)
		_, _, calls["ListTasks"] = s.tasks.ListTasks(c.ctx, q)
		_, calls["FindTaskByID"] = s.tasks.FindTaskByID(c.ctx, 1)
		_, calls["CreateTask"] = s.tasks.CreateTask(c.ctx, taruvi.TaskCreate{ProjectID: 1, Title: "x"})
		_, calls["UpdateTask"] = s.tasks.UpdateTask(c.ctx, 1, taruvi.TaskUpdate{Title: new("x")})
		calls["DeleteTask"] = s.tasks.DeleteTask(c.ctx, 1)
		_, _, calls["ListHistory"] = s.history.ListHistory(c.ctx, taruvi.ObjectProject, "1", q)
		for name, err := range calls {
			if taruvi.ErrorCode(err) != c.code {
				t.Errorf("%s: %v, want %s", name, err, c.code)
			}
		}
	}
}

// TestTaskBoard: one column per status in order, each with its first
// tasks in list order and its total; filters and visibility apply to both,
// and another tenant's board is empty.
func TestTaskBoard(t *testing.T) {
	t.Parallel()
	s := newApps(t)
	ctx, tenant := postgrestest.TenantContext(t, s.db)
	op := operator(ctx)
	var ids []int64
	for _, name := range []string{"A", "B"} {
		p, err := s.projects.CreateProject(op, taruvi.ProjectCreate{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	for i, task := range []struct {
		project int
		status  string
	}{{0, "todo"}, {0, "todo"}, {0, "todo"}, {0, "in_progress"}, {1, "todo"}, {1, "done"}, {1, "done"}} {
		title := fmt.Sprintf("t%d", i)
		if _, err := s.tasks.CreateTask(op, taruvi.TaskCreate{ProjectID: ids[task.project], Title: title, Status: task.status}); err != nil {
			t.Fatal(err)
		}
	}
	var memberID int64
	if err := s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO users (email, username) VALUES ('m@example.test', 'm') RETURNING id`).Scan(&memberID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO project_members (project_id, user_id) VALUES ($1, $2)`, ids[1], memberID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	member := taruvi.NewContextWithPrincipal(ctx, &taruvi.Principal{UserID: memberID, Audience: tenant.Schema})
	other, _ := postgrestest.TenantContext(t, s.db)
	byProject := taruvi.ListQuery{Filters: []taruvi.Filter{{Field: "project_id", Op: taruvi.OpEq, Value: ids[1]}}}

	for _, c := range []struct {
		name string
		ctx  context.Context
		q    taruvi.ListQuery
		want string
	}{
		{"owner", op, taruvi.ListQuery{}, "todo t0 t1 /4; in_progress t3 /1; done t5 t6 /2"},
		{"owner, one project", op, byProject, "todo t4 /1; in_progress /0; done t5 t6 /2"},
		{"member of B", member, taruvi.ListQuery{}, "todo t4 /1; in_progress /0; done t5 t6 /2"},
		{"another tenant", operator(other), taruvi.ListQuery{}, "todo /0; in_progress /0; done /0"},
	} {
		board, err := s.tasks.TaskBoard(c.ctx, c.q, 2)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got []string
		for _, col := range board {
			line := col.Status
			for _, task := range col.Tasks {
				line += " " + task.Title
			}
			got = append(got, fmt.Sprintf("%s /%d", line, col.Total))
		}
		if strings.Join(got, "; ") != c.want {
			t.Errorf("%s: board %q, want %q", c.name, strings.Join(got, "; "), c.want)
		}
	}
}
