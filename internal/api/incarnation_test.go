package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/postgrestest"
)

// recreate suspends and deletes the tenant of st and creates a tenant of
// the same schema name again, with its own owner; it returns the new site.
func (s *stack) recreate(t *testing.T, st site) site {
	t.Helper()
	ctx := context.Background()
	tenants := postgres.NewTenants(s.db)
	if err := tenants.SetTenantStatus(ctx, st.tenant.Schema, taruvi.TenantSuspended); err != nil {
		t.Fatal(err)
	}
	if err := tenants.DeleteTenant(ctx, st.tenant.Schema); err != nil {
		t.Fatal(err)
	}
	again, err := tenants.CreateTenant(ctx, taruvi.TenantCreate{Schema: st.tenant.Schema})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID == st.tenant.ID {
		t.Fatalf("the tenant created again has the deleted one's id %d", again.ID)
	}
	return site{tenant: again, ctx: taruvi.NewContextWithTenant(ctx, again), host: st.host}
}

// TestDeletedTenantNeverReturns: an owner's access token, used once in a
// tenant that is then deleted and created again under the same schema
// name, is refused in the new tenant, on this replica and on another, even
// though the new tenant's first user has the owner's user id; it cannot
// create an owner there.
func TestDeletedTenantNeverReturns(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	two := s.replica(t)
	tenant := postgrestest.NewTenant(t, s.db)
	old := site{tenant: tenant, ctx: taruvi.NewContextWithTenant(context.Background(), tenant), host: tenant.Schema + ".localhost"}
	owner := s.createUser(t, old, taruvi.UserCreate{Email: "owner@delta.test", Password: "password of owner", IsOwner: true})
	pair := s.login(t, old.host, "owner@delta.test", "password of owner")
	me := func(name string, st *stack, status int) row {
		return row{name: name, method: "GET", path: mePath, host: old.host, cred: bearer(pair.Access), status: status}
	}
	s.scenario(nil).run(t, []row{me("the owner's token works", s, 200)})
	two.scenario(nil).run(t, []row{me("on both replicas", two, 200)})

	fresh := s.recreate(t, old)
	user := s.createUser(t, fresh, taruvi.UserCreate{Email: "user@delta.test", Password: "password of user"})
	if user.ID != owner.ID {
		t.Fatalf("want the new tenant's user to have the old owner's id %d, got %d", owner.ID, user.ID)
	}
	newOwner := `{"email":"intruder@delta.test","password":"password of intruder","is_owner":true}`
	for _, st := range []*stack{s, two} {
		st.scenario(nil).run(t, []row{
			{name: "the new tenant is served", method: "GET", path: "/api/tenant/", host: fresh.host, status: 200,
				within: time.Second},
			{name: "the old token is refused", method: "GET", path: mePath, host: fresh.host, cred: bearer(pair.Access),
				status: http.StatusUnauthorized, absent: []string{"user@delta.test"}},
			{name: "it creates no owner", method: "POST", path: "/api/users", host: fresh.host, cred: bearer(pair.Access),
				body: newOwner, status: http.StatusUnauthorized},
			{name: "nor does its refresh token", method: "POST", path: refreshPath, host: fresh.host,
				body: refreshBody(pair.Refresh), status: http.StatusUnauthorized},
		})
	}
	users, _, err := s.users.ListUsers(fresh.operator(), taruvi.ListQuery{Page: 1, PageSize: taruvi.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || users[0].Email != "user@delta.test" {
		t.Fatalf("the new tenant's users: %+v, want only user@delta.test", users)
	}
}
