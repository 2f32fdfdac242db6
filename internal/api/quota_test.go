package api_test

import (
	"testing"

	"taruvi"
	"taruvi/internal/postgres"
)

// TestTenantQuotaCountsSignedInRequests: anonymous requests never use up a
// tenant's quota (they meet the per-address limit only), the quota limits
// signed-in requests, and signing in and refreshing pass even when it is
// used up.
func TestTenantQuotaCountsSignedInRequests(t *testing.T) {
	t.Parallel()
	s := newStack(t, limits{account: 5, address: 1000, perAddress: 1000})
	a := s.newTenant(t)
	quota := 3
	if _, err := postgres.NewTenants(s.db).UpdateTenantSettings(a.ctx, a.tenant.Schema, taruvi.TenantSettings{RequestQuota: &quota}); err != nil {
		t.Fatal(err)
	}
	s.createUser(t, a, taruvi.UserCreate{Email: "ann@example.test", Password: "password of ann"})
	for i := 1; i <= 2*quota; i++ {
		if res := s.do(t, "GET", a.host, "/api/tenant/", "", ""); res.status != 200 {
			t.Fatalf("anonymous request %d: %d %s", i, res.status, res.body)
		}
	}
	pair := s.login(t, a.host, "ann@example.test", "password of ann")
	for i := 1; i <= quota+1; i++ {
		res := s.do(t, "GET", a.host, "/api/tenant/", bearer(pair.Access), "")
		if limited := res.status == 429; limited != (i == quota+1) {
			t.Fatalf("signed-in request %d: %d %s", i, res.status, res.body)
		}
	}
	// The quota is used up: signing in and refreshing still work, with or
	// without the access token the client holds.
	for i, auth := range []string{"", bearer(pair.Access)} {
		res := s.do(t, "POST", a.host, loginPath, auth, credentials("ann@example.test", "password of ann"))
		if res.status != 200 {
			t.Errorf("sign-in %d after the quota: %d %s", i, res.status, res.body)
		}
		res = s.do(t, "POST", a.host, refreshPath, auth, jsonBody(map[string]string{"refresh": pair.Refresh}))
		if res.status != 200 {
			t.Errorf("refresh %d after the quota: %d %s", i, res.status, res.body)
		}
		pair = s.login(t, a.host, "ann@example.test", "password of ann")
	}
	// The app sign-in too, with or without the session token the client
	// holds; requests with that token count against the quota.
	sess := s.appLogin(t, a.host, "", credentials("ann@example.test", "password of ann"))
	res := s.request(t, "POST", a.host, appLoginPath, textBody(credentials("ann@example.test", "password of ann")),
		map[string]string{"Content-Type": "application/json", "X-Session-Token": sess.sessionToken})
	if res.status != 200 {
		t.Errorf("app sign-in with a session token after the quota: %d %s", res.status, res.body)
	}
	if res := s.get(t, a.host, "/api/tenant/", map[string]string{"X-Session-Token": sess.sessionToken}); res.status != 429 {
		t.Errorf("request with a session token after the quota: %d, want 429", res.status)
	}
	if res := s.do(t, "GET", a.host, "/api/tenant/", bearer(pair.Access), ""); res.status != 429 {
		t.Errorf("signed-in request after the quota: %d, want 429", res.status)
	}
	if res := s.do(t, "GET", a.host, "/api/tenant/", "", ""); res.status != 200 {
		t.Errorf("anonymous request after the quota: %d, want 200 (per-address limit only)", res.status)
	}
}
