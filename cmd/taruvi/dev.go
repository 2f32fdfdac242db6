package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"taruvi"
	"taruvi/internal/config"
	"taruvi/internal/jobs"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/devserver"
)

// The demo tenant `taruvi dev` creates, and its owner. The password is a
// fixed, printed development credential: dev serves the local machine only
// as it is meant to be used.
var (
	demoTenant = taruvi.TenantCreate{Schema: "acme", Name: "Acme", Domain: "acme.localhost"}
	demoOwner  = taruvi.UserCreate{Email: "owner@acme.test", Password: "acme-demo-password", FirstName: "Demo", LastName: "Owner", IsOwner: true}
	demoAdmin  = taruvi.UserCreate{Email: "admin@platform.test", Password: "platform-demo-password", FirstName: "Demo", LastName: "Admin"}
)

// runDev runs the platform on one machine with nothing to configure: a
// private PostgreSQL under TARUVI_DATA_DIR unless TARUVI_DATABASE_URL names
// a server, the migrations, the demo tenant and the HTTP server, with a
// secret key kept under TARUVI_DATA_DIR unless TARUVI_SECRET_KEY is set.
// Ctrl-C stops all of it, the private PostgreSQL included.
func runDev(ctx context.Context, e env) error {
	err := dev(ctx, e)
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil // Ctrl-C while starting: not a failure
	}
	return err
}

func dev(ctx context.Context, e env) error {
	fs := newFlags(e, "dev", "[--demo=false]")
	demo := fs.Bool("demo", true, "create the demo tenant acme (domain acme.localhost) if missing")
	if rest, err := parseFlags(fs, e.args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usageError("dev takes no arguments, got %q", rest)
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	if e, err = withDevSecret(e, cfg.DataDir); err != nil {
		return err
	}
	if cfg, err = loadConfig(e); err != nil {
		return err
	}
	if e.getenv("TARUVI_LOG_FORMAT") == "" {
		cfg.LogFormat = "text" // for people, unless asked otherwise
	}
	log := newLogger(cfg, e.stderr)

	if cfg.DatabaseURL == "" {
		dir := filepath.Join(cfg.DataDir, "postgres")
		log.Info("starting a private PostgreSQL", "dir", dir)
		pg, err := devserver.Start(ctx, devserver.Options{Dir: dir, Notices: e.stderr})
		if err != nil {
			return fmt.Errorf("private PostgreSQL (or set TARUVI_DATABASE_URL): %w", err)
		}
		defer func() {
			if err := pg.Stop(); err != nil {
				log.Error("stop the private PostgreSQL", "err", err)
				return
			}
			log.Info("private PostgreSQL stopped", "dir", pg.Dir)
		}()
		log.Info("private PostgreSQL ready", "port", pg.Port, "dir", pg.Dir)
		cfg.DatabaseURL = pg.URL
	}

	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	err = migrateAll(ctx, db, postgres.MigrateOptions{Workers: cfg.MigrateWorkers}, e.stderr, false)
	if err != nil {
		return err
	}
	if *demo {
		if err := ensureDemoTenant(ctx, db, log); err != nil {
			return err
		}
	}
	return serveWith(ctx, cfg, log, db, func(addr net.Addr) {
		printDevURLs(e.stdout, cfg, addr, *demo)
	}, jobs.WorkerScheduler)
}

// withDevSecret returns e with TARUVI_SECRET_KEY, when unset, taken from
// <dataDir>/secret_key, a random key made on the first run and kept so that
// what it seals survives restarts.
func withDevSecret(e env, dataDir string) (env, error) {
	if e.getenv("TARUVI_SECRET_KEY") != "" {
		return e, nil
	}
	path := filepath.Join(dataDir, "secret_key")
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key, err = newDevSecret(path)
	}
	if err != nil {
		return e, fmt.Errorf("development secret key: %w", err)
	}
	secret, getenv := strings.TrimSpace(string(key)), e.getenv
	e.getenv = func(name string) string {
		if name == "TARUVI_SECRET_KEY" {
			return secret
		}
		return getenv(name)
	}
	return e, nil
}

func newDevSecret(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	raw := make([]byte, 48)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	key := []byte(base64.StdEncoding.EncodeToString(raw))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(append(key, '\n')); err != nil {
		f.Close()
		return nil, err
	}
	return key, f.Close()
}

// ensureDemoTenant creates the demo tenant with its owner, and the demo
// platform admin, unless they exist.
func ensureDemoTenant(ctx context.Context, db *postgres.DB, log *slog.Logger) error {
	users := postgres.NewUsers(db, postgres.NewAuthz(db, slog.New(slog.DiscardHandler)))
	platform, err := operatorContext(ctx, db, "")
	if err != nil {
		return err
	}
	if _, err := users.CreateUser(platform, demoAdmin); err != nil && taruvi.ErrorCode(err) != taruvi.ECONFLICT {
		return fmt.Errorf("create the demo platform admin: %w", err)
	}
	if _, err := db.FindTenant(ctx, demoTenant.Schema); err == nil {
		log.Info("demo tenant exists", "tenant", demoTenant.Schema)
		return nil
	} else if taruvi.ErrorCode(err) != taruvi.ENOTFOUND {
		return err
	}
	_, err = db.CreateTenant(ctx, demoTenant)
	switch taruvi.ErrorCode(err) {
	case "":
		log.Info("demo tenant created", "tenant", demoTenant.Schema, "domain", demoTenant.Domain)
	case taruvi.ECONFLICT: // made meanwhile by another process
		log.Info("demo tenant exists", "tenant", demoTenant.Schema)
	default:
		return fmt.Errorf("create the demo tenant: %w", err)
	}
	opCtx, err := operatorContext(ctx, db, demoTenant.Schema)
	if err != nil {
		return err
	}
	if _, err := users.CreateUser(opCtx, demoOwner); err != nil && taruvi.ErrorCode(err) != taruvi.ECONFLICT {
		return fmt.Errorf("create the demo owner: %w", err)
	}
	return nil
}

// printDevURLs tells where everything is, ready to click or paste.
func printDevURLs(w io.Writer, cfg config.Config, addr net.Addr, demo bool) {
	port := ""
	if tcp, ok := addr.(*net.TCPAddr); ok {
		port = strconv.Itoa(tcp.Port)
	} else if _, p, err := net.SplitHostPort(addr.String()); err == nil {
		port = p
	}
	database := cfg.DatabaseURL
	for _, entry := range cfg.Entries() {
		if entry.Name == "TARUVI_DATABASE_URL" {
			database = entry.Value // password masked
		}
	}
	fmt.Fprintf(w, "\nTaruvi is running.\n\n")
	fmt.Fprintf(w, "  platform:  http://localhost:%s/api/tenant/\n", port)
	if demo {
		fmt.Fprintf(w, "  tenant:    http://%s:%s/api/tenant/\n", demoTenant.Domain, port)
	}
	fmt.Fprintf(w, "  database:  %s\n", database)
	fmt.Fprintf(w, "  API docs:  http://localhost:%s/api/docs/\n", port)
	fmt.Fprintf(w, "  console:   http://localhost:%s/admin/ (platform admins)\n", port)
	if demo {
		fmt.Fprintf(w, "  admin:     http://%s:%s/admin/ (the tenant's owner and members)\n", demoTenant.Domain, port)
	}
	fmt.Fprintln(w)
	if demo {
		fmt.Fprintf(w, "Demo platform admin: %s / %s\n", demoAdmin.Email, demoAdmin.Password)
		fmt.Fprintf(w, "Demo owner of %s: %s / %s\n\n", demoTenant.Schema, demoOwner.Email, demoOwner.Password)
		fmt.Fprintf(w, "Try:\n  curl -H 'Host: %s:%s' http://localhost:%s/api/tenant/\n", demoTenant.Domain, port, port)
		fmt.Fprintf(w, "  curl -H 'Host: %s:%s' -H 'Content-Type: application/json' http://localhost:%s/api/auth/jwt/token/ -d '{\"email\":\"%s\",\"password\":\"%s\"}'\n\n",
			demoTenant.Domain, port, port, demoOwner.Email, demoOwner.Password)
	}
	fmt.Fprintf(w, "Press Ctrl-C to stop.\n")
}
