package api_test

import (
	"net/http"
	"testing"
)

// securityHeaders are on every response, whoever writes it.
var securityHeaders = []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"}

func checkSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	for _, name := range securityHeaders {
		if h.Get(name) == "" {
			t.Errorf("%s: no %s header", what, name)
		}
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("%s: X-Content-Type-Options %q, X-Frame-Options %q", what, h.Get("X-Content-Type-Options"), h.Get("X-Frame-Options"))
	}
	if h.Get("Strict-Transport-Security") != "" {
		t.Errorf("%s: HSTS on plain HTTP without a trusted proxy", what)
	}
}

// TestSecurityHeadersEveryKind checks the headers on a JSON answer, an
// error, the docs page and its script, the OpenAPI document, a file
// download and a file upload.
func TestSecurityHeadersEveryKind(t *testing.T) {
	t.Parallel()
	s := newFileStack(t, fileLimit)
	ft := newFileTenant(t, s)
	o, h := ft.owner.cred, ft.host
	ct, body := multipartBody(t, field("project", ft.vars["p1"]), filePart("report.pdf", "application/pdf", pdf))
	status, created := s.post(t, h, o, "req-sec-upload", ct, textBody(body))
	if status != 201 {
		t.Fatalf("upload: %d %s", status, created)
	}
	fileID, err := lookup(created, "data.id")
	if err != nil {
		t.Fatal(err)
	}
	download := s.download(t, h, o, fileID)
	if download.status != 200 || download.body != pdf {
		t.Fatalf("download: %d %q", download.status, download.body)
	}
	checkSecurityHeaders(t, "file download", download.header)

	for _, c := range []struct{ name, path, auth string }{
		{"JSON", "/api/projects/", o},
		{"error 401", "/api/projects/", "Bearer nonsense"},
		{"error 404", "/api/nothing-here/", o},
		{"docs page", "/api/docs/", ""},
		{"docs script", "/api/docs/docs.js", ""},
		{"OpenAPI", "/api/schema/", ""},
		{"health", "/health/live", ""},
	} {
		res := s.request(t, "GET", h, c.path, nil, map[string]string{"Authorization": c.auth})
		checkSecurityHeaders(t, c.name, res.header)
	}
	unknown := s.request(t, "GET", "nosuchtenant.localhost", "/api/projects/", nil, nil)
	if unknown.status != 404 {
		t.Errorf("unknown host: %d", unknown.status)
	}
	checkSecurityHeaders(t, "unknown host", unknown.header)
}
