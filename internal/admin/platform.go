package admin

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"taruvi"
)

// dashboardPage is the platform console's start page.
type dashboardPage struct {
	Page
	Overview *taruvi.PlatformOverview
	Jobs     []count
	Health   []taruvi.Dependency
	Recent   []*taruvi.Tenant
}

type count struct {
	Name string
	N    int
}

func (a *Admin) handleHome(w http.ResponseWriter, r *http.Request, rq *request) error {
	if rq.tenant != nil {
		return a.handleTenantHome(w, r, rq)
	}
	if !rq.session.Principal.IsAdmin {
		return taruvi.Errorf(taruvi.EFORBIDDEN, "Only platform admins may use the platform console.")
	}
	ctx := r.Context()
	o, err := a.Platform.Overview(ctx)
	if err != nil {
		return err
	}
	recent, _, err := a.Platform.ListTenantPage(ctx, taruvi.ListQuery{Page: 1, PageSize: 5})
	if err != nil {
		return err
	}
	p := &dashboardPage{Page: rq.page("Dashboard", "home"), Overview: o, Health: a.health(ctx), Recent: recent}
	for state, n := range o.JobsByState {
		p.Jobs = append(p.Jobs, count{state, n})
	}
	sort.Slice(p.Jobs, func(i, j int) bool { return p.Jobs[i].Name < p.Jobs[j].Name })
	a.render(w, r, http.StatusOK, "dashboard", p)
	return nil
}

// health runs every dependency check, each bounded by a second.
func (a *Admin) health(ctx context.Context) []taruvi.Dependency {
	checks := append([]Check{{Name: "database", Detail: "PostgreSQL", Ping: a.Platform.PingDatabase}}, a.Checks...)
	out := make([]taruvi.Dependency, len(checks))
	for i, c := range checks {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		start := time.Now()
		err := c.Ping(cctx)
		cancel()
		d := taruvi.Dependency{Name: c.Name, OK: err == nil, Detail: c.Detail,
			LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
		if err != nil {
			d.Detail = taruvi.ErrorMessage(err)
			if taruvi.ErrorCode(err) == taruvi.EINTERNAL {
				d.Detail = err.Error()
			}
		}
		out[i] = d
	}
	return out
}

// tenantListPage is the searchable, paged list of tenants.
type tenantListPage struct {
	Page
	Tenants []*taruvi.Tenant
	List    listView
	Status  string
}

func (a *Admin) handleTenantList(w http.ResponseWriter, r *http.Request, rq *request) error {
	q, view, err := parseList(r, taruvi.TenantListSpec, "status")
	if err != nil {
		return err
	}
	tenants, total, err := a.Platform.ListTenantPage(r.Context(), q)
	if err != nil {
		return err
	}
	a.render(w, r, http.StatusOK, "tenants", &tenantListPage{Page: rq.page("Tenants", "tenants"), Tenants: tenants,
		List: view.withTotal(total, q.PageSize), Status: view.Query.Get("status")})
	return nil
}

// tenantFormPage is the form that creates a tenant.
type tenantFormPage struct {
	Page
	Form form
}

func (a *Admin) handleTenantNew(w http.ResponseWriter, r *http.Request, rq *request) error {
	a.render(w, r, http.StatusOK, "tenant_new", &tenantFormPage{Page: rq.page("New tenant", "tenants"), Form: form{}})
	return nil
}

func (a *Admin) handleTenantCreate(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := newForm(r, "schema", "name", "domain")
	start := time.Now()
	t, err := a.Tenants.CreateTenant(r.Context(), taruvi.TenantCreate{Schema: strings.ToLower(f.Get("schema")), Name: f.Get("name"), Domain: f.Get("domain")})
	took := time.Since(start)
	if err != nil {
		if !f.Fail(err) {
			return err
		}
		if len(f.Errors) == 0 {
			f.Errors["schema"] = f.Message
		}
		a.render(w, r, http.StatusBadRequest, "tenant_new", &tenantFormPage{Page: rq.page("New tenant", "tenants"), Form: f})
		return nil
	}
	return a.redirect(w, r, "/admin/tenants/"+t.Schema+"/",
		fmt.Sprintf("Tenant %s created in %.1f ms.", t.Schema, float64(took.Microseconds())/1000))
}

// tenantPage shows one tenant: its status, domains and the actions on it.
type tenantPage struct {
	Page
	T          *taruvi.Tenant
	Wanted     int
	DomainForm form
}

func (a *Admin) handleTenantGet(w http.ResponseWriter, r *http.Request, rq *request) error {
	return a.showTenant(w, r, rq, http.StatusOK, form{})
}

func (a *Admin) showTenant(w http.ResponseWriter, r *http.Request, rq *request, status int, f form) error {
	t, err := a.Tenants.FindTenant(r.Context(), r.PathValue("schema"))
	if err != nil {
		return err
	}
	o, err := a.Platform.Overview(r.Context())
	if err != nil {
		return err
	}
	a.render(w, r, status, "tenant", &tenantPage{Page: rq.page("Tenant "+t.Schema, "tenants"), T: t, Wanted: o.TenantVersion, DomainForm: f})
	return nil
}

func (a *Admin) handleTenantStatus(w http.ResponseWriter, r *http.Request, rq *request) error {
	schema, status := r.PathValue("schema"), r.PostFormValue("status")
	if err := a.Tenants.SetTenantStatus(r.Context(), schema, status); err != nil {
		return err
	}
	verb := map[string]string{taruvi.TenantActive: "resumed", taruvi.TenantSuspended: "suspended"}[status]
	return a.redirect(w, r, "/admin/tenants/"+schema+"/", "Tenant "+schema+" "+verb+".")
}

// confirmPage asks before something that cannot be undone.
type confirmPage struct {
	Page
	T *taruvi.Tenant
}

func (a *Admin) handleTenantDeleteConfirm(w http.ResponseWriter, r *http.Request, rq *request) error {
	t, err := a.Tenants.FindTenant(r.Context(), r.PathValue("schema"))
	if err != nil {
		return err
	}
	a.render(w, r, http.StatusOK, "tenant_delete", &confirmPage{Page: rq.page("Delete "+t.Schema, "tenants"), T: t})
	return nil
}

func (a *Admin) handleTenantDelete(w http.ResponseWriter, r *http.Request, rq *request) error {
	schema := r.PathValue("schema")
	if r.PostFormValue("confirm") != schema {
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "Type the tenant's schema name to confirm.",
			Fields: map[string]string{"confirm": "Type " + schema + "."}}
	}
	if err := a.Tenants.DeleteTenant(r.Context(), schema); err != nil {
		return err
	}
	return a.redirect(w, r, "/admin/tenants/", "Tenant "+schema+" deleted.")
}

func (a *Admin) handleDomainAdd(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := newForm(r, "domain", "primary")
	schema := r.PathValue("schema")
	err := a.Tenants.AddDomain(r.Context(), schema, f.Get("domain"), f.Get("primary") == "on")
	if err != nil {
		if !f.Fail(err) {
			return err
		}
		f.Errors["domain"] = f.Message
		return a.showTenant(w, r, rq, http.StatusBadRequest, f)
	}
	return a.redirect(w, r, "/admin/tenants/"+schema+"/", "Domain "+taruvi.NormalizeHost(f.Get("domain"))+" added.")
}

func (a *Admin) handleDomainRemove(w http.ResponseWriter, r *http.Request, rq *request) error {
	domain, schema := r.PostFormValue("domain"), r.PostFormValue("schema")
	if err := a.Tenants.RemoveDomain(r.Context(), domain); err != nil {
		return err
	}
	if taruvi.ValidateSchemaName(schema) != nil {
		return a.redirect(w, r, "/admin/tenants/", "Domain removed.")
	}
	return a.redirect(w, r, "/admin/tenants/"+schema+"/", "Domain "+domain+" removed.")
}

// historyPage is a list of history entries: one object's, or the
// platform's.
type historyPage struct {
	Page
	Heading string
	Entries []historyRow
	List    listView
	Back    string
}

// historyRow is an entry with its actor's name.
type historyRow struct {
	*taruvi.HistoryEntry
	Actor string
}

func (a *Admin) handlePlatformHistory(w http.ResponseWriter, r *http.Request, rq *request) error {
	q, view, err := parseList(r, taruvi.PlatformHistoryListSpec, "object_type", "object_id", "action")
	if err != nil {
		return err
	}
	entries, total, err := a.Platform.ListPlatformHistory(r.Context(), q)
	if err != nil {
		return err
	}
	p := &historyPage{Page: rq.page("Platform audit history", "audit"), Heading: "Platform audit history",
		Entries: a.withActors(r, entries), List: view.withTotal(total, q.PageSize)}
	a.render(w, r, http.StatusOK, "history", p)
	return nil
}

// withActors names each entry's actor: their email when the viewer may
// list users (else their own and "user #id" for others).
func (a *Admin) withActors(r *http.Request, entries []*taruvi.HistoryEntry) []historyRow {
	_, names := a.listUsers(r)
	if p := taruvi.PrincipalFromContext(r.Context()); p != nil && names[p.UserID] == "" {
		names[p.UserID] = p.Email
	}
	rows := make([]historyRow, len(entries))
	for i, e := range entries {
		rows[i] = historyRow{HistoryEntry: e, Actor: "system"}
		if e.ActorID != nil {
			rows[i].Actor = names[*e.ActorID]
			if rows[i].Actor == "" {
				rows[i].Actor = fmt.Sprintf("user #%d", *e.ActorID)
			}
		}
	}
	return rows
}
