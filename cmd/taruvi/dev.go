package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"taruvi/internal/config"
	"taruvi/internal/jobs"
	"taruvi/internal/metrics"
	"taruvi/internal/postgres"
	"taruvi/internal/postgres/devserver"
)

// runDev runs the platform on one machine with nothing to configure: a
// private PostgreSQL under TARUVI_DATA_DIR unless TARUVI_DATABASE_URL names
// a server, the migrations, the demo tenant and the HTTP server, with a
// secret key kept under TARUVI_DATA_DIR unless TARUVI_SECRET_KEY is set.
// One dev at a time owns a data folder: a second is refused before it
// touches anything. Ctrl-C stops all of it, the private PostgreSQL included.
func runDev(ctx context.Context, e env) error {
	err := dev(ctx, e)
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil // Ctrl-C while starting: not a failure
	}
	return err
}

func dev(ctx context.Context, e env) error {
	fs := newFlags(e, "dev", "[--demo=false]")
	demo := fs.Bool("demo", true, "create the demo tenant acme (domain acme.localhost) with sample data if missing")
	if rest, err := parseFlags(fs, e.args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usageError("dev takes no arguments, got %q", rest)
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	// Before anything touches the data folder: a second dev on it would
	// stop the first one's PostgreSQL.
	owner, err := claimDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer owner.release()
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

	private := cfg.DatabaseURL == ""
	if private {
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

	m := metrics.New()
	db, err := openDBLogging(ctx, cfg, nil, countReads(m))
	if err != nil {
		return err
	}
	defer db.Close()
	err = migrateAll(ctx, db, postgres.MigrateOptions{Workers: cfg.MigrateWorkers}, e.stderr, false)
	if err != nil {
		return err
	}
	if *demo {
		if err := ensureDemoTenant(ctx, cfg, db, log); err != nil {
			return err
		}
	}
	return serveWith(ctx, cfg, log, db, m, func(addr net.Addr) {
		port := portOf(addr)
		if err := owner.serving("http://localhost:"+port+"/", cfg.DatabaseURL, cfg.SecretKey); err != nil {
			log.Warn("other commands will not find this database", "err", err)
		}
		printDevURLs(e.stdout, cfg, port, *demo, private)
	}, jobs.WorkerScheduler, moduleList())
}

// withDevSecret returns e with TARUVI_SECRET_KEY, when unset, taken from
// <dataDir>/secret_key, a random key made on the first run and kept so that
// what it seals survives restarts.
func withDevSecret(e env, dataDir string) (env, error) {
	if e.getenv("TARUVI_SECRET_KEY") != "" {
		return e, nil
	}
	path := filepath.Join(dataDir, devSecretFile)
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key, err = newDevSecret(path)
	}
	if err != nil {
		return e, fmt.Errorf("development secret key: %w", err)
	}
	return withSecretKey(e, strings.TrimSpace(string(key))), nil
}

// devSecretFile is the file under the data folder that holds the secret
// key `taruvi dev` makes.
const devSecretFile = "secret_key"

// withSecretKey returns e with TARUVI_SECRET_KEY set to secret.
func withSecretKey(e env, secret string) env {
	getenv := e.getenv
	e.getenv = func(name string) string {
		if name == "TARUVI_SECRET_KEY" {
			return secret
		}
		return getenv(name)
	}
	return e
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

// portOf is the port of a listening address.
func portOf(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		return strconv.Itoa(tcp.Port)
	}
	_, port, _ := net.SplitHostPort(addr.String())
	return port
}

// printDevURLs tells where everything is, ready to click or paste.
func printDevURLs(w io.Writer, cfg config.Config, port string, demo, private bool) {
	platform := "http://localhost:" + port
	tenant := "http://" + demoTenant.Domain + ":" + port
	fmt.Fprintf(w, "\nTaruvi is running (pid %d).\n\n", os.Getpid())
	fmt.Fprintf(w, "  platform:  %s/api/tenant/\n", platform)
	if demo {
		fmt.Fprintf(w, "  tenant:    %s/api/tenant/\n", tenant)
		fmt.Fprintf(w, "  API docs:  %s/api/docs/ (sign in as the tenant's owner; on %s, as a platform admin)\n", tenant, platform)
	} else {
		fmt.Fprintf(w, "  API docs:  %s/api/docs/\n", platform)
	}
	fmt.Fprintf(w, "  console:   %s/admin/ (platform admins)\n", platform)
	if demo {
		fmt.Fprintf(w, "  admin:     %s/admin/ (the tenant's owner and members)\n", tenant)
	}
	fmt.Fprintf(w, "  database:  %s\n\n", maskedDatabaseURL(cfg))
	if demo {
		fmt.Fprintf(w, "Demo platform admin: %s / %s\n", demoAdmin.Email, demoAdmin.Password)
		fmt.Fprintf(w, "Demo owner of %s: %s / %s\n\n", demoTenant.Schema, demoOwner.Email, demoOwner.Password)
		host := fmt.Sprintf("-H 'Host: %s:%s'", demoTenant.Domain, port)
		login := fmt.Sprintf(`curl -s %s -H 'Content-Type: application/json' %s/api/auth/jwt/token/ -d '{"email":"%s","password":"%s"}'`,
			host, platform, demoOwner.Email, demoOwner.Password)
		fmt.Fprintf(w, "Try:\n  curl %s %s/api/tenant/\n", host, platform)
		fmt.Fprintf(w, "  %s\n", login)
		fmt.Fprintf(w, "  curl %s -H \"Authorization: Bearer $(%s | sed 's/.*\"access\":\"\\([^\"]*\\)\".*/\\1/')\" %s/api/projects/\n\n",
			host, login, platform)
	}
	fmt.Fprintf(w, "Commands of this binary started in this folder use this database while it runs (bin/taruvi tenants list).\n")
	if private {
		fmt.Fprintf(w, "Other programs, or another folder:\n  export TARUVI_DATABASE_URL='%s'\n", cfg.DatabaseURL)
	}
	fmt.Fprintf(w, "\nPress Ctrl-C to stop.\n")
}
