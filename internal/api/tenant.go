package api

import (
	"net/http"
	"time"

	"taruvi"
)

// Tenant is a tenant as the platform API shows it.
type Tenant struct {
	Schema        string    `json:"schema"`
	Name          string    `json:"name"`
	Status        string    `json:"status"`
	SchemaVersion int       `json:"schema_version"`
	Domains       []string  `json:"domains"`
	RequestQuota  int       `json:"request_quota"` // requests per minute for the whole tenant; 0: none
	CORSOrigins   []string  `json:"cors_origins"`
	CreatedAt     time.Time `json:"created_at"`
}

func toAPITenant(t *taruvi.Tenant) Tenant {
	out := Tenant{Schema: t.Schema, Name: t.Name, Status: t.Status, SchemaVersion: t.SchemaVersion,
		Domains: []string{}, RequestQuota: t.RequestQuota, CORSOrigins: nonNil(t.CORSOrigins), CreatedAt: t.CreatedAt}
	for _, d := range t.Domains {
		out.Domains = append(out.Domains, d.Domain)
	}
	return out
}

// TenantCORS is the body of PATCH /api/tenant/: what a tenant's owner may
// change about the tenant.
type TenantCORS struct {
	CORSOrigins []string `json:"cors_origins"`
}

// requirePlatformAdmin refuses anyone but a platform admin on a platform
// host.
func requirePlatformAdmin(r *http.Request) error {
	p := taruvi.PrincipalFromContext(r.Context())
	switch {
	case p == nil:
		return taruvi.Errorf(taruvi.EUNAUTHORIZED, "Authentication required.")
	case taruvi.TenantFromContext(r.Context()) != nil:
		return taruvi.Errorf(taruvi.ENOTFOUND, "Tenants are managed on the platform host.")
	case !p.IsAdmin:
		return taruvi.Errorf(taruvi.EFORBIDDEN, "Only platform admins manage tenants.")
	}
	return nil
}

func (a *API) handleTenantList(w http.ResponseWriter, r *http.Request) error {
	if err := requirePlatformAdmin(r); err != nil {
		return err
	}
	tenants, err := a.Tenants.ListTenants(r.Context())
	if err != nil {
		return err
	}
	out := make([]Tenant, len(tenants))
	for i, t := range tenants {
		out[i] = toAPITenant(t)
	}
	return ok(w, http.StatusOK, "Tenants.", out)
}

func (a *API) handleTenantCreate(w http.ResponseWriter, r *http.Request) error {
	if err := requirePlatformAdmin(r); err != nil {
		return err
	}
	var in taruvi.TenantCreate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	t, err := a.Tenants.CreateTenant(r.Context(), in)
	if err != nil {
		return err
	}
	return ok(w, http.StatusCreated, "Tenant created.", toAPITenant(t))
}

func (a *API) handleTenantSettings(w http.ResponseWriter, r *http.Request) error {
	if err := requirePlatformAdmin(r); err != nil {
		return err
	}
	var in taruvi.TenantSettings
	if err := decode(w, r, &in); err != nil {
		return err
	}
	t, err := a.Tenants.UpdateTenantSettings(r.Context(), r.PathValue("schema"), in)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Tenant settings changed.", toAPITenant(t))
}

// handleTenantCORS lets a tenant's owner set the origins allowed to call
// the tenant's API from a browser.
func (a *API) handleTenantCORS(w http.ResponseWriter, r *http.Request) error {
	t, p := taruvi.TenantFromContext(r.Context()), taruvi.PrincipalFromContext(r.Context())
	switch {
	case t == nil:
		return taruvi.Errorf(taruvi.ENOTFOUND, "Use PATCH /api/tenants/{schema}/ on the platform host.")
	case p == nil:
		return taruvi.Errorf(taruvi.EUNAUTHORIZED, "Authentication required.")
	case !p.IsOwner:
		return taruvi.Errorf(taruvi.EFORBIDDEN, "Only the tenant's owners change its settings.")
	}
	var in TenantCORS
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.CORSOrigins == nil {
		in.CORSOrigins = []string{}
	}
	updated, err := a.Tenants.UpdateTenantSettings(r.Context(), t.Schema, taruvi.TenantSettings{CORSOrigins: &in.CORSOrigins})
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Tenant settings changed.", toAPITenant(updated))
}
