package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/postgres/postgrestest"
)

// request sends method url with the Host and Authorization headers given
// and returns the status, content type and body.
func request(t *testing.T, method, url, host, auth, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// TestServeJobsUI: River UI is served on the platform host to platform
// admins, and to no one else.
func TestServeJobsUI(t *testing.T) {
	t.Parallel()
	db := postgrestest.DB(t)
	tenant := postgrestest.NewTenant(t, db)
	users, _ := operatorUsers(db)
	email := "ui-admin-" + postgrestest.SchemaName() + "@platform.test"
	operator := taruvi.NewContextWithPrincipal(context.Background(), &taruvi.Principal{Audience: taruvi.PlatformAudience, IsAdmin: true})
	if _, err := users.CreateUser(operator, taruvi.UserCreate{Email: email, Password: "platform password"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- serve(ctx, serveConfig(t, nil), slog.New(slog.DiscardHandler), db, func(a net.Addr) { addrs <- a })
	}()
	var base string
	select {
	case a := <-addrs:
		base = "http://" + a.String()
	case err := <-errc:
		t.Fatal(err)
	}
	status, _, body := request(t, "POST", base+"/api/auth/jwt/token", "localhost", "", `{"email":"`+email+`","password":"platform password"}`)
	var env struct{ Data taruvi.TokenPair }
	if err := json.Unmarshal([]byte(body), &env); status != 200 || err != nil {
		t.Fatalf("admin login: %d %s", status, body)
	}
	admin := "Bearer " + env.Data.Access

	for _, tt := range []struct {
		name, path, host, auth string
		status                 int
		want                   string
	}{
		{"index for the admin", "/admin/river/", "localhost", admin, 200, "<html"},
		{"index without slash", "/admin/river", "localhost", admin, 200, "<html"},
		{"the UI's API for the admin", "/admin/river/api/jobs?state=available&limit=5", "localhost", admin, 200, `"data":`},
		{"without credential", "/admin/river/", "localhost", "", 401, `"code":"UNAUTHORIZED"`},
		{"the UI's API without credential", "/admin/river/api/jobs?state=available", "localhost", "", 401, `"code":"UNAUTHORIZED"`},
		{"on a tenant host", "/admin/river/", tenant.Schema + ".localhost", "", 404, `"code":"NOT_FOUND"`},
		{"admin token on a tenant host", "/admin/river/", tenant.Schema + ".localhost", admin, 401, `"code":"UNAUTHORIZED"`},
	} {
		status, ctype, body := request(t, "GET", base+tt.path, tt.host, tt.auth, "")
		if status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("%s: GET %s: %d %s %.200s, want %d with %s", tt.name, tt.path, status, ctype, body, tt.status, tt.want)
		}
	}

	// A browser signed in to the admin UI opens it with its session
	// cookie; a tenant user's cookie opens nothing.
	owner := "ui-owner-" + postgrestest.SchemaName() + "@tenant.test"
	inTenant := taruvi.NewContextWithPrincipal(taruvi.NewContextWithTenant(context.Background(), tenant),
		&taruvi.Principal{Audience: tenant.Schema, IsOwner: true, IsAdmin: true})
	if _, err := users.CreateUser(inTenant, taruvi.UserCreate{Email: owner, Password: "tenant password", IsOwner: true}); err != nil {
		t.Fatal(err)
	}
	adminCookie := adminSignIn(t, base, "localhost", email, "platform password")
	ownerCookie := adminSignIn(t, base, tenant.Schema+".localhost", owner, "tenant password")
	for _, tt := range []struct {
		name, method, path, host, cookie, origin string
		status                                   int
		want                                     string
	}{
		{"index for the admin's session", "GET", "/admin/river/", "localhost", adminCookie, "", 200, "<html"},
		{"the UI's API for the admin's session", "GET", "/admin/river/api/jobs?state=available&limit=5", "localhost", adminCookie, "", 200, `"data":`},
		{"a change from another origin", "POST", "/admin/river/api/jobs/retry", "localhost", adminCookie, "http://evil.test", 403, `"code":"FORBIDDEN"`},
		{"a change without an origin", "POST", "/admin/river/api/jobs/retry", "localhost", adminCookie, "", 403, `"code":"FORBIDDEN"`},
		{"a tenant owner's cookie on the platform", "GET", "/admin/river/", "localhost", ownerCookie, "", 401, `"code":"UNAUTHORIZED"`},
		{"a tenant owner's cookie on the tenant", "GET", "/admin/river/", tenant.Schema + ".localhost", ownerCookie, "", 404, `"code":"NOT_FOUND"`},
		{"a forged cookie", "GET", "/admin/river/", "localhost", "taruvi_admin=x.y", "", 401, `"code":"UNAUTHORIZED"`},
	} {
		req, _ := http.NewRequest(tt.method, base+tt.path, strings.NewReader(`{"ids":[1]}`))
		req.Host = tt.host
		req.Header.Set("Cookie", tt.cookie)
		req.Header.Set("Content-Type", "application/json")
		if tt.origin != "" {
			req.Header.Set("Origin", tt.origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.want) {
			t.Errorf("%s: %s %s: %d %.200s, want %d with %s", tt.name, tt.method, tt.path, resp.StatusCode, b, tt.status, tt.want)
		}
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// adminSignIn signs in to the admin UI on host as a browser does and
// returns the session cookie ("name=value").
func adminSignIn(t *testing.T, base, host, email, password string) string {
	t.Helper()
	do := func(method, path, cookie, body string) *http.Response {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Host = host
		req.Header.Set("Cookie", cookie)
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := (&http.Transport{}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := do("GET", "/admin/login/", "", "")
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_, rest, _ := strings.Cut(string(page), `name="csrf" value="`)
	csrf, _, _ := strings.Cut(rest, `"`)
	var nonce string
	for _, c := range resp.Cookies() {
		if c.Name == "taruvi_admin_login" {
			nonce = c.Name + "=" + c.Value
		}
	}
	form := url.Values{"csrf": {csrf}, "email": {email}, "password": {password}}
	resp = do("POST", "/admin/login/", nonce, form.Encode())
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "taruvi_admin" && c.Value != "" {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatalf("admin sign-in on %s: %d, no session cookie", host, resp.StatusCode)
	return ""
}
