package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"taruvi/internal/postgres"
)

func runMigrate(ctx context.Context, e env) error {
	fs := newFlags(e, "migrate", "[--check] [--tenant SCHEMA] [--workers N] [--json]")
	check := fs.Bool("check", false, "report which tenants are behind and exit 1 if any are; change nothing")
	tenant := fs.String("tenant", "", "migrate only this tenant")
	workers := fs.Int("workers", 0, "tenants migrated at once (default TARUVI_MIGRATE_WORKERS)")
	jsonOut := fs.Bool("json", false, "JSON lines even on a terminal")
	if rest, err := parseFlags(fs, e.args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usageError("migrate takes no arguments, got %q", rest)
	}
	cfg, err := loadOperatorConfig(e)
	if err != nil {
		return err
	}
	if *workers == 0 {
		*workers = cfg.MigrateWorkers
	}
	if *workers < 1 || *workers > 256 {
		return usageError("--workers must be from 1 to 256")
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if *check {
		return migrateCheck(ctx, db, e.stdout, *jsonOut || !isTerminal(e.stdout))
	}
	return migrateAll(ctx, db, postgres.MigrateOptions{Workers: *workers, Schema: *tenant}, e.stdout, *jsonOut || !isTerminal(e.stdout))
}

func migrateCheck(ctx context.Context, db *postgres.DB, w io.Writer, asJSON bool) error {
	start := time.Now()
	c, err := db.CheckMigrations(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		_ = json.NewEncoder(w).Encode(struct {
			postgres.MigrationCheck
			OK      bool    `json:"ok"`
			Seconds float64 `json:"seconds"`
		}{c, c.OK(), time.Since(start).Seconds()})
	} else {
		fmt.Fprintf(w, "public schema: version %d of %d\n", c.PublicVersion, c.PublicWanted)
		fmt.Fprintf(w, "tenants: %d of %d current (version %d)\n", c.Current, c.Tenants, c.TenantWanted)
		if len(c.Behind) > 0 {
			shown := c.Behind[:min(len(c.Behind), 20)]
			fmt.Fprintf(w, "behind: %s", strings.Join(shown, ", "))
			if len(c.Behind) > len(shown) {
				fmt.Fprintf(w, " and %d more", len(c.Behind)-len(shown))
			}
			fmt.Fprintln(w)
		}
	}
	if !c.OK() {
		return exitError{code: 1}
	}
	return nil
}

// migrateAll applies the public set, then the tenant set, reporting each
// tenant as a JSON line or on a progress bar.
func migrateAll(ctx context.Context, db *postgres.DB, opts postgres.MigrateOptions, w io.Writer, asJSON bool) error {
	from, to, err := db.MigratePublic(ctx)
	if err != nil {
		return fmt.Errorf("public migrations: %w", err)
	}
	riverFrom, riverTo, err := migrateJobs(ctx, db)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	if asJSON {
		_ = enc.Encode(map[string]any{"event": "public", "from": from, "to": to})
		_ = enc.Encode(map[string]any{"event": "river", "from": riverFrom, "to": riverTo})
	} else {
		fmt.Fprintf(w, "public schema: version %d -> %d\n", from, to)
		fmt.Fprintf(w, "river schema: version %d -> %d\n", riverFrom, riverTo)
	}
	var bar *progressBar
	var failures []postgres.TenantResult
	opts.Progress = func(r postgres.TenantResult, done, total int) {
		if r.Err != nil {
			failures = append(failures, r)
		}
		if asJSON {
			line := map[string]any{"event": "tenant", "tenant": r.Schema, "from": r.From, "to": r.To,
				"ms": float64(r.Duration.Microseconds()) / 1000, "ok": r.Err == nil}
			if r.Err != nil {
				line["error"] = errorText(r.Err)
			}
			_ = enc.Encode(line)
			return
		}
		if bar == nil {
			bar = &progressBar{w: w}
		}
		bar.update(done, total, len(failures))
	}
	sum, err := db.MigrateTenants(ctx, opts)
	if bar != nil {
		bar.finish()
	}
	if err != nil {
		return err
	}
	if asJSON {
		_ = enc.Encode(map[string]any{"event": "done", "tenants": sum.Tenants, "migrated": sum.Migrated,
			"failed": sum.Failed, "seconds": sum.Duration.Seconds()})
	} else {
		fmt.Fprintf(w, "tenants: %d migrated, %d failed, %d to do, in %s\n", sum.Migrated, sum.Failed, sum.Tenants,
			sum.Duration.Round(time.Millisecond))
		for _, f := range failures {
			fmt.Fprintf(w, "  %s: %s\n", f.Schema, errorText(f.Err))
		}
	}
	if sum.Failed > 0 {
		return exitError{code: 1, msg: fmt.Sprintf("%d tenants failed to migrate; fix the cause and run `taruvi migrate` again to finish", sum.Failed)}
	}
	return nil
}

// progressBar draws "[=========>          ] 512/10000 tenants, 0 failed"
// in place, at most ten times a second.
type progressBar struct {
	w                  io.Writer
	done, total, fails int
	last               time.Time
}

func (b *progressBar) update(done, total, fails int) {
	b.done, b.total, b.fails = done, total, fails
	if time.Since(b.last) > 100*time.Millisecond || done == total {
		b.draw()
	}
}

func (b *progressBar) draw() {
	const width = 30
	b.last = time.Now()
	filled := width
	if b.total > 0 {
		filled = width * b.done / b.total
	}
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
	fmt.Fprintf(b.w, "\r[%s] %d/%d tenants, %d failed", bar, b.done, b.total, b.fails)
}

func (b *progressBar) finish() {
	b.draw()
	fmt.Fprintln(b.w)
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
