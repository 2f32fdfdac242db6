package admin_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/postgres/postgrestest"
)

// TestFileUploadInAnyOrder: the upload form is taken with its file before
// or after its fields; a file sent first waits in a temporary file, within
// the size limit, and is kept only when the token and the project are good.
func TestFileUploadInAnyOrder(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tenant := postgrestest.NewTenant(t, s.db)
	email, password := s.newUser(t, tenant, true)
	c := s.client(t)
	s.signIn(t, c, tenant.Schema, email, password)
	_, page, _ := get(t, c, s.url(tenant.Schema, "/admin/projects/"))
	status, _, h := post(t, c, s.url(tenant.Schema, "/admin/projects/"), url.Values{"csrf": {csrfOf(t, page)}, "name": {"Apollo"}})
	project := strings.Trim(strings.TrimPrefix(h.Get("Location"), "/admin/projects/"), "/")
	if status != http.StatusSeeOther || project == "" {
		t.Fatalf("create project: %d, location %q", status, h.Get("Location"))
	}
	_, page, _ = get(t, c, s.url(tenant.Schema, "/admin/files/"))
	csrf := csrfOf(t, page)
	type part struct{ name, value string }
	token, proj := part{"csrf", csrf}, part{"project_id", project}
	file := func(content string) part { return part{"file", content} }
	for _, u := range []struct {
		name   string
		parts  []part
		status int
		stored string // the content kept, if any
	}{
		{"fields first", []part{token, proj, file("first")}, http.StatusSeeOther, "first"},
		{"file first", []part{file("spooled"), token, proj}, http.StatusSeeOther, "spooled"},
		{"file between", []part{token, file("between"), proj}, http.StatusSeeOther, "between"},
		{"file first, exactly the limit", []part{file(strings.Repeat("f", 1<<20)), proj, token}, http.StatusSeeOther, strings.Repeat("f", 1<<20)},
		{"file first, over the limit", []part{file(strings.Repeat("b", 1<<20+1)), token, proj}, http.StatusRequestEntityTooLarge, ""},
		{"file first, a wrong token", []part{file("forged"), {"csrf", "x" + csrf[1:]}, proj}, http.StatusForbidden, ""},
		{"file first, no token", []part{file("forged"), proj}, http.StatusForbidden, ""},
		{"file first, an unknown project", []part{file("lost"), token, {"project_id", "999999"}}, http.StatusNotFound, ""},
		{"no file", []part{token, proj}, http.StatusBadRequest, ""},
		{"file first, from another site", []part{file("forged"), token, proj}, http.StatusForbidden, ""},
	} {
		t.Run(u.name, func(t *testing.T) {
			before := s.fileContents(t, tenant)
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			for _, p := range u.parts {
				if p.name == "file" {
					w, _ := mw.CreateFormFile("file", "notes.txt")
					_, _ = io.WriteString(w, p.value)
				} else {
					_ = mw.WriteField(p.name, p.value)
				}
			}
			_ = mw.Close()
			req, _ := http.NewRequest("POST", s.url(tenant.Schema, "/admin/files/"), &body)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			if strings.HasSuffix(u.name, "from another site") {
				req.Header.Set("Origin", "http://evil.test")
			}
			res, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != u.status {
				t.Errorf("status %d, want %d\n%s", res.StatusCode, u.status, page)
			}
			after := s.fileContents(t, tenant)
			switch {
			case u.stored == "" && len(after) != len(before):
				t.Errorf("a file was kept: %d files, %d before", len(after), len(before))
			case u.stored != "" && (len(after) != len(before)+1 || after[len(after)-1] != u.stored):
				t.Errorf("%d files, %d before; want the upload kept", len(after), len(before))
			}
			if left, _ := os.ReadDir(s.spool); len(left) > 0 {
				t.Errorf("temporary files left behind: %v", left)
			}
		})
	}
}

// fileContents returns the content of every file of tenant, oldest first.
func (s *stack) fileContents(t *testing.T, tenant *taruvi.Tenant) []string {
	t.Helper()
	ctx := taruvi.NewContextWithTenant(context.Background(), tenant)
	var keys []string
	err := s.db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT storage_key FROM files ORDER BY id`)
		var err error
		keys, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var contents []string
	for _, key := range keys {
		rc, _, err := s.blobs.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		contents = append(contents, string(b))
	}
	return contents
}
