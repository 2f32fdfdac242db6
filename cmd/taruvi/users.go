package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"taruvi"
	"taruvi/internal/postgres"
	"taruvi/internal/token"
)

// operatorContext is the scope of a command-line operation: the tenant
// named by schema (or the platform when empty), with a principal that may
// do everything there.
func operatorContext(ctx context.Context, db *postgres.DB, schema string) (context.Context, error) {
	if schema != "" {
		t, err := db.FindTenant(ctx, schema)
		if err != nil {
			return nil, err
		}
		ctx = taruvi.NewContextWithTenant(ctx, t)
	}
	return taruvi.NewContextWithPrincipal(ctx, &taruvi.Principal{
		Audience: taruvi.AudienceFromContext(ctx), IsOwner: true, IsAdmin: true}), nil
}

// readPassword takes a password from the first line of stdin, or makes one
// when fromStdin is false (the caller prints it once).
func readPassword(stdin io.Reader, fromStdin bool) (pw string, generated bool, err error) {
	if !fromStdin {
		var b [18]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", false, err
		}
		return base64.RawURLEncoding.EncodeToString(b[:]), true, nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false, fmt.Errorf("read password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), false, nil
}

func runUsers(ctx context.Context, e env) error {
	const usage = "usage: taruvi users create --tenant SCHEMA --email EMAIL [--owner] [--password-stdin] | create-platform-admin --email EMAIL [--password-stdin] | set-password [--tenant SCHEMA] --email EMAIL [--password-stdin]"
	if len(e.args) == 0 {
		return usageError(usage)
	}
	sub := e.args[0]
	fs := newFlags(e, "users "+sub, "")
	tenant := fs.String("tenant", "", "the tenant's schema (omit for the platform)")
	email := fs.String("email", "", "the user's email")
	username := fs.String("username", "", "the user's username (default: the email)")
	first := fs.String("first-name", "", "first name")
	last := fs.String("last-name", "", "last name")
	owner := fs.Bool("owner", false, "make the user an owner of the tenant")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin (default: generate one and print it once)")
	rest, err := parseFlags(fs, e.args[1:])
	if err != nil {
		return err
	}
	switch {
	case len(rest) > 0:
		return usageError(usage)
	case *email == "":
		return usageError("--email is required; %s", usage)
	case sub == "create" && *tenant == "":
		return usageError("--tenant is required (use create-platform-admin for the platform)")
	case sub == "create-platform-admin" && (*tenant != "" || *owner):
		return usageError("create-platform-admin takes no --tenant or --owner")
	case sub != "create" && sub != "create-platform-admin" && sub != "set-password":
		return usageError(usage)
	}
	pw, generated, err := readPassword(e.stdin, *fromStdin)
	if err != nil {
		return err
	}
	if err := token.ValidatePassword(pw, *email); err != nil {
		return err
	}
	return withTenants(ctx, e, func(db *postgres.DB, _ *postgres.Tenants) error {
		ctx, err := operatorContext(ctx, db, *tenant)
		if err != nil {
			return err
		}
		users, _ := operatorUsers(db)
		if sub == "set-password" {
			if err := users.SetPasswordAsOperator(ctx, *email, pw); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "password set for %s; their sessions have ended\n", *email)
		} else {
			u, err := users.CreateUser(ctx, taruvi.UserCreate{Email: *email, Username: *username, Password: pw,
				FirstName: *first, LastName: *last, IsOwner: *owner})
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "created user %d <%s> in %s\n", u.ID, u.Email, taruvi.AudienceFromContext(ctx))
		}
		if generated {
			fmt.Fprintf(e.stdout, "password (shown once): %s\n", pw)
		}
		return nil
	})
}
