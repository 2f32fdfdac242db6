package admin_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"taruvi/internal/postgres/postgrestest"
)

// send makes one request with the given headers and returns the status
// and the response's cookies, by name.
func (s *stack) send(t *testing.T, c *http.Client, method, u string, form url.Values, header map[string]string) (int, string, map[string]*http.Cookie) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	resp, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	cookies := map[string]*http.Cookie{}
	for _, ck := range resp.Cookies() {
		cookies[ck.Name] = ck
	}
	return resp.StatusCode, string(page), cookies
}

// TestCookiesAreSecureOverHTTPS: the sign-in and session cookies carry
// Secure when the request is HTTPS, here as a trusted proxy reports it,
// and not over plain HTTP or when an untrusted client claims HTTPS.
func TestCookiesAreSecureOverHTTPS(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	email, password := s.newUser(t, nil, false)
	for _, c := range []struct {
		name   string
		header map[string]string
		secure bool
	}{
		{"plain HTTP", nil, false},
		{"HTTPS by the proxy", map[string]string{"X-Forwarded-Proto": "https"}, true},
		{"HTTP by the proxy", map[string]string{"X-Forwarded-Proto": "http"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			client := s.client(t)
			origin := "http://localhost:" + s.port
			if c.secure {
				origin = "https://localhost:" + s.port
			}
			header := map[string]string{"Origin": origin}
			for k, v := range c.header {
				header[k] = v
			}
			status, page, cookies := s.send(t, client, "GET", s.url("", "/admin/login/"), nil, c.header)
			login := cookies["taruvi_admin_login"]
			if status != http.StatusOK || login == nil {
				t.Fatalf("sign-in page: %d, cookies %v", status, cookies)
			}
			if login.Secure != c.secure {
				t.Errorf("sign-in cookie: Secure %v, want %v", login.Secure, c.secure)
			}
			header["Cookie"] = "taruvi_admin_login=" + login.Value
			status, _, cookies = s.send(t, client, "POST", s.url("", "/admin/login/"),
				url.Values{"csrf": {csrfOf(t, page)}, "email": {email}, "password": {password}}, header)
			sess := cookies["taruvi_admin"]
			if status != http.StatusSeeOther || sess == nil {
				t.Fatalf("sign in: %d, cookies %v", status, cookies)
			}
			if sess.Secure != c.secure {
				t.Errorf("session cookie: Secure %v, want %v", sess.Secure, c.secure)
			}
		})
	}
}

// TestFormsFromAnotherOriginAreRefused: a form post is refused unless its
// Origin (or, without one, its Referer) names this site's scheme and host;
// "null" is refused; without both the token alone decides. A page of this
// host loaded over HTTPS that reaches the server as HTTP (a TLS proxy not
// trusted) is told how to fix it.
func TestFormsFromAnotherOriginAreRefused(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	email, password := s.newUser(t, nil, false)
	self := "localhost:" + s.port
	for _, c := range []struct {
		name    string
		header  map[string]string
		status  int
		message string // in the page
	}{
		{"same origin", map[string]string{"Origin": "http://" + self}, http.StatusSeeOther, ""},
		{"same origin in capitals", map[string]string{"Origin": "HTTP://LOCALHOST:" + s.port}, http.StatusSeeOther, ""},
		{"same origin by Referer", map[string]string{"Referer": "http://" + self + "/admin/login/"}, http.StatusSeeOther, ""},
		{"neither header", nil, http.StatusSeeOther, ""},
		{"HTTPS origin over HTTP", map[string]string{"Origin": "https://" + self}, http.StatusForbidden, "TARUVI_TRUSTED_PROXIES must name that proxy"},
		{"another host", map[string]string{"Origin": "http://evil.test:" + s.port}, http.StatusForbidden, "did not come from this site"},
		{"another port", map[string]string{"Origin": "http://localhost:1"}, http.StatusForbidden, "did not come from this site"},
		{"null", map[string]string{"Origin": "null"}, http.StatusForbidden, "did not come from this site"},
		{"null beside a good Referer", map[string]string{"Origin": "null", "Referer": "http://" + self + "/admin/"}, http.StatusForbidden, "did not come from this site"},
		{"another Referer", map[string]string{"Referer": "http://evil.test/admin/login/"}, http.StatusForbidden, "did not come from this site"},
		{"HTTPS Referer over HTTP", map[string]string{"Referer": "https://" + self + "/admin/login/"}, http.StatusForbidden, "TARUVI_TRUSTED_PROXIES must name that proxy"},
		{"HTTPS by the proxy", map[string]string{"X-Forwarded-Proto": "https", "Origin": "https://" + self}, http.StatusSeeOther, ""},
		{"HTTP origin, HTTPS by the proxy", map[string]string{"X-Forwarded-Proto": "https", "Origin": "http://" + self}, http.StatusForbidden, "did not come from this site"},
	} {
		t.Run(c.name, func(t *testing.T) {
			client := s.client(t)
			_, page, cookies := s.send(t, client, "GET", s.url("", "/admin/login/"), nil, nil)
			header := map[string]string{"Cookie": "taruvi_admin_login=" + cookies["taruvi_admin_login"].Value}
			for k, v := range c.header {
				header[k] = v
			}
			status, body, _ := s.send(t, client, "POST", s.url("", "/admin/login/"),
				url.Values{"csrf": {csrfOf(t, page)}, "email": {email}, "password": {password}}, header)
			if status != c.status || !strings.Contains(body, c.message) {
				t.Errorf("status %d, want %d with %q\n%s", status, c.status, c.message, body)
			}
		})
	}
}

// TestAdminIsNotServedUnderSitesPrefix: /sites/<tenant>/admin/ shows
// none of the tenant's pages on any host, its own included; the admin
// lives on the tenant's own hosts.
func TestAdminIsNotServedUnderSitesPrefix(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	a, b := postgrestest.NewTenant(t, s.db), postgrestest.NewTenant(t, s.db)
	c := s.client(t)
	if status, page, _ := get(t, c, s.url(a.Schema, "/admin/login/")); status != http.StatusOK || !strings.Contains(page, a.Name) {
		t.Fatalf("sign-in page on the tenant's host: %d", status)
	}
	for _, host := range []string{"", b.Schema, a.Schema} {
		for _, path := range []string{"/admin/login/", "/admin/", "/admin/static/app.css"} {
			u := s.url(host, "/sites/"+a.Schema+path)
			status, page, h := get(t, c, u)
			if status != http.StatusNotFound || strings.Contains(page, a.Name) || h.Get("Set-Cookie") != "" {
				t.Errorf("GET %s: %d, cookies %q; want 404 without the tenant's page\n%s", u, status, h.Get("Set-Cookie"), page)
			}
		}
	}
}
