package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Scratch is a database created for tests or benchmarks beside the user's
// own, on the same server. Drop removes it and every role its installation
// created, since roles are shared by all databases of a server.
type Scratch struct {
	URL      string // connection URL of the new database
	Name     string
	adminURL string
	prefix   string // the installation's role prefix, once read
}

// CreateScratch creates an empty database named <prefix>_<random> on the
// server that adminURL points to.
func CreateScratch(ctx context.Context, adminURL, prefix string) (*Scratch, error) {
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	name := prefix + "_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", redactURL(adminURL), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}
	cfg, err := pgx.ParseConfig(adminURL)
	if err != nil {
		return nil, err
	}
	url := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name)
	if cfg.Password != "" {
		url = fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Password, cfg.Host, cfg.Port, name)
	}
	return &Scratch{URL: url, Name: name, adminURL: adminURL}, nil
}

// Drop drops the database and the roles its installation created. It takes
// as long as the caller's context allows: dropping ten thousand schemas
// takes minutes. The role prefix is remembered from the first attempt, so
// a retry after a failed drop still removes the roles.
func (s *Scratch) Drop(ctx context.Context) error {
	if s.prefix == "" {
		if conn, err := pgx.Connect(ctx, s.URL); err == nil {
			// No prefix before the first public migration: then no roles either.
			_ = conn.QueryRow(ctx, `SELECT role_prefix FROM public.taruvi_install`).Scan(&s.prefix)
			conn.Close(ctx)
		}
	}
	prefix := s.prefix
	conn, err := pgx.Connect(ctx, s.adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{s.Name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", s.Name, err)
	}
	if prefix == "" {
		return nil
	}
	rows, err := conn.Query(ctx, `SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY oid DESC`, prefix+"_")
	if err != nil {
		return err
	}
	roles, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	// Tenant roles first (newest oids), group and platform roles last; in
	// batches so ten thousand roles take a few statements.
	for len(roles) > 0 {
		n := min(len(roles), 500)
		stmt := "DROP ROLE IF EXISTS "
		for i, r := range roles[:n] {
			if i > 0 {
				stmt += ", "
			}
			stmt += pgx.Identifier{r}.Sanitize()
		}
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("drop roles of %s: %w", s.Name, err)
		}
		roles = roles[n:]
	}
	return nil
}
