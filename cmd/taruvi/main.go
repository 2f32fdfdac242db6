// Command taruvi is the Taruvi platform in one binary: the server, the
// migrator, the tenant and user tools, the development mode and the
// benchmarks.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"taruvi"
	"taruvi/internal/config"
	"taruvi/internal/postgres"
)

func main() {
	// One P more than the cores: password hashes may take every core (the
	// hasher runs GOMAXPROCS less one at once) while the requests that hash
	// nothing still find a P at once; the kernel shares the cores among
	// the threads. An explicit GOMAXPROCS is left as it is.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var exit exitError
		if !errors.As(err, &exit) || exit.msg != "" {
			fmt.Fprintln(os.Stderr, "taruvi:", errorText(err))
		}
		if errors.As(err, &exit) {
			os.Exit(exit.code)
		}
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(1)
	}
}

// exitError ends the program with a status of its own (2 for usage, 1 for
// "some tenants failed") after its message, if any, was printed.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

func usageError(format string, args ...any) error {
	return exitError{code: 2, msg: fmt.Sprintf(format, args...)}
}

// errorText shows a *taruvi.Error by its message and anything else whole.
func errorText(err error) string {
	var e *taruvi.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// env is what every command gets: its arguments, configuration and streams.
type env struct {
	args   []string
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e env) error
}

func commands() []command {
	return []command{
		{"serve", "serve the HTTP API", runServe},
		{"worker", "work background jobs until SIGTERM", runWorker},
		{"scheduler", "enqueue periodic jobs and run job maintenance (one leader at a time)", runScheduler},
		{"dev", "run everything locally: private PostgreSQL, demo tenant, server, worker, scheduler", runDev},
		{"migrate", "apply public and tenant migrations (--check, --tenant, --workers)", runMigrate},
		{"tenants", "create, list, suspend, resume and delete tenants", runTenants},
		{"domains", "add and remove tenant domains", runDomains},
		{"users", "create users and platform admins, set passwords", runUsers},
		{"keys", "rotate the JWT signing key", runKeys},
		{"bench", "measure provisioning, migrations, the API, datatables and jobs (provision, migrate, auth, api, datatables, jobs)", runBench},
		{"openapi", "print the OpenAPI document of the HTTP API", runOpenAPI},
		{"config", "print the effective configuration, secrets masked", runConfig},
		{"version", "print the version", runVersion},
	}
}

// run is the whole program; main only adds the process around it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(stdout)
		if len(args) == 0 {
			return usageError("")
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, env{args: args[1:], getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr})
		}
	}
	printUsage(stderr)
	return usageError("unknown command %q", args[0])
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: taruvi <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun `taruvi <command> -h` for a command's flags. Configuration comes from TARUVI_* variables (`taruvi config`).")
}

// newFlags returns a flag set whose errors and help go to stderr.
func newFlags(e env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("taruvi "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: taruvi %s %s\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, allowing flags after positional arguments
// (`tenants create acme --name Acme`), and returns the positional ones.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, exitError{code: 2}
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func loadConfig(e env) (config.Config, error) {
	cfg, err := config.Load(e.getenv)
	if err != nil {
		return cfg, fmt.Errorf("invalid configuration: %w", err)
	}
	return cfg, nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// openDB opens the configured database. Commands other than dev need
// TARUVI_DATABASE_URL.
func openDB(ctx context.Context, cfg config.Config) (*postgres.DB, error) {
	return openDBLogging(ctx, cfg, nil, nil)
}

// openDBLogging opens the database logging statements slower than
// TARUVI_SLOW_QUERY to log (none when log is nil), with observeReads (when
// set) counting the read cache's lookups.
func openDBLogging(ctx context.Context, cfg config.Config, log *slog.Logger, observeReads func(hit bool)) (*postgres.DB, error) {
	if cfg.DatabaseURL == "" {
		return nil, errors.New("TARUVI_DATABASE_URL is not set, and no `taruvi dev` runs on TARUVI_DATA_DIR " +
			"(while one runs, migrate, tenants, domains, users and keys started in the same folder use its database)")
	}
	return postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{
		MaxConns:      int32(cfg.DBMaxConns),
		LockTimeout:   cfg.LockTimeout,
		MigrationSets: moduleMigrationSets(),
		ReadCacheTTL:  cfg.ReadCacheTTL,
		ObserveReads:  observeReads,
		SlowQuery:     cfg.Ops.SlowQuery,
		Sandbox:       postgres.SandboxOptions{Secret: []byte(cfg.SecretKey)},
		Log:           log,
	})
}

func runVersion(_ context.Context, e env) error {
	fmt.Fprintln(e.stdout, "taruvi", taruvi.Version)
	return nil
}

func runConfig(_ context.Context, e env) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	for _, entry := range cfg.Entries() {
		fmt.Fprintf(e.stdout, "%s=%s\n", entry.Name, entry.Value)
	}
	return nil
}
