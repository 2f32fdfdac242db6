package api_test

import (
	"strconv"
	"testing"
	"time"

	"taruvi"
)

// TestTenantAdmin: platform admins create tenants and set their quota and
// origins; a tenant's owner sets its own origins and nothing of another
// tenant's; members and other hosts are refused.
func TestTenantAdmin(t *testing.T) {
	t.Parallel()
	s := newStack(t, defaultLimits)
	a, b := s.newTenant(t), s.newTenant(t)
	s.createUser(t, a, taruvi.UserCreate{Email: "owner@a.test", Password: "password of owner", IsOwner: true})
	s.createUser(t, a, taruvi.UserCreate{Email: "member@a.test", Password: "password of member"})
	admin := uniqueEmail("admin")
	s.createUser(t, s.platform(), taruvi.UserCreate{Email: admin, Password: "platform password"})
	owner := bearer(s.login(t, a.host, "owner@a.test", "password of owner").Access)
	member := bearer(s.login(t, a.host, "member@a.test", "password of member").Access)
	pa := bearer(s.login(t, platformHost, admin, "platform password").Access)
	fresh := "t_new_" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	onA := func(name, method, path, cred, body string, status int, want ...string) row {
		return row{name: name, method: method, path: path, host: a.host, cred: cred, body: body, status: status, want: want}
	}
	onPlatform := func(name, method, path, cred, body string, status int, want ...string) row {
		return row{name: name, method: method, path: path, host: platformHost, cred: cred, body: body, status: status, want: want}
	}
	s.scenario(nil).run(t, []row{
		onPlatform("create a tenant", "POST", "/api/tenants/", pa, `{"schema":"`+fresh+`","name":"Fresh Inc."}`, 201,
			`"schema":"`+fresh+`"`, `"name":"Fresh Inc."`, `"request_quota":0`, `"cors_origins":[]`),
		{name: "the new tenant is served", method: "GET", path: "/api/tenant/", host: fresh + ".localhost", status: 200,
			want: []string{`"schema":"` + fresh + `"`}, within: time.Second},
		onPlatform("create it again", "POST", "/api/tenants/", pa, `{"schema":"`+fresh+`"}`, 409, `"code":"CONFLICT"`),
		onPlatform("create a reserved name", "POST", "/api/tenants/", pa, `{"schema":"public"}`, 400, `"code":"VALIDATION_ERROR"`),
		onPlatform("create anonymously", "POST", "/api/tenants/", "", `{"schema":"t_anon"}`, 401),
		onPlatform("list", "GET", "/api/tenants/", pa, "", 200, `"schema":"`+a.tenant.Schema+`"`, `"schema":"`+fresh+`"`),
		onPlatform("set a quota and origins", "PATCH", "/api/tenants/"+b.tenant.Schema+"/", pa,
			`{"request_quota":120,"cors_origins":["HTTPS://App.B.example"]}`, 200, `"request_quota":120`, `"cors_origins":["https://app.b.example"]`),
		onPlatform("negative quota", "PATCH", "/api/tenants/"+b.tenant.Schema+"/", pa, `{"request_quota":-1}`, 400, `"request_quota":`),
		onPlatform("origin with a path", "PATCH", "/api/tenants/"+b.tenant.Schema+"/", pa, `{"cors_origins":["https://x.example/a"]}`, 400, `"cors_origins":`),
		onPlatform("unknown tenant", "PATCH", "/api/tenants/t_nosuch/", pa, `{"request_quota":1}`, 404),
		onA("tenant owner cannot list tenants", "GET", "/api/tenants/", owner, "", 404),
		onA("tenant owner cannot set a quota", "PATCH", "/api/tenants/"+a.tenant.Schema+"/", owner, `{"request_quota":0}`, 404),
		onA("owner sets the tenant's origins", "PATCH", "/api/tenant/", owner, `{"cors_origins":["https://app.a.example"]}`, 200,
			`"cors_origins":["https://app.a.example"]`, `"request_quota":0`),
		onA("owner cannot set the quota", "PATCH", "/api/tenant/", owner, `{"request_quota":0}`, 400, `"request_quota":"Unknown field."`),
		onA("member cannot set origins", "PATCH", "/api/tenant/", member, `{"cors_origins":[]}`, 403),
		onA("anonymous cannot set origins", "PATCH", "/api/tenant/", "", `{"cors_origins":[]}`, 401),
		{name: "A's token on B", method: "PATCH", path: "/api/tenant/", host: b.host, cred: owner, body: `{"cors_origins":[]}`, status: 401},
		onPlatform("B kept its origins", "GET", "/api/tenants/", pa, "", 200, `"cors_origins":["https://app.b.example"]`),
		onPlatform("no tenant settings on the platform", "PATCH", "/api/tenant/", pa, `{"cors_origins":[]}`, 404),
	})
}
