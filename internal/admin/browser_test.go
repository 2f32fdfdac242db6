package admin_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"taruvi"
	"taruvi/internal/postgres/postgrestest"
)

// browser starts one headless Chromium for the test and its subtests.
// Without chromium the test skips, except under CI, where it fails.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed (apt-get install -y chromium); browser tests cannot run")
		}
		t.Skip("chromium is not installed; skipping browser tests")
	}
	// chromedp's defaults keep Chromium from work the test does not need
	// (extensions, background throttling, translation, crash reports);
	// without site isolation the platform and each tenant, sites of their
	// own, share one renderer process instead of starting one each.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900),
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,site-per-process,IsolateOrigins"),
		chromedp.Flag("disable-site-isolation-trials", true), chromedp.Flag("process-per-site", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// run runs browser actions with a time limit, failing the test on error.
func run(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	value(t, ctx, chromedp.Steps(actions...))
}

// value runs one action with a time limit and returns its value.
func value[T any](t *testing.T, ctx context.Context, action chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// text returns the text of the first element matching sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return value(t, ctx, chromedp.Text(chromedp.CSS(sel)))
}

// screenshot saves the page to dir/name.png and logs the path.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png := value(t, ctx, chromedp.FullScreenshot(80))
	path := filepath.Join(dir, name+".jpg")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Log("screenshot:", path)
}

// screenshotDir returns a folder for the test's screenshots, kept (and
// named in the log) when the test fails, removed when it passes.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "taruvi-admin-screenshots-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("screenshots kept in", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	return dir
}

func login(t *testing.T, ctx context.Context, base, email, password string) {
	t.Helper()
	run(t, ctx, chromedp.Navigate(base+"/admin/"), chromedp.WaitVisible(chromedp.CSS("#login")),
		typeInto(`input[name=email]`, email), typeInto(`input[name=password]`, password),
		chromedp.Submit(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS(".logout")))
}

// typeInto focuses the field sel and enters text as one input event, as
// a paste or an input method does: the page sees the same events as from
// typing, at one round trip to Chromium instead of two per character.
func typeInto(sel, text string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.Focus(chromedp.CSS(sel)), chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: text})
		return err
	}))
}

func logout(t *testing.T, ctx context.Context) {
	t.Helper()
	run(t, ctx, chromedp.Submit(chromedp.CSS(".logout")), chromedp.WaitVisible(chromedp.CSS("#login")))
}

// submit fills the form sel (field name to value) and submits it.
func submit(t *testing.T, ctx context.Context, sel string, fields map[string]string) {
	t.Helper()
	var actions []chromedp.Action[chromedp.Void]
	for name, value := range fields {
		actions = append(actions, chromedp.SetValue(chromedp.CSS(sel+` [name="`+name+`"]`), value))
	}
	actions = append(actions, chromedp.Submit(chromedp.CSS(sel)), chromedp.WaitReady(chromedp.CSS("body")))
	run(t, ctx, actions...)
}

func wantText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	if got := text(t, ctx, sel); !strings.Contains(got, want) {
		t.Fatalf("%s: %q does not contain %q", sel, got, want)
	}
}

// TestBrowser walks the admin as its users do, in one Chromium: a platform
// admin provisions a tenant, its owner sets it up, a member sees what
// their permissions allow, and forged requests fail.
func TestBrowser(t *testing.T) {
	s := newStack(t)
	ctx := browser(t)
	shots := screenshotDir(t)
	adminEmail, adminPassword := s.newUser(t, nil, false)
	platform := s.url("", "")
	schema := postgrestest.SchemaName()
	domain := "acme-" + randomHex(3) + ".example.test"
	t.Cleanup(func() { dropTenant(t, s.db, schema) })

	t.Run("platform admin creates a tenant and a domain", func(t *testing.T) {
		login(t, ctx, platform, adminEmail, adminPassword)
		run(t, ctx, chromedp.Navigate(platform+"/admin/tenants/new/"), chromedp.WaitVisible(chromedp.CSS("#tenant-form")))
		submit(t, ctx, "#tenant-form", map[string]string{"schema": schema, "name": "Acme Browser"})
		wantText(t, ctx, ".flash", "Tenant "+schema+" created in")
		submit(t, ctx, "#domain-form", map[string]string{"domain": domain})
		wantText(t, ctx, "#domains", domain)
		run(t, ctx, chromedp.Navigate(platform+"/admin/"), chromedp.WaitVisible(chromedp.CSS("#recent")))
		wantText(t, ctx, "#recent", schema)
		wantText(t, ctx, "#recent", domain)
		wantText(t, ctx, "#health", "database")
		screenshot(t, ctx, shots, "dashboard")
		run(t, ctx, chromedp.Navigate(platform+"/admin/audit/?object_type=domain&object_id="+domain), chromedp.WaitVisible(chromedp.CSS("#history")))
		wantText(t, ctx, "#history .actor", adminEmail)
		run(t, ctx, chromedp.Navigate(platform+"/admin/tenants/?q="+schema), chromedp.WaitVisible(chromedp.CSS("#tenants")))
		wantText(t, ctx, "#tenants", "Acme Browser")
		screenshot(t, ctx, shots, "tenants")
		logout(t, ctx)
	})
	if t.Failed() {
		return
	}

	tenant, err := s.db.FindTenant(context.Background(), schema)
	if err != nil {
		t.Fatal(err)
	}
	ownerEmail, ownerPassword := s.newUser(t, tenant, true)
	site := s.url(schema, "")
	memberEmail, memberPassword := "member-"+randomHex(3)+"@example.test", "member-pw-"+randomHex(6)

	t.Run("tenant owner sets the tenant up", func(t *testing.T) {
		login(t, ctx, site, ownerEmail, ownerPassword)
		run(t, ctx, chromedp.Navigate(site+"/admin/users/"), chromedp.WaitVisible(chromedp.CSS("#user-form")))
		submit(t, ctx, "#user-form", map[string]string{"email": memberEmail, "password": memberPassword, "first_name": "Mem"})
		wantText(t, ctx, "#users", memberEmail)
		run(t, ctx, chromedp.Navigate(site+"/admin/groups/"), chromedp.WaitVisible(chromedp.CSS("#group-form")))
		submit(t, ctx, "#group-form", map[string]string{"name": "Viewers"})
		wantText(t, ctx, "#groups", "Viewers")
		run(t, ctx, chromedp.SetValue(chromedp.CSS(`#groups select[name=user_id]`), memberID(t, s, tenant, memberEmail)),
			chromedp.Submit(chromedp.CSS(`#groups form.inline`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
		wantText(t, ctx, "#groups", memberEmail)
		run(t, ctx, chromedp.Navigate(site+"/admin/grants/"), chromedp.WaitVisible(chromedp.CSS("#grant-form")))
		submit(t, ctx, "#grant-form", map[string]string{"permission": taruvi.PermViewProject})
		wantText(t, ctx, "#grants", taruvi.PermViewProject)
		wantText(t, ctx, "#grants", "Viewers")

		run(t, ctx, chromedp.Navigate(site+"/admin/projects/"), chromedp.WaitVisible(chromedp.CSS("#project-form")))
		submit(t, ctx, "#project-form", map[string]string{"name": "Launch"})
		wantText(t, ctx, "h1", "Launch")
		for _, title := range []string{"Write copy", "Ship it"} {
			submit(t, ctx, "#task-form", map[string]string{"title": title})
			wantText(t, ctx, "#project-tasks", title)
		}
		run(t, ctx, chromedp.Navigate(site+"/admin/tasks/board/"), chromedp.WaitVisible(chromedp.CSS("#board")))
		wantText(t, ctx, "#col-todo", "Ship it")
		run(t, ctx, chromedp.Click(chromedp.CSS(`#col-todo .task:last-child .move-next`)))
		value(t, ctx, chromedp.Poll[bool](`document.querySelector("#col-in_progress").innerText.includes("Ship it")`))
		screenshot(t, ctx, shots, "board")

		run(t, ctx, chromedp.Navigate(site+"/admin/tasks/?status=in_progress"), chromedp.WaitVisible(chromedp.CSS("#tasks")))
		if got := text(t, ctx, "#tasks"); strings.Contains(got, "Write copy") == strings.Contains(got, "Ship it") {
			t.Errorf("filtered list shows %q; want exactly the moved task", got)
		}

		upload := filepath.Join(t.TempDir(), "notes.txt")
		if err := os.WriteFile(upload, []byte("launch notes"), 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, ctx, chromedp.Navigate(site+"/admin/files/"), chromedp.WaitVisible(chromedp.CSS("#upload-form")),
			chromedp.SetUploadFiles(chromedp.CSS(`#upload-form input[type=file]`), []string{upload}),
			chromedp.Submit(chromedp.CSS("#upload-form")), chromedp.WaitVisible(chromedp.CSS(".flash")))
		wantText(t, ctx, "#files", "notes.txt")
		body := value(t, ctx, chromedp.Evaluate[string](`fetch(document.querySelector("#files a.download").href).then(r => r.text())`,
			chromedp.EvalAwaitPromise))
		if body != "launch notes" {
			t.Errorf("downloaded %q", body)
		}

		run(t, ctx, chromedp.Navigate(site+"/admin/projects/"), chromedp.Click(chromedp.CSS(`#projects a[href*="/history/"]`)),
			chromedp.WaitVisible(chromedp.CSS("#history")))
		wantText(t, ctx, "#history .actor", ownerEmail)
		screenshot(t, ctx, shots, "history")
		logout(t, ctx)
	})

	t.Run("member sees only what their permissions allow", func(t *testing.T) {
		login(t, ctx, site, memberEmail, memberPassword)
		run(t, ctx, chromedp.Navigate(site+"/admin/projects/"), chromedp.WaitVisible(chromedp.CSS("#projects")))
		wantText(t, ctx, "#projects", "Launch")
		run(t, ctx, chromedp.Navigate(site+"/admin/users/"), chromedp.WaitVisible(chromedp.CSS("#error-message")))
		wantText(t, ctx, "h1", "Not allowed")
		run(t, ctx, chromedp.Navigate(site+"/admin/projects/"), chromedp.WaitVisible(chromedp.CSS("#project-form")))
		submit(t, ctx, "#project-form", map[string]string{"name": "Not mine"})
		wantText(t, ctx, "#error-message", "permission")
	})

	t.Run("a form posted without its CSRF token is refused", func(t *testing.T) {
		run(t, ctx, chromedp.Navigate(site+"/admin/keys/"), chromedp.WaitVisible(chromedp.CSS(`form.inline [name=name]`)),
			chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
				_, err := chromedp.Run(ctx, chromedp.Evaluate[any](`document.querySelectorAll("main form [name=csrf]").forEach(e => e.remove())`))
				return err
			}),
			chromedp.SetValue(chromedp.CSS(`form.inline [name=name]`), "forged"),
			chromedp.Submit(chromedp.CSS(`form.inline [name=name]`)), chromedp.WaitVisible(chromedp.CSS("#error-message")))
		wantText(t, ctx, "h1", "Not allowed")
		wantText(t, ctx, "#error-message", "form has expired")
	})

	t.Run("a session cookie of tenant A is worthless on tenant B", func(t *testing.T) {
		other := postgrestest.NewTenant(t, s.db)
		run(t, ctx, chromedp.Navigate(site+"/admin/"))
		cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
		if err != nil {
			t.Fatal(err)
		}
		var session string
		for _, c := range cookies.Cookies {
			if c.Name == "taruvi_admin" {
				session = c.Value
			}
		}
		if session == "" {
			t.Fatal("no session cookie on tenant A")
		}
		otherHost := other.Schema + ".localhost"
		httpOnly := true
		if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: "taruvi_admin", Value: session,
			Domain: otherHost, Path: "/admin", HTTPOnly: &httpOnly}); err != nil {
			t.Fatal(err)
		}
		run(t, ctx, chromedp.Navigate(s.url(other.Schema, "/admin/users/")), chromedp.WaitVisible(chromedp.CSS("#login")))
		loc := value(t, ctx, chromedp.Location())
		if !strings.Contains(loc, otherHost) || !strings.Contains(loc, "/admin/login/") {
			t.Errorf("tenant B with tenant A's cookie ended at %s; want B's sign-in page", loc)
		}
	})
}

// memberID returns the id of the tenant's user with email, as a string.
func memberID(t *testing.T, s *stack, tenant *taruvi.Tenant, email string) string {
	t.Helper()
	ctx := taruvi.NewContextWithPrincipal(taruvi.NewContextWithTenant(context.Background(), tenant),
		&taruvi.Principal{Audience: tenant.Schema, IsOwner: true})
	users, _, err := s.users.ListUsers(ctx, taruvi.ListQuery{Page: 1, PageSize: taruvi.MaxPageSize, Search: email})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.Email == email {
			return strconv.FormatInt(u.ID, 10)
		}
	}
	t.Fatalf("no user %s", email)
	return ""
}
