// Package devserver runs a private PostgreSQL server from the installed
// server programs, for `taruvi dev` and for the test script.
//
// The server is for development and tests only: it trusts every connection
// from 127.0.0.1, listens on nowhere else, and runs with fsync off. Its
// cluster lives in a data directory the caller names; Start creates it with
// initdb on first use and reuses it afterwards.
//
// PostgreSQL refuses to run as root. A root process runs the server as the
// postgres system user (or nobody) and gives that user the data directory.
// When that user cannot reach the directory (one inside /root, say), the
// cluster lives in a folder under the system's temporary folder instead,
// the same one on every run for the same directory, and Start says so.
package devserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Options configure Start.
type Options struct {
	// Dir is the data directory of the cluster, created if missing.
	Dir string
	// Notices receives the messages meant for the person running the server:
	// a fallback data directory, a server left running by an earlier run.
	// Nil discards them.
	Notices io.Writer
}

// Server is a running private PostgreSQL server.
type Server struct {
	Dir  string // the data directory in use: Options.Dir, or its fallback
	Port int    // the TCP port on 127.0.0.1
	URL  string // postgres://postgres@127.0.0.1:<Port>/postgres?sslmode=disable

	setup *setup
}

// setup is everything about a data directory that pg_ctl calls need.
type setup struct {
	dir     string
	sockets string
	owner   *owner
	bin     Binaries
}

// Start starts a server on the cluster in opts.Dir, creating the cluster on
// first use, on a free port of 127.0.0.1. A server that an earlier run left
// running on the same data directory is stopped first, so the new one
// always runs with this run's settings: the caller makes sure that run has
// ended (taruvi dev holds a lock on its data folder for that). The server
// keeps running after the calling process exits; Stop (or the package's
// Stop) ends it.
func Start(ctx context.Context, opts Options) (*Server, error) {
	notices := opts.Notices
	if notices == nil {
		notices = io.Discard
	}
	s, err := prepare(opts.Dir, notices, true)
	if err != nil {
		return nil, err
	}
	if err := s.initCluster(ctx); err != nil {
		return nil, err
	}
	if s.running() {
		fmt.Fprintf(notices, "stopping the PostgreSQL server an earlier run left running on %s\n", s.dir)
		if err := s.stop(); err != nil {
			return nil, err
		}
	}
	if err := s.owner.makePrivateDir(s.sockets); err != nil {
		return nil, fmt.Errorf("socket folder: %w", err)
	}
	var port int
	for attempt := 1; ; attempt++ {
		if port, err = freePort(); err != nil {
			return nil, err
		}
		err = s.start(ctx, port)
		// Another program may take the port between freePort and the start.
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "could not bind") {
			break
		}
	}
	if err != nil {
		_ = s.stop()
		return nil, err
	}
	return &Server{
		Dir:   s.dir,
		Port:  port,
		URL:   fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port),
		setup: s,
	}, nil
}

// Stop stops the server (fast shutdown: open sessions are ended) and waits
// for it to exit. Stopping a stopped server does nothing.
func (srv *Server) Stop() error {
	return srv.setup.stop()
}

// Stop stops a server that Start (in this or another process) started on
// the cluster for dir. No server running is not an error.
func Stop(dir string) error {
	s, err := prepare(dir, io.Discard, false)
	if err != nil {
		return err
	}
	return s.stop()
}

// Remove stops the server on the cluster for dir, if any, and deletes the
// cluster's data directory: dir, or its fallback.
func Remove(dir string) error {
	s, err := prepare(dir, io.Discard, false)
	if err != nil {
		return err
	}
	if err := s.stop(); err != nil {
		return err
	}
	return os.RemoveAll(s.dir)
}

// prepare finds the programs and the data directory in use for dir,
// creating that directory when create is set.
func prepare(dir string, notices io.Writer, create bool) (*setup, error) {
	if dir == "" {
		return nil, errors.New("no data directory given for the private PostgreSQL server")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	o, err := serverOwner()
	if err != nil {
		return nil, err
	}
	s := &setup{dir: abs, owner: o}
	if create {
		// Folders above the cluster are made open so the owner can reach it.
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			return nil, fmt.Errorf("create the PostgreSQL data directory: %w", err)
		}
	}
	if !o.canTraverse(abs) {
		s.dir = fallbackDir(abs)
		if create {
			fmt.Fprintf(notices, "PostgreSQL data in %s: user %s cannot reach %s\n", s.dir, o.name, abs)
		}
	}
	s.sockets = socketDir(s.dir)
	if create {
		if err := os.MkdirAll(s.dir, 0o700); err != nil {
			return nil, fmt.Errorf("create the PostgreSQL data directory: %w", err)
		}
		if err := os.Chmod(s.dir, 0o700); err != nil {
			return nil, err
		}
		if err := o.chownAll(s.dir); err != nil {
			return nil, fmt.Errorf("give %s to user %s: %w", s.dir, o.name, err)
		}
	}
	all, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	major, err := clusterMajor(s.dir)
	if err != nil {
		return nil, err
	}
	if s.bin, err = pickBinaries(all, major, s.dir); err != nil {
		return nil, err
	}
	return s, nil
}

// initCluster runs initdb unless the directory holds a cluster already.
func (s *setup) initCluster(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(s.dir, "PG_VERSION")); err == nil {
		return nil
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is neither empty nor a PostgreSQL data directory: remove it or choose another", s.dir)
	}
	_, err = s.run(ctx, s.bin.InitDB, "-D", s.dir, "-A", "trust", "-U", "postgres", "-E", "UTF8",
		"--locale=C", "--no-sync")
	if err != nil {
		_ = clearDir(s.dir) // a half-made cluster would block the next run
		return fmt.Errorf("initdb: %w", err)
	}
	return nil
}

// start runs pg_ctl start and waits until the server accepts connections.
func (s *setup) start(ctx context.Context, port int) error {
	logFile := filepath.Join(s.dir, "server.log")
	options := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off", port, shellQuote(s.sockets))
	_, err := s.run(ctx, s.bin.PGCtl, "start", "-w", "-t", "60", "-D", s.dir, "-l", logFile, "-o", options)
	if err != nil {
		return fmt.Errorf("start PostgreSQL: %w%s", err, logTail(logFile))
	}
	return nil
}

// running reports whether a server runs on the data directory.
func (s *setup) running() bool {
	_, err := s.run(context.Background(), s.bin.PGCtl, "status", "-D", s.dir)
	return err == nil
}

func (s *setup) stop() error {
	if _, err := os.Stat(filepath.Join(s.dir, "postmaster.pid")); err != nil {
		_ = os.RemoveAll(s.sockets)
		return nil
	}
	if s.running() {
		if _, err := s.run(context.Background(), s.bin.PGCtl, "stop", "-w", "-t", "60", "-m", "fast", "-D", s.dir); err != nil {
			return fmt.Errorf("stop PostgreSQL on %s: %w", s.dir, err)
		}
	}
	_ = os.RemoveAll(s.sockets)
	return nil
}

// run runs a PostgreSQL program as the server's owner and returns its
// output, or an error that includes it.
func (s *setup) run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = s.owner.credential()
	cmd.Dir = "/" // the owner may not be able to enter our working folder
	cmd.Env = serverEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// pg_ctl start hands the server its own output; never wait on a pipe
	// that a leftover process keeps open.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err != nil && ctx.Err() != nil {
		return out.String(), fmt.Errorf("%s %s: %w", filepath.Base(name), args[0], ctx.Err())
	}
	if err != nil {
		if msg := strings.TrimSpace(out.String()); msg != "" {
			return out.String(), fmt.Errorf("%s %s: %w: %s", filepath.Base(name), args[0], err, msg)
		}
		return out.String(), fmt.Errorf("%s %s: %w", filepath.Base(name), args[0], err)
	}
	return out.String(), nil
}

// serverEnv is our environment without the PG* variables, which would
// override the settings given on the command line, and in the C locale.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// logTail returns the last lines of the server log, for error messages.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	lines = lines[max(0, len(lines)-15):]
	return "\nlast lines of " + path + ":\n" + strings.Join(lines, "\n")
}

func clearDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
