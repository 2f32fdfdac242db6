package web_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"taruvi"
	"taruvi/internal/postgres/postgrestest"
	"taruvi/internal/web"
)

func TestRouting(t *testing.T) {
	t.Parallel()
	f := setup(t)
	active := postgrestest.NewTenant(t, f.db)
	suspended := postgrestest.NewTenant(t, f.db)
	domain := domainFor(active, "www-")
	underBase := "shop-" + strings.ReplaceAll(active.Schema, "_", "-") + ".localhost"
	f.addDomain(t, active, domain)
	f.addDomain(t, active, underBase)
	f.addDomain(t, suspended, domainFor(suspended, "www-"))
	f.suspend(t, suspended)

	other := postgrestest.NewTenant(t, f.db)
	plain := f.server(f.config())
	// Pages outside the API, which name the tenant they were served for.
	for _, pattern := range []string{"GET /admin/page", "GET /.well-known/page", "GET /apix"} {
		plain.Handle(pattern, func(w http.ResponseWriter, r *http.Request) error {
			t := taruvi.TenantFromContext(r.Context())
			if t == nil {
				return taruvi.Errorf(taruvi.ENOTFOUND, "No tenant.")
			}
			web.WriteData(w, http.StatusOK, "Page", map[string]string{"page_of": t.Schema})
			return nil
		})
	}
	trustCfg := f.config()
	trustCfg.TrustTenantHeader = true
	trusting := f.server(trustCfg)
	// The allauth-style sign-in of the SDKs, on every tenant host form.
	for _, srv := range []*web.Server{plain, trusting} {
		srv.Handle("GET /_allauth/app/v1/page", func(w http.ResponseWriter, r *http.Request) error {
			t := taruvi.TenantFromContext(r.Context())
			if t == nil {
				return taruvi.Errorf(taruvi.ENOTFOUND, "No tenant.")
			}
			web.WriteData(w, http.StatusOK, "Page", map[string]string{"page_of": t.Schema})
			return nil
		})
	}
	aheadCfg := f.config()
	aheadCfg.TenantVersion = f.db.TenantVersion() + 1
	ahead := f.server(aheadCfg)

	activeHost := active.Schema + ".localhost:8000"
	isActive := []string{`"scope":"tenant"`, `"schema":"` + active.Schema + `"`, `"name":"` + active.Name + `"`, `"status":"active"`}
	isPlatform := []string{`"scope":"platform"`, `"name":"Taruvi platform"`}
	noTenant := []string{active.Schema, `"scope":"tenant"`}

	tests := []struct {
		name    string
		srv     http.Handler
		method  string
		path    string
		host    string
		header  map[string]string
		status  int
		code    string            // envelope code of an error response
		body    []string          // fragments the body has
		notBody []string          // fragments the body must not have
		headers map[string]string // response headers; "" means absent, "*" any value
	}{
		{name: "schema host", host: activeHost, status: 200, body: append(isActive, domain, underBase)},
		{name: "schema host without port", host: active.Schema + ".localhost", status: 200, body: isActive},
		{name: "schema host in capitals", host: strings.ToUpper(active.Schema) + ".LOCALHOST:8000", status: 200, body: isActive},
		{name: "mapped domain", host: domain, status: 200, body: isActive},
		{name: "mapped domain with port", host: domain + ":443", status: 200, body: isActive},
		{name: "mapped domain under base domain", host: underBase + ":8000", status: 200, body: isActive},
		{name: "platform localhost", host: "localhost", status: 200, body: isPlatform, notBody: noTenant},
		{name: "platform localhost port", host: "localhost:8000", status: 200, body: isPlatform, notBody: noTenant},
		{name: "platform IPv4", host: "127.0.0.1:8000", status: 200, body: isPlatform, notBody: noTenant},
		{name: "platform IPv6", host: "[::1]:8000", status: 200, body: isPlatform, notBody: noTenant},
		{name: "sites prefix on platform", path: "/sites/" + active.Schema + "/api/tenant/", host: "localhost:8000", status: 200, body: isActive},
		{name: "sites prefix without slash", path: "/sites/" + active.Schema + "/api/tenant", host: "127.0.0.1:8000", status: 200, body: isActive},
		{name: "sites prefix unknown", path: "/sites/t_nosuchtenant/api/tenant/", host: "localhost", status: 404, code: taruvi.ENOTFOUND},
		{name: "sites prefix invalid", path: "/sites/Bad!Name/api/tenant/", host: "localhost", status: 404, code: taruvi.ENOTFOUND},
		{name: "sites prefix reserved", path: "/sites/public/api/tenant/", host: "localhost", status: 404, code: taruvi.ENOTFOUND},
		{name: "a page on the tenant's host", path: "/admin/page", host: activeHost, status: 200, body: []string{`"page_of":"` + active.Schema + `"`}},
		{name: "sites prefix, a page on platform", path: "/sites/" + active.Schema + "/admin/page", host: "localhost", status: 404,
			code: taruvi.ENOTFOUND, notBody: []string{"page_of"}},
		{name: "sites prefix, a page on another tenant", path: "/sites/" + active.Schema + "/admin/page", host: other.Schema + ".localhost",
			status: 404, code: taruvi.ENOTFOUND, notBody: []string{"page_of"}},
		{name: "sites prefix, a page on its own host", path: "/sites/" + active.Schema + "/admin/page", host: activeHost,
			status: 404, code: taruvi.ENOTFOUND, notBody: []string{"page_of"}},
		{name: "sites prefix, no path", path: "/sites/" + active.Schema + "/", host: "localhost", status: 404, code: taruvi.ENOTFOUND},
		{name: "sites prefix, a path like the API", path: "/sites/" + active.Schema + "/apix", host: "localhost", status: 404,
			code: taruvi.ENOTFOUND, notBody: []string{"page_of"}},
		{name: "sites prefix, dot-dot out of the API", path: "/sites/" + active.Schema + "/api/../admin/page", host: "localhost",
			status: 404, code: taruvi.ENOTFOUND, notBody: []string{"page_of"}},
		{name: "sites prefix, well-known", path: "/sites/" + active.Schema + "/.well-known/page", host: "localhost", status: 200,
			body: []string{`"page_of":"` + active.Schema + `"`}},
		{name: "allauth on the schema host", path: "/_allauth/app/v1/page", host: activeHost, status: 200,
			body: []string{`"page_of":"` + active.Schema + `"`}},
		{name: "allauth on a mapped domain", path: "/_allauth/app/v1/page/", host: domain, status: 200,
			body: []string{`"page_of":"` + active.Schema + `"`}, headers: map[string]string{"Location": ""}},
		{name: "allauth under the sites prefix", path: "/sites/" + active.Schema + "/_allauth/app/v1/page", host: "localhost", status: 200,
			body: []string{`"page_of":"` + active.Schema + `"`}},
		{name: "allauth under the sites prefix, trailing slash", path: "/sites/" + active.Schema + "/_allauth/app/v1/page/", host: "127.0.0.1:8000",
			status: 200, body: []string{`"page_of":"` + active.Schema + `"`}, headers: map[string]string{"Location": ""}},
		{name: "allauth by X-Tenant", srv: trusting, path: "/_allauth/app/v1/page", host: "localhost",
			header: map[string]string{"X-Tenant": active.Schema}, status: 200, body: []string{`"page_of":"` + active.Schema + `"`}},
		{name: "X-Tenant ignored by default", host: "localhost:8000", header: map[string]string{"X-Tenant": active.Schema},
			status: 200, body: isPlatform, notBody: noTenant},
		{name: "X-Tenant ignored on unknown host", host: "nowhere.example.test", header: map[string]string{"X-Tenant": active.Schema},
			status: 404, code: taruvi.ENOTFOUND},
		{name: "X-Tenant trusted", srv: trusting, host: "localhost:8000", header: map[string]string{"X-Tenant": active.Schema},
			status: 200, body: isActive},
		{name: "X-Tenant trusted, spaces and capitals", srv: trusting, host: "localhost", header: map[string]string{"X-Tenant": " " + strings.ToUpper(active.Schema) + " "},
			status: 200, body: isActive},
		{name: "X-Tenant trusted, unknown", srv: trusting, host: "localhost", header: map[string]string{"X-Tenant": "t_nosuchtenant"},
			status: 404, code: taruvi.ENOTFOUND},
		{name: "X-Tenant trusted, invalid", srv: trusting, host: "localhost", header: map[string]string{"X-Tenant": "a.b; drop"},
			status: 404, code: taruvi.ENOTFOUND},
		{name: "X-Tenant trusted, suspended", srv: trusting, host: "localhost", header: map[string]string{"X-Tenant": suspended.Schema},
			status: 403, code: taruvi.EFORBIDDEN},
		{name: "trusting server without header", srv: trusting, host: "localhost", status: 200, body: isPlatform},
		{name: "unknown host", host: "nowhere.example.test", status: 404, code: taruvi.ENOTFOUND},
		{name: "unknown schema host", host: "t_nosuchtenant.localhost:8000", status: 404, code: taruvi.ENOTFOUND},
		{name: "invalid label, capitals", host: "Bad_Name.localhost", status: 404, code: taruvi.ENOTFOUND},
		{name: "two labels", host: "a.b.localhost", status: 404, code: taruvi.ENOTFOUND},
		{name: "one letter label", host: "x.localhost", status: 404, code: taruvi.ENOTFOUND},
		{name: "reserved label", host: "public.localhost", status: 404, code: taruvi.ENOTFOUND},
		{name: "pg_ label", host: "pg_catalog.localhost", status: 404, code: taruvi.ENOTFOUND},
		{name: "keyword label", host: "select.localhost", status: 404, code: taruvi.ENOTFOUND},
		{name: "overlong label", host: strings.Repeat("a", 300) + ".localhost", status: 404, code: taruvi.ENOTFOUND},
		{name: "quote in host", host: "x'--.localhost", status: 404, code: taruvi.ENOTFOUND},
		{name: "empty host", host: "", status: 404, code: taruvi.ENOTFOUND},
		{name: "base domain alone as label", host: ".localhost", status: 404, code: taruvi.ENOTFOUND},
		{name: "suspended schema host", host: suspended.Schema + ".localhost", status: 403, code: taruvi.EFORBIDDEN},
		{name: "suspended mapped domain", host: domainFor(suspended, "www-"), status: 403, code: taruvi.EFORBIDDEN},
		{name: "suspended via sites", path: "/sites/" + suspended.Schema + "/api/tenant/", host: "localhost", status: 403, code: taruvi.EFORBIDDEN},
		{name: "tenant behind migrations", srv: ahead, host: activeHost, status: 503, code: taruvi.EUNAVAILABLE,
			headers: map[string]string{"Retry-After": "*"}},
		{name: "platform while tenants behind", srv: ahead, host: "localhost", status: 200, body: isPlatform},
		{name: "no trailing slash", path: "/api/tenant", host: activeHost, status: 200, body: isActive},
		{name: "doubled slashes", path: "//api//tenant//", host: activeHost, status: 200, body: isActive,
			headers: map[string]string{"Location": ""}},
		{name: "doubled slashes on platform", path: "//api//tenant//", host: "localhost", status: 200, body: isPlatform,
			headers: map[string]string{"Location": ""}},
		{name: "dot segment", path: "/api/./tenant/", host: activeHost, status: 200, body: isActive,
			headers: map[string]string{"Location": ""}},
		{name: "dot-dot segment", path: "/api/x/../tenant", host: activeHost, status: 200, body: isActive,
			headers: map[string]string{"Location": ""}},
		{name: "dot segment after sites prefix", path: "/sites/" + active.Schema + "/api/./tenant", host: "localhost", status: 200, body: isActive,
			headers: map[string]string{"Location": ""}},
		{name: "POST on platform", method: "POST", host: "localhost", status: 405, code: taruvi.EBADREQUEST,
			headers: map[string]string{"Allow": "GET"}},
		{name: "DELETE on tenant", method: "DELETE", path: "/api/tenant/", host: activeHost, status: 405, code: taruvi.EBADREQUEST,
			headers: map[string]string{"Allow": "GET"}},
		{name: "unknown route", path: "/api/nothing-here/", host: "localhost", status: 404, code: taruvi.ENOTFOUND},
		{name: "unknown route on tenant", path: "/nope", host: activeHost, status: 404, code: taruvi.ENOTFOUND},
		{name: "root", path: "/", host: "localhost", status: 404, code: taruvi.ENOTFOUND},
		{name: "live on platform", path: "/health/live", host: "localhost", status: 200, body: []string{`"status":"success"`}},
		{name: "live on unknown host", path: "/health/live", host: "nowhere.example.test", status: 200, body: []string{`"status":"success"`}},
		{name: "live on invalid host", path: "/health/live/", host: "Bad_Name.localhost", status: 200, body: []string{`"status":"success"`}},
		{name: "live on suspended tenant", path: "/health/live", host: suspended.Schema + ".localhost", status: 200},
		{name: "live while tenants behind", srv: ahead, path: "/health/live", host: activeHost, status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, method, path := tt.srv, tt.method, tt.path
			if srv == nil {
				srv = plain
			}
			if method == "" {
				method = "GET"
			}
			if path == "" {
				path = "/api/tenant/"
			}
			w := get(srv, method, path, tt.host, tt.header)
			if w.Code != tt.status {
				t.Fatalf("%s %s on %q: status %d, want %d: %s", method, path, tt.host, w.Code, tt.status, w.Body)
			}
			if tt.code != "" || w.Code >= 400 {
				checkEnvelope(t, w, tt.code)
			} else {
				var env web.SuccessEnvelope
				if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || env.Status != "success" {
					t.Errorf("success body is not a success envelope (%v): %s", err, w.Body)
				}
			}
			body := w.Body.String()
			for _, frag := range tt.body {
				if !strings.Contains(body, frag) {
					t.Errorf("body lacks %s: %s", frag, body)
				}
			}
			for _, frag := range tt.notBody {
				if strings.Contains(body, frag) {
					t.Errorf("body has %s: %s", frag, body)
				}
			}
			for k, v := range tt.headers {
				got := w.Header().Get(k)
				if v == "*" && got == "" || v != "*" && got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	f := setup(t)
	srv := f.server(f.config())
	generated := regexp.MustCompile(`^[0-9a-f]{24}$`)

	tests := []struct {
		name string
		sent string // "" sends no header
		host string
		echo bool // the response carries sent; otherwise a generated id
	}{
		{name: "valid, success", sent: "req-42.a_B", host: "localhost", echo: true},
		{name: "valid, error", sent: "req-43", host: "nowhere.example.test", echo: true},
		{name: "128 characters", sent: strings.Repeat("a", 128), host: "localhost", echo: true},
		{name: "absent", host: "localhost"},
		{name: "300 characters", sent: strings.Repeat("a", 300), host: "localhost"},
		{name: "300 characters, error", sent: strings.Repeat("b", 300), host: "nowhere.example.test"},
		{name: "spaces", sent: "req 44", host: "localhost"},
		{name: "spaces, error", sent: "req 45", host: "nowhere.example.test"},
		{name: "header injection", sent: "a\"b<script>", host: "nowhere.example.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			header := map[string]string{}
			if tt.sent != "" {
				header["X-Request-ID"] = tt.sent
			}
			w := get(srv, "GET", "/api/tenant/", tt.host, header)
			id := w.Header().Get("X-Request-ID")
			switch {
			case tt.echo && id != tt.sent:
				t.Errorf("X-Request-ID = %q, want %q echoed", id, tt.sent)
			case !tt.echo && !generated.MatchString(id):
				t.Errorf("X-Request-ID = %q, want a generated id in place of %q", id, tt.sent)
			}
			if w.Code >= 400 {
				env := checkEnvelope(t, w, taruvi.ENOTFOUND)
				if env.RequestID != id {
					t.Errorf("envelope request_id %q, header %q", env.RequestID, id)
				}
			}
			if !tt.echo && tt.sent != "" && strings.Contains(w.Body.String(), tt.sent) {
				t.Errorf("body repeats the rejected id: %s", w.Body)
			}
		})
	}

	a := get(srv, "GET", "/health/live", "localhost", nil).Header().Get("X-Request-ID")
	b := get(srv, "GET", "/health/live", "localhost", nil).Header().Get("X-Request-ID")
	if a == b {
		t.Errorf("two requests got the same generated id %q", a)
	}
}

func TestPanicRecovery(t *testing.T) {
	t.Parallel()
	f := setup(t)
	srv := f.server(f.config())
	const secret = "the vault code is 1234"
	srv.Handle("GET /api/boom", func(w http.ResponseWriter, r *http.Request) error {
		panic(secret)
	})

	w := get(srv, "GET", "/api/boom/", "localhost", map[string]string{"X-Request-ID": "panic-1"})
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500: %s", w.Code, w.Body)
	}
	env := checkEnvelope(t, w, taruvi.EINTERNAL)
	if env.Message != "Internal error." {
		t.Errorf("message %q, want %q", env.Message, "Internal error.")
	}
	if strings.Contains(w.Body.String(), secret) || strings.Contains(w.Body.String(), "goroutine") {
		t.Errorf("body leaks the panic: %s", w.Body)
	}
	logs := f.log.String()
	if !strings.Contains(logs, secret) || !strings.Contains(logs, `"request_id":"panic-1"`) || !strings.Contains(logs, `"stack"`) {
		t.Errorf("log lacks the panic, its request id or its stack:\n%s", logs)
	}

	// The server goes on serving after a panic.
	if w := get(srv, "GET", "/api/tenant/", "localhost", nil); w.Code != http.StatusOK {
		t.Errorf("after a panic: status %d: %s", w.Code, w.Body)
	}
}

func TestHandlerErrors(t *testing.T) {
	t.Parallel()
	f := setup(t)
	srv := f.server(f.config())
	const secret = "password=hunter2"
	srv.Handle("GET /api/invalid", func(w http.ResponseWriter, r *http.Request) error {
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "Title is required.", Fields: map[string]string{"title": "required"}}
	})
	srv.Handle("GET /api/conflict", func(w http.ResponseWriter, r *http.Request) error {
		return taruvi.Errorf(taruvi.ECONFLICT, "Exists already.")
	})
	srv.Handle("GET /api/broken", func(w http.ResponseWriter, r *http.Request) error {
		return errors.New("query failed: " + secret)
	})

	tests := []struct {
		path    string
		status  int
		code    string
		message string
		body    string
	}{
		{path: "/api/invalid", status: 400, code: taruvi.EINVALID, message: "Title is required.", body: `"errors":{"title":"required"}`},
		{path: "/api/conflict", status: 409, code: taruvi.ECONFLICT, message: "Exists already."},
		{path: "/api/broken", status: 500, code: taruvi.EINTERNAL, message: "Internal error."},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			w := get(srv, "GET", tt.path, "localhost", nil)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if env := checkEnvelope(t, w, tt.code); env.Message != tt.message {
				t.Errorf("message %q, want %q", env.Message, tt.message)
			}
			if !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("body lacks %s: %s", tt.body, w.Body)
			}
			if strings.Contains(w.Body.String(), secret) {
				t.Errorf("body leaks the cause: %s", w.Body)
			}
		})
	}
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tenant := postgrestest.NewTenant(t, f.db)
	srv := f.server(f.config())
	get(srv, "GET", "/api/tenant/", tenant.Schema+".localhost:8000", map[string]string{"X-Request-ID": "log-1"})

	var found bool
	for line := range strings.SplitSeq(strings.TrimSpace(f.log.String()), "\n") {
		var rec struct {
			Msg       string  `json:"msg"`
			RequestID string  `json:"request_id"`
			Method    string  `json:"method"`
			Host      string  `json:"host"`
			Path      string  `json:"path"`
			Tenant    string  `json:"tenant"`
			Status    int     `json:"status"`
			Bytes     int     `json:"bytes"`
			Duration  float64 `json:"duration_ms"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, line)
		}
		if rec.Msg != "request" || rec.RequestID != "log-1" {
			continue
		}
		found = true
		if rec.Tenant != tenant.Schema || rec.Status != 200 || rec.Method != "GET" || rec.Path != "/api/tenant" ||
			rec.Host != tenant.Schema+".localhost:8000" || rec.Bytes == 0 || rec.Duration <= 0 {
			t.Errorf("access log line %+v", rec)
		}
	}
	if !found {
		t.Errorf("no access log line for request log-1:\n%s", f.log.String())
	}
}
