package main

import (
	"context"
	"fmt"
	"log/slog"
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
// owner unless they exist, and fills a demo tenant that has no projects
// with sample ones, so a second run adds nothing.
func ensureDemoTenant(ctx context.Context, cfg config.Config, db *postgres.DB, log *slog.Logger) error {
	authz := postgres.NewAuthz(db, slog.New(slog.DiscardHandler))
	users := postgres.NewUsers(db, authz)
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
	blobs, _, err := openBlobStore(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	return seedDemo(ownerCtx, postgres.NewProjects(db, authz), postgres.NewTasks(db, authz),
		postgres.NewFiles(db, authz, blobs, cfg.MaxUploadBytes, log), owner.ID, log)
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

// seedDemo adds demoProjects, their tasks (assigned to assignee) and
// demoFile, unless the tenant has a project already.
func seedDemo(ctx context.Context, projects taruvi.ProjectService, tasks taruvi.TaskService, files taruvi.FileService,
	assignee int64, log *slog.Logger) error {
	if _, n, err := projects.ListProjects(ctx, taruvi.ListQuery{Page: 1, PageSize: 1}); err != nil || n > 0 {
		return err
	}
	today := time.Now()
	for i, d := range demoProjects {
		p, err := projects.CreateProject(ctx, d.project)
		if err != nil {
			return fmt.Errorf("demo project %q: %w", d.project.Name, err)
		}
		for pos, task := range d.tasks {
			in := task.in
			in.ProjectID, in.AssigneeID, in.Position = p.ID, &assignee, pos
			if task.dueIn > 0 {
				in.DueDate = new(today.AddDate(0, 0, task.dueIn).Format(time.DateOnly))
			}
			if _, err := tasks.CreateTask(ctx, in); err != nil {
				return fmt.Errorf("demo task %q: %w", in.Title, err)
			}
		}
		if i == 0 {
			_, err := files.UploadFile(ctx, taruvi.FileUpload{Name: demoFileName, ContentType: "text/markdown",
				ProjectID: p.ID, Body: strings.NewReader(demoFileBody)})
			if err != nil {
				return fmt.Errorf("demo file: %w", err)
			}
		}
	}
	log.Info("demo data added", "tenant", demoTenant.Schema, "projects", len(demoProjects))
	return nil
}
