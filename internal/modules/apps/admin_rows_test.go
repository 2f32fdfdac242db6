package apps_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/argon2"

	"taruvi"
	"taruvi/internal/admin"
	"taruvi/internal/auth"
	"taruvi/internal/modules"
	"taruvi/internal/modules/apps"
	"taruvi/internal/postgres"
	"taruvi/internal/redis"
	"taruvi/internal/token"
	"taruvi/internal/web"
)

// adminServer serves the tenant admin with the apps module over the
// harness's database, wired as cmd/taruvi wires it, and returns its port.
func (h *harness) adminServer(t *testing.T) string {
	t.Helper()
	db := h.db
	key, err := token.GenerateKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := token.NewSealer(strings.Repeat("s", 40))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	store := postgres.NewAuthStore(db)
	authn := auth.New(store, auth.Options{
		Issuer: token.NewIssuer("taruvi", token.NewKeySet(key), nil), Sealer: sealer,
		Accounts: redis.NewMemoryThrottle(50, time.Minute), Addresses: redis.NewMemoryThrottle(1000, time.Minute), Log: log,
	})
	authz := auth.NewAuthz(store, log, nil)
	server := web.NewServer(web.Config{BaseDomain: "localhost", PlatformHosts: []string{"localhost"},
		TenantVersion: db.TenantVersion(), Auth: authn, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		log, web.NewTenantCache(postgres.NewTenants(db), 0, nil))
	mods := modules.Build([]modules.Constructor{apps.New}, modules.Core{DB: db, Authz: authz, Log: log})
	outbox := postgres.NewOutbox(db, authz)
	a := &admin.Admin{Sessions: authn, Auth: authn, Users: auth.NewUsers(postgres.NewUsers(db, authz, authn.SessionsEnded), authz, nil),
		Tenants: postgres.NewTenants(db), Platform: postgres.NewConsole(db, authz), History: postgres.NewHistory(db, authz, taruvi.HistoryObjectTypes(mods), taruvi.HistoryFamilies(mods)...),
		Branding: postgres.NewBrandings(db, authz), Outbox: outbox, Log: log, Secret: []byte(strings.Repeat("k", 32)),
		SessionTTL: time.Hour, Modules: mods}
	if err := a.Register(server); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(server)
	t.Cleanup(ts.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(ts.URL, "http://"))
	return port
}

// setPassword gives the tenant's user of email a password, hashed with
// the least work argon2id allows, and returns it.
func (h *harness) setPassword(t *testing.T, tn *tenant, email string) string {
	t.Helper()
	password := "pw-" + email
	salt := []byte("taruvi test salt")
	b64 := base64.RawStdEncoding
	hash := fmt.Sprintf("$argon2id$v=%d$m=8,t=1,p=1$%s$%s", argon2.Version, b64.EncodeToString(salt),
		b64.EncodeToString(argon2.IDKey([]byte(password), salt, 1, 8, 1, 32)))
	err := h.db.InTenant(tn.ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE email = $1`, email, hash)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return password
}

// chromium starts one headless Chromium for the test. Without chromium
// the test skips, except under CI, where it fails.
func chromium(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed; browser tests cannot run")
		}
		t.Skip("chromium is not installed; skipping browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900),
		chromedp.Flag("disable-features", "Translate,site-per-process,IsolateOrigins"),
		chromedp.Flag("disable-site-isolation-trials", true), chromedp.Flag("process-per-site", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// page drives one Chromium on the admin of the test's server.
type page struct {
	t    *testing.T
	ctx  context.Context
	port string
}

// run runs browser actions within a time limit, failing the test on error.
func (p *page) run(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Steps(actions...)); err != nil {
		p.t.Fatal(err)
	}
}

// text is the text of the first element matching sel.
func (p *page) text(sel string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("%s: %v", sel, err)
	}
	return s
}

// want fails the test unless the text of sel holds each of want.
func (p *page) want(sel string, want ...string) {
	p.t.Helper()
	got := p.text(sel)
	for _, w := range want {
		if !strings.Contains(got, w) {
			p.t.Fatalf("%s: %q does not contain %q", sel, got, w)
		}
	}
}

// open goes to path on tn's host and waits for sel.
func (p *page) open(tn *tenant, path, sel string) {
	p.t.Helper()
	p.run(chromedp.Navigate("http://"+tn.Schema+".localhost:"+p.port+path), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// typeInto focuses the field sel, clears it and enters text as one input
// event.
func typeInto(sel, text string) chromedp.Action[chromedp.Void] {
	clear := fmt.Sprintf(`(document.querySelector(%q).value = "", true)`, sel)
	return chromedp.Steps(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](clear))
		return err
	}), chromedp.Focus(chromedp.CSS(sel)),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: text})
			return err
		}))
}

// login signs in on tn's admin as email.
func (p *page) login(tn *tenant, email, password string) {
	p.t.Helper()
	p.open(tn, "/admin/", "#login")
	p.run(typeInto(`input[name=email]`, email), typeInto(`input[name=password]`, password),
		chromedp.Submit(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS(".logout")))
}

// click clicks sel and waits for the next page's sel2.
func (p *page) click(sel, next string) {
	p.t.Helper()
	p.run(chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS(next)))
}

// TestAdminRowsBrowser walks a datatable's rows page in Chromium: an app
// and a datatable made through the API, its rows filtered, ordered and
// paged, one edited in place and seen saved, a bad value and a bad filter
// shown on the page, a delete without its CSRF token refused, a row
// deleted and one added; a member without the data permission is
// refused, and tenant B's owner finds no such page.
func TestAdminRowsBrowser(t *testing.T) {
	h := newHarness(t)
	a, b := h.newTenant(t), h.newTenant(t)
	api := func(tn *tenant, method, path, body string, want int) string {
		t.Helper()
		status, got := h.do(t, tn, tn.owner, method, path, body)
		if status != want {
			t.Fatalf("%s %s: %d %.400s; want %d", method, path, status, got, want)
		}
		return got
	}
	api(a, "POST", "/api/apps/", `{"name":"Shop","slug":"shop"}`, 201)
	api(a, "POST", "/api/apps/shop/datatables/", customers, 201)
	var rows []string
	for i := 1; i <= 25; i++ {
		rows = append(rows, fmt.Sprintf(`{"name":"c%02d","email":"c%02d@example.test","age":%d}`, i, i, i))
	}
	api(a, "POST", "/api/apps/shop/datatables/customers/data/", "["+strings.Join(rows, ",")+"]", 201)
	const list = "/admin/apps/shop/datatables/customers/rows/"

	p := &page{t: t, ctx: chromium(t), port: h.adminServer(t)}
	p.login(a, "owner@example.test", h.setPassword(t, a, "owner@example.test"))

	t.Run("pages", func(t *testing.T) {
		p.t = t
		p.open(a, list, "#rows")
		p.want("#rows-pager", "25 in all", "page 1 of 2")
		p.click(`#rows-pager a[rel=next]`, "#rows")
		p.want("#rows-pager", "page 2 of 2")
		if n := strings.Count(p.text("#rows"), "@example.test"); n != 5 {
			t.Errorf("page 2 shows %d rows; want 5", n)
		}
		p.run(chromedp.SetValue(chromedp.CSS(`#page-size [name=page_size]`), "50"), chromedp.Submit(chromedp.CSS("#page-size")),
			chromedp.WaitVisible(chromedp.CSS("#rows")))
		p.want("#rows-pager", "25 in all", "page 1 of 1")
		if n := strings.Count(p.text("#rows"), "@example.test"); n != 25 {
			t.Errorf("a page of 50 shows %d rows; want 25", n)
		}
	})

	t.Run("filters and orders", func(t *testing.T) {
		p.t = t
		p.open(a, list, "#row-filter")
		p.run(chromedp.SetValue(chromedp.CSS(`#row-filter [name=f]`), "age"), chromedp.SetValue(chromedp.CSS(`#row-filter [name=op]`), "gte"),
			typeInto(`#row-filter [name=v]`, "20"), chromedp.Submit(chromedp.CSS("#row-filter")), chromedp.WaitVisible(chromedp.CSS("#row-filters")))
		p.want("#row-filters", "age__gte = 20")
		p.want("#rows-pager", "6 in all", "page 1 of 1")
		// A second filter keeps the first: 20 <= age and name ends in 2 or 5.
		p.run(chromedp.SetValue(chromedp.CSS(`#row-filter [name=f]`), "name"), chromedp.SetValue(chromedp.CSS(`#row-filter [name=op]`), "in"),
			typeInto(`#row-filter [name=v]`, "c22,c25,c02"), chromedp.Submit(chromedp.CSS("#row-filter")), chromedp.WaitVisible(chromedp.CSS("#row-filters")))
		p.want("#rows-pager", "2 in all")
		p.click(`#row-filters .remove-filter`, "#rows")
		p.want("#rows-pager", "3 in all") // age filter removed: c02, c22, c25
		p.click(`#rows a.sort[data-field=age]`, "#rows")
		p.want(`#rows tr[data-key] td[data-field=name]`, "c02")
		p.click(`#rows a.sort[data-field=age]`, "#rows")
		p.want(`#rows tr[data-key] td[data-field=name]`, "c25")
		if loc := p.location(); !strings.Contains(loc, "ordering=-age") || !strings.Contains(loc, "name__in=") {
			t.Errorf("address %s; want the data API's syntax", loc)
		}
	})

	t.Run("searches", func(t *testing.T) {
		p.t = t
		p.open(a, list+"?ordering=name", "#row-search")
		p.run(typeInto(`#row-search [name=search]`, "c07"), chromedp.Submit(chromedp.CSS("#row-search")), chromedp.WaitVisible(chromedp.CSS("#rows")))
		p.want("#rows-pager", "1 in all")
		p.want("#rows", "c07@example.test")
		if loc := p.location(); !strings.Contains(loc, "search=c07") || !strings.Contains(loc, "ordering=name") {
			t.Errorf("address %s; want the search and the ordering kept", loc)
		}
	})

	t.Run("a bad filter is shown on the page", func(t *testing.T) {
		p.t = t
		p.open(a, list+"?age__gte=old", "#rows")
		p.want("main .err", "age")
		p.open(a, list+"?colour=red", "#rows")
		p.want("main .err", "Unknown field")
		if status := httpStatus(t, p); status != http.StatusBadRequest {
			t.Errorf("status %d; want 400", status)
		}
		for _, q := range []string{"filters=notjson", "page_size=0", "ordering=nope", "age__between=1", "_aggregate=count(*)", "name__vector_near=x", "page=99"} {
			js := fmt.Sprintf(`fetch(%q).then(async r => r.status + " " + (await r.text()).includes('id="row-filter"'))`, list+"?"+q)
			got, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
			want := "400 true"
			if q == "page=99" {
				want = "200 true" // a page past the end is empty
			}
			if err != nil || got != want {
				t.Errorf("?%s: %s %v; want %s", q, got, err, want)
			}
		}
	})

	t.Run("edits a row in place", func(t *testing.T) {
		p.t = t
		p.open(a, list+"?ordering=age", "#rows")
		p.click(`#rows tr[data-key] a.edit`, "#rows tr.editing")
		p.run(chromedp.WaitVisible(chromedp.CSS(`#rows tr.editing [name="v.id"][readonly]`)))
		p.run(typeInto(`#rows tr.editing [name="v.age"]`, "-5"), chromedp.Click(chromedp.CSS(`#rows tr.editing button.save`)),
			chromedp.WaitVisible(chromedp.CSS("#edit-error")))
		p.want("#rows tr.editing", "Must be at least 0")
		p.run(typeInto(`#rows tr.editing [name="v.age"]`, "40"), typeInto(`#rows tr.editing [name="v.name"]`, "Renamed"),
			chromedp.Click(chromedp.CSS(`#rows tr.editing button.save`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
		p.want(".flash", "saved")
		got := api(a, "GET", "/api/apps/shop/datatables/customers/data/?name=Renamed", "", 200)
		if !strings.Contains(got, `"total":1`) || !strings.Contains(got, `"age":40`) || !strings.Contains(got, `"email":"c01@example.test"`) {
			t.Errorf("after the edit the API reads %s", got)
		}
		if !strings.Contains(p.location(), "ordering=age") {
			t.Errorf("after the edit the page is %s; want the list it came from", p.location())
		}
	})

	t.Run("deletes and adds rows", func(t *testing.T) {
		p.t = t
		p.open(a, list+"?name=c03", "#rows")
		if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`(document.querySelectorAll("main form [name=csrf]").forEach(e => e.remove()), true)`)); err != nil {
			t.Fatal(err)
		}
		p.click(`#rows tr[data-key] button.delete`, "#error-message")
		p.want("h1", "Not allowed")
		p.open(a, list+"?name=c03", "#rows")
		p.want("#rows-pager", "1 in all")
		p.click(`#rows tr[data-key] button.delete`, ".flash")
		p.want(".flash", "deleted")
		p.want("#rows-pager", "0 in all")
		got := api(a, "GET", "/api/apps/shop/datatables/customers/data/?_count=true", "", 200)
		if !strings.Contains(got, `"total":24`) {
			t.Errorf("after the delete the API counts %s", got)
		}
		p.run(typeInto(`#row-form [name="v.email"]`, "new@example.test"), chromedp.Submit(chromedp.CSS("#row-form")),
			chromedp.WaitVisible(chromedp.CSS("#row-form .err")))
		p.want("#row-form", "This field is required.")
		p.run(typeInto(`#row-form [name="v.name"]`, "Newcomer"), typeInto(`#row-form [name="v.age"]`, "7"),
			chromedp.Submit(chromedp.CSS("#row-form")), chromedp.WaitVisible(chromedp.CSS(".flash")))
		p.want(".flash", "added")
		got = api(a, "GET", "/api/apps/shop/datatables/customers/data/?name=Newcomer", "", 200)
		if !strings.Contains(got, `"total":1`) || !strings.Contains(got, `"age":7`) {
			t.Errorf("after the add the API reads %s", got)
		}
	})

	t.Run("a member without apps.view_data is refused", func(t *testing.T) {
		p.t = t
		p.run(chromedp.Submit(chromedp.CSS(".logout")), chromedp.WaitVisible(chromedp.CSS("#login")))
		p.login(a, "viewer@example.test", h.setPassword(t, a, "viewer@example.test"))
		p.open(a, list, "#error-message")
		p.want("h1", "Not allowed")
	})

	t.Run("tenant B's owner finds no page of A's table", func(t *testing.T) {
		p.t = t
		p.login(b, "owner@example.test", h.setPassword(t, b, "owner@example.test"))
		p.open(b, list, "#error-message")
		p.want("h1", "Not found")
		if status := httpStatus(t, p); status != http.StatusNotFound {
			t.Errorf("status %d; want 404", status)
		}
		if strings.Contains(p.text("main"), "example.test") {
			t.Error("B's page shows A's rows")
		}
	})
}

// location is the page's address.
func (p *page) location() string {
	p.t.Helper()
	loc, err := chromedp.Run(p.ctx, chromedp.Location())
	if err != nil {
		p.t.Fatal(err)
	}
	return loc
}

// httpStatus is the status of the page's address fetched again.
func httpStatus(t *testing.T, p *page) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch(location.href).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	return n
}
