package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// TestAppsAdminInBrowser walks the apps module's admin pages in headless
// Chromium as a tenant's owner does: an app, its settings, a datatable,
// and a field added and removed, each change's plan read before it is
// applied. Without chromium the test skips, except under CI.
func TestAppsAdminInBrowser(t *testing.T) {
	t.Parallel()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed; browser tests cannot run")
		}
		t.Skip("chromium is not installed; skipping browser tests")
	}
	base, a, _ := startAppsAdminServer(t)
	site := strings.Replace(base, "127.0.0.1", a.Schema+".localhost", 1)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The browser starts with the first Run of ctx itself: a Run of a
	// context derived from it would stop the browser when that ends.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	shots := t.TempDir()
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		rctx, stop := context.WithTimeout(ctx, 20*time.Second)
		defer stop()
		if _, err := chromedp.Run(rctx, chromedp.Steps(actions...)); err != nil {
			if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(80)); err == nil {
				_ = os.WriteFile(filepath.Join(shots, "failed.jpg"), png, 0o644)
			}
			t.Fatalf("%s: %v", step, err)
		}
	}
	typeInto := func(sel, text string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(chromedp.Focus(chromedp.CSS(sel)), chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: text})
			return err
		}))
	}
	text := func(sel string) string {
		t.Helper()
		rctx, stop := context.WithTimeout(ctx, 20*time.Second)
		defer stop()
		v, err := chromedp.Run(rctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	want := func(sel, want string) {
		t.Helper()
		if got := text(sel); !strings.Contains(got, want) {
			t.Fatalf("%s: %q does not contain %q", sel, got, want)
		}
	}

	run("sign in", chromedp.Navigate(site+"/admin/"), chromedp.WaitVisible(chromedp.CSS("#login")),
		typeInto(`input[name=email]`, "owner@"+a.Schema+".test"), typeInto(`input[name=password]`, "tenant password"),
		chromedp.Submit(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS(".logout")))
	run("create an app", chromedp.Navigate(site+"/admin/apps/"), chromedp.WaitVisible(chromedp.CSS("#app-form")),
		typeInto(`#app-form [name=name]`, "Browser Shop"), chromedp.Submit(chromedp.CSS("#app-form")),
		chromedp.WaitVisible(chromedp.CSS("#settings-form")))
	want(".flash", "App Browser Shop created.")
	run("save settings", chromedp.SetValue(chromedp.CSS(`#settings-form [name=display_name]`), "Shop Display"),
		chromedp.Submit(chromedp.CSS("#settings-form")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	want(".flash", "Settings saved.")
	run("create a datatable", typeInto(`#datatable-form [name=name]`, "books"), chromedp.Submit(chromedp.CSS("#datatable-form")),
		chromedp.WaitVisible(chromedp.CSS("#fields")))
	want("#fields", "title")
	run("plan a new field", typeInto(`#field-form [name=field]`, "pages"), chromedp.SetValue(chromedp.CSS(`#field-form [name=type]`), "integer"),
		chromedp.Submit(chromedp.CSS("#field-form")), chromedp.WaitVisible(chromedp.CSS("#plan")))
	want("#plan", `ADD COLUMN "pages" bigint`)
	if strings.Contains(text("#fields"), "pages") {
		t.Fatal("the field shows before the plan is applied")
	}
	run("apply it", chromedp.Submit(chromedp.CSS("#apply-form")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	want(".flash", "Datatable changed (1 statement).")
	want("#fields", "pages")
	run("plan the removal", chromedp.Submit(chromedp.CSS(`#fields form.remove-field input[value=pages]`)), chromedp.WaitVisible(chromedp.CSS("#plan")))
	want("#plan", `DROP COLUMN "pages"`)
	run("apply it", chromedp.Submit(chromedp.CSS("#apply-form")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := text("#fields"); strings.Contains(got, "pages") || !strings.Contains(got, "title") {
		t.Errorf("the fields after the removal: %q", got)
	}
	run("back to the app", chromedp.Navigate(site+"/admin/apps/browser-shop/"), chromedp.WaitVisible(chromedp.CSS("#datatables")))
	want("#datatables", "books")
	if v := text(`h1`); v != "Browser Shop" {
		t.Errorf("the app's heading: %q", v)
	}
}
