package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"taruvi"
	"taruvi/internal/postgres/postgrestest"
)

// TestUsersPage: the users page searches, sorts and pages in the
// database, through the same list as the API.
func TestUsersPage(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tenant := postgrestest.NewTenant(t, s.db)
	email, password := s.newUser(t, tenant, true)
	ctx := taruvi.NewContextWithPrincipal(taruvi.NewContextWithTenant(context.Background(), tenant),
		&taruvi.Principal{Audience: tenant.Schema, IsOwner: true})
	for _, u := range []taruvi.UserCreate{{Email: "zoe@example.test", LastName: "Quill"}, {Email: "amy@example.test", FirstName: "Quinn"}} {
		if _, err := s.users.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	c := s.client(t)
	s.signIn(t, c, tenant.Schema, email, password)
	tests := []struct {
		query   string
		status  int
		inOrder []string
		absent  []string
	}{
		{"", 200, []string{email, "zoe@example.test", "amy@example.test"}, nil},
		{"?q=qui", 200, []string{"zoe@example.test", "amy@example.test"}, []string{email}},
		{"?q=qui&sort=email", 200, []string{"amy@example.test", "zoe@example.test"}, []string{email}},
		{"?sort=-last_name&q=example", 200, []string{"zoe@example.test"}, nil},
		{"?sort=password_hash", 400, nil, nil},
	}
	for _, tt := range tests {
		status, page, _ := get(t, c, s.url(tenant.Schema, "/admin/users/"+tt.query))
		if status != tt.status {
			t.Errorf("%s: status %d, want %d", tt.query, status, tt.status)
			continue
		}
		_, table, _ := strings.Cut(page, `<table id="users">`)
		table, _, _ = strings.Cut(table, "</table>")
		at := 0
		for _, want := range tt.inOrder {
			i := strings.Index(table[at:], want)
			if i < 0 {
				t.Errorf("%s: %s missing or out of order", tt.query, want)
				break
			}
			at += i
		}
		for _, no := range tt.absent {
			if strings.Contains(table, no) {
				t.Errorf("%s: %s listed", tt.query, no)
			}
		}
	}
	if status, _, _ := get(t, c, s.url(tenant.Schema, "/admin/users/?page=2")); status != http.StatusOK {
		t.Errorf("page 2: %d", status)
	}
}
