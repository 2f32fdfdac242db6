package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"taruvi"
	"taruvi/internal/postgres"
)

// withTenants opens the database (that of a running `taruvi dev` when
// TARUVI_DATABASE_URL is unset) and hands the tenant service to fn.
func withTenants(ctx context.Context, e env, fn func(*postgres.DB, *postgres.Tenants) error) error {
	cfg, err := loadOperatorConfig(e)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.CheckPublic(ctx); err != nil {
		return err
	}
	return fn(db, postgres.NewTenants(db))
}

func runTenants(ctx context.Context, e env) error {
	const usage = "create|list|suspend|resume|delete|settings ..."
	if len(e.args) == 0 {
		return usageError("usage: taruvi tenants %s", usage)
	}
	sub, e := e.args[0], env{args: e.args[1:], getenv: e.getenv, stdin: e.stdin, stdout: e.stdout, stderr: e.stderr}
	switch sub {
	case "create":
		return tenantsCreate(ctx, e)
	case "list":
		return tenantsList(ctx, e)
	case "suspend", "resume":
		return tenantsSetStatus(ctx, e, sub)
	case "delete":
		return tenantsDelete(ctx, e)
	case "settings":
		return tenantsSettings(ctx, e)
	}
	return usageError("unknown tenants command %q; usage: taruvi tenants %s", sub, usage)
}

func tenantsCreate(ctx context.Context, e env) error {
	fs := newFlags(e, "tenants create", "<schema> [--name NAME] [--domain HOST]")
	name := fs.String("name", "", "display name (default: the schema name)")
	domain := fs.String("domain", "", "first domain, such as acme.example.com")
	rest, err := parseFlags(fs, e.args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError("usage: taruvi tenants create <schema> [--name NAME] [--domain HOST]")
	}
	return withTenants(ctx, e, func(_ *postgres.DB, s *postgres.Tenants) error {
		start := time.Now()
		t, err := s.CreateTenant(ctx, taruvi.TenantCreate{Schema: rest[0], Name: *name, Domain: *domain})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "created tenant %s (%q) at schema version %d in %s\n", t.Schema, t.Name, t.SchemaVersion,
			time.Since(start).Round(time.Millisecond))
		return nil
	})
}

// tenantJSON is one tenant in `tenants list --json`.
type tenantJSON struct {
	Schema        string    `json:"schema"`
	Name          string    `json:"name"`
	Status        string    `json:"status"`
	SchemaVersion int       `json:"schema_version"`
	Domains       []string  `json:"domains"`
	CreatedAt     time.Time `json:"created_at"`
}

func tenantsList(ctx context.Context, e env) error {
	fs := newFlags(e, "tenants list", "[--json]")
	asJSON := fs.Bool("json", false, "print a JSON array")
	if _, err := parseFlags(fs, e.args); err != nil {
		return err
	}
	return withTenants(ctx, e, func(db *postgres.DB, s *postgres.Tenants) error {
		tenants, err := s.ListTenants(ctx)
		if err != nil {
			return err
		}
		out := make([]tenantJSON, 0, len(tenants))
		for _, t := range tenants {
			j := tenantJSON{Schema: t.Schema, Name: t.Name, Status: t.Status, SchemaVersion: t.SchemaVersion,
				Domains: []string{}, CreatedAt: t.CreatedAt}
			for _, d := range t.Domains {
				j.Domains = append(j.Domains, d.Domain)
			}
			out = append(out, j)
		}
		if *asJSON {
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SCHEMA\tNAME\tSTATUS\tVERSION\tDOMAINS")
		for _, t := range out {
			version := fmt.Sprint(t.SchemaVersion)
			if t.SchemaVersion < db.TenantVersion() {
				version += fmt.Sprintf(" (behind %d)", db.TenantVersion())
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Schema, t.Name, t.Status, version, strings.Join(t.Domains, ","))
		}
		return tw.Flush()
	})
}

func tenantsSetStatus(ctx context.Context, e env, verb string) error {
	fs := newFlags(e, "tenants "+verb, "<schema>")
	rest, err := parseFlags(fs, e.args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError("usage: taruvi tenants %s <schema>", verb)
	}
	status := map[string]string{"suspend": taruvi.TenantSuspended, "resume": taruvi.TenantActive}[verb]
	return withTenants(ctx, e, func(_ *postgres.DB, s *postgres.Tenants) error {
		if err := s.SetTenantStatus(ctx, rest[0], status); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "tenant %s is %s\n", rest[0], status)
		return nil
	})
}

func tenantsDelete(ctx context.Context, e env) error {
	fs := newFlags(e, "tenants delete", "<schema> --yes")
	yes := fs.Bool("yes", false, "confirm: drop the tenant's schema, role and all its data")
	rest, err := parseFlags(fs, e.args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError("usage: taruvi tenants delete <schema> --yes")
	}
	if !*yes {
		return usageError("deleting tenant %s drops its schema and all its data: add --yes to confirm", rest[0])
	}
	return withTenants(ctx, e, func(_ *postgres.DB, s *postgres.Tenants) error {
		if err := s.DeleteTenant(ctx, rest[0]); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "deleted tenant %s: schema and role dropped\n", rest[0])
		return nil
	})
}

func runDomains(ctx context.Context, e env) error {
	const usage = "usage: taruvi domains add <schema> <domain> [--primary] | taruvi domains remove <domain>"
	if len(e.args) == 0 {
		return usageError(usage)
	}
	sub := e.args[0]
	fs := newFlags(e, "domains "+sub, "")
	primary := fs.Bool("primary", false, "make it the tenant's primary domain")
	rest, err := parseFlags(fs, e.args[1:])
	if err != nil {
		return err
	}
	switch {
	case sub == "add" && len(rest) == 2:
		return withTenants(ctx, e, func(_ *postgres.DB, s *postgres.Tenants) error {
			if err := s.AddDomain(ctx, rest[0], rest[1], *primary); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "domain %s now serves tenant %s\n", taruvi.NormalizeHost(rest[1]), rest[0])
			return nil
		})
	case sub == "remove" && len(rest) == 1:
		return withTenants(ctx, e, func(_ *postgres.DB, s *postgres.Tenants) error {
			if err := s.RemoveDomain(ctx, rest[0]); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "domain %s removed\n", rest[0])
			return nil
		})
	}
	return usageError(usage)
}

// tenantsSettings sets a tenant's request quota (requests per minute across
// every replica; 0 means none) and its CORS origins.
func tenantsSettings(ctx context.Context, e env) error {
	const usage = "<schema> [--quota N] [--cors-origins https://a.example,https://b.example]"
	fs := newFlags(e, "tenants settings", usage)
	quota := fs.Int("quota", -1, "requests per minute for the whole tenant; 0 removes the quota")
	origins := fs.String("cors-origins", "", "comma-separated browser origins allowed to call the tenant's API; \"-\" clears them")
	rest, err := parseFlags(fs, e.args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError("usage: taruvi tenants settings %s", usage)
	}
	var in taruvi.TenantSettings
	if *quota >= 0 {
		in.RequestQuota = quota
	}
	if *origins != "" {
		list := []string{}
		if *origins != "-" {
			list = strings.Split(*origins, ",")
		}
		in.CORSOrigins = &list
	}
	return withTenants(ctx, e, func(_ *postgres.DB, s *postgres.Tenants) error {
		t, err := s.UpdateTenantSettings(ctx, rest[0], in)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "tenant %s: request quota %d per minute, CORS origins %s\n", t.Schema, t.RequestQuota,
			strings.Join(t.CORSOrigins, ","))
		return nil
	})
}
