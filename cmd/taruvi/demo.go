package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"taruvi"
	"taruvi/internal/config"
	"taruvi/internal/postgres"
)

// The demo tenant `taruvi dev` creates, and its owner. The password is a
// fixed, printed development credential: dev serves the local machine only
// as it is meant to be used.
var (
	demoTenant = taruvi.TenantCreate{Schema: "acme", Name: "Acme", Domain: "acme.localhost"}
	demoOwner  = taruvi.UserCreate{Email: "owner@acme.test", Password: "acme-demo-password", FirstName: "Demo", LastName: "Owner", IsOwner: true}
	demoAdmin  = taruvi.UserCreate{Email: "admin@platform.test", Password: "platform-demo-password", FirstName: "Demo", LastName: "Admin"}
)

// demoProject is a sample project of the demo tenant with its tasks.
type demoProject struct {
	project taruvi.ProjectCreate
	tasks   []demoTask
}

// demoTask is a sample task, due some days after the run (none when 0).
type demoTask struct {
	in    taruvi.TaskCreate
	dueIn int
}

// demoProjects fill the demo tenant's lists and task board; the first gets
// demoFile too.
var demoProjects = []demoProject{
	{taruvi.ProjectCreate{Name: "Website relaunch", Description: "New pages, new look, same address."}, []demoTask{
		{taruvi.TaskCreate{Title: "Write the landing page copy", Status: taruvi.TaskDone, Priority: 2}, 0},
		{taruvi.TaskCreate{Title: "Design the pricing page", Status: taruvi.TaskInProgress, Priority: 3}, 3},
		{taruvi.TaskCreate{Title: "Move the blog", Status: taruvi.TaskTodo, Priority: 1}, 10},
	}},
	{taruvi.ProjectCreate{Name: "Mobile app", Description: "The first release for phones."}, []demoTask{
		{taruvi.TaskCreate{Title: "Sign-in screen", Status: taruvi.TaskInProgress, Priority: 3}, 5},
		{taruvi.TaskCreate{Title: "Offline task list", Status: taruvi.TaskTodo, Priority: 2}, 0},
	}},
	{taruvi.ProjectCreate{Name: "Office move", Description: "Everything into the new office by the end of the quarter."}, []demoTask{
		{taruvi.TaskCreate{Title: "Book the movers", Status: taruvi.TaskTodo, Priority: 1}, 20},
	}},
}

const demoFileName, demoFileBody = "brief.md", "# Website relaunch\n\nThe brief: fewer pages, faster ones, and prices anyone can find.\n"

// ensureDemoTenant creates the demo platform admin, the demo tenant and its
// owner unless they exist, and fills the demo tenant with sample data once:
// a run that stopped partway is finished by the next, and once the data is
// whole (demoSeeded), later runs add nothing, even where it was deleted.
func ensureDemoTenant(ctx context.Context, cfg config.Config, db *postgres.DB, log *slog.Logger) error {
	users, authz := operatorUsers(db)
	platform, err := operatorContext(ctx, db, "")
	if err != nil {
		return err
	}
	if _, err := users.CreateUser(platform, demoAdmin); err != nil && taruvi.ErrorCode(err) != taruvi.ECONFLICT {
		return fmt.Errorf("create the demo platform admin: %w", err)
	}
	if _, err := db.FindTenant(ctx, demoTenant.Schema); taruvi.ErrorCode(err) == taruvi.ENOTFOUND {
		_, err = db.CreateTenant(ctx, demoTenant)
		switch taruvi.ErrorCode(err) {
		case "":
			log.Info("demo tenant created", "tenant", demoTenant.Schema, "domain", demoTenant.Domain)
		case taruvi.ECONFLICT: // made meanwhile by another process
		default:
			return fmt.Errorf("create the demo tenant: %w", err)
		}
	} else if err != nil {
		return err
	}
	opCtx, err := operatorContext(ctx, db, demoTenant.Schema)
	if err != nil {
		return err
	}
	owner, err := users.CreateUser(opCtx, demoOwner)
	if taruvi.ErrorCode(err) == taruvi.ECONFLICT {
		owner, err = findUserByEmail(opCtx, users, demoOwner.Email)
	}
	if err != nil {
		return fmt.Errorf("the demo owner: %w", err)
	}
	// The sample data is the owner's, as if they had made it.
	ownerCtx := taruvi.NewContextWithPrincipal(opCtx, &taruvi.Principal{
		UserID: owner.ID, Email: owner.Email, Audience: demoTenant.Schema, IsOwner: true})
	mark, err := demoMark(ctx, db, taruvi.TenantFromContext(opCtx))
	if err != nil {
		return err
	}
	markFile := filepath.Join(cfg.DataDir, demoSeededFile)
	if done, err := os.ReadFile(markFile); err == nil && string(done) == mark {
		return nil
	}
	blobs, _, err := openBlobStore(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	err = seedDemo(ownerCtx, postgres.NewProjects(db, authz), postgres.NewTasks(db, authz),
		postgres.NewFiles(db, authz, blobs, cfg.MaxUploadBytes, log), owner.ID, log)
	if err != nil {
		return err
	}
	return writeFileWhole(markFile, []byte(mark))
}

// demoSeededFile, under the data folder, records that the demo data was
// added whole, to which database and which demo tenant (demoMark).
const demoSeededFile = "demo_seeded"

// demoMark names the database (its installation's role prefix) and the
// demo tenant (its id, never reused): a new database, or a demo tenant
// made again, gets the sample data again.
func demoMark(ctx context.Context, db *postgres.DB, tenant *taruvi.Tenant) (string, error) {
	prefix, err := db.RolePrefix(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s t%d\n", prefix, tenant.ID), nil
}

// findUserByEmail returns the user of the context's scope with email.
func findUserByEmail(ctx context.Context, users taruvi.UserService, email string) (*taruvi.User, error) {
	found, _, err := users.ListUsers(ctx, taruvi.ListQuery{Page: 1, PageSize: taruvi.MaxPageSize,
		Filters: []taruvi.Filter{{Field: "email", Op: taruvi.OpIContains, Value: email}}})
	if err != nil {
		return nil, err
	}
	for _, u := range found {
		if strings.EqualFold(u.Email, email) {
			return u, nil
		}
	}
	return nil, taruvi.Errorf(taruvi.ENOTFOUND, "User %s not found.", email)
}

// seedDemo adds whatever of demoProjects, their tasks (assigned to
// assignee) and demoFile the tenant lacks, found by name, so that it
// finishes what a run that stopped partway began.
func seedDemo(ctx context.Context, projects taruvi.ProjectService, tasks taruvi.TaskService, files taruvi.FileService,
	assignee int64, log *slog.Logger) error {
	for i, d := range demoProjects {
		found, _, err := projects.ListProjects(ctx, demoQuery(taruvi.Filter{Field: "name", Op: taruvi.OpEq, Value: d.project.Name}))
		if err != nil {
			return err
		}
		var p *taruvi.Project
		if len(found) > 0 {
			p = found[0]
		} else if p, err = projects.CreateProject(ctx, d.project); err != nil {
			return fmt.Errorf("demo project %q: %w", d.project.Name, err)
		}
		if err := seedDemoTasks(ctx, tasks, p.ID, d.tasks, assignee); err != nil {
			return err
		}
		if i == 0 {
			if err := seedDemoFile(ctx, files, p.ID); err != nil {
				return err
			}
		}
	}
	log.Info("demo data added", "tenant", demoTenant.Schema, "projects", len(demoProjects))
	return nil
}

// seedDemoTasks adds the tasks of a demo project it lacks.
func seedDemoTasks(ctx context.Context, tasks taruvi.TaskService, projectID int64, demo []demoTask, assignee int64) error {
	today := time.Now()
	for pos, task := range demo {
		in := task.in
		has, err := demoHas(ctx, tasks.ListTasks, demoInProject(projectID), taruvi.Filter{Field: "title", Op: taruvi.OpEq, Value: in.Title})
		if err != nil {
			return err
		}
		if has {
			continue
		}
		in.ProjectID, in.AssigneeID, in.Position = projectID, &assignee, pos
		if task.dueIn > 0 {
			in.DueDate = new(today.AddDate(0, 0, task.dueIn).Format(time.DateOnly))
		}
		if _, err := tasks.CreateTask(ctx, in); err != nil {
			return fmt.Errorf("demo task %q: %w", in.Title, err)
		}
	}
	return nil
}

// seedDemoFile adds demoFile to the project unless it is there.
func seedDemoFile(ctx context.Context, files taruvi.FileService, projectID int64) error {
	has, err := demoHas(ctx, files.ListFiles, demoInProject(projectID), taruvi.Filter{Field: "name", Op: taruvi.OpEq, Value: demoFileName})
	if err != nil || has {
		return err
	}
	_, err = files.UploadFile(ctx, taruvi.FileUpload{Name: demoFileName, ContentType: "text/markdown",
		ProjectID: projectID, Body: strings.NewReader(demoFileBody)})
	if err != nil {
		return fmt.Errorf("demo file: %w", err)
	}
	return nil
}

// demoHas reports whether list finds anything matching filters.
func demoHas[T any](ctx context.Context, list func(context.Context, taruvi.ListQuery) ([]T, int, error), filters ...taruvi.Filter) (bool, error) {
	_, n, err := list(ctx, demoQuery(filters...))
	return n > 0, err
}

// demoQuery is the first match of filters.
func demoQuery(filters ...taruvi.Filter) taruvi.ListQuery {
	return taruvi.ListQuery{Page: 1, PageSize: 1, Filters: filters}
}

// demoInProject filters what belongs to a project.
func demoInProject(id int64) taruvi.Filter {
	return taruvi.Filter{Field: "project_id", Op: taruvi.OpEq, Value: id}
}
