// Command pgctl starts and stops the private PostgreSQL server of package
// devserver, for scripts:
//
//	go run ./internal/postgres/devserver/pgctl start --dir DIR   # prints the URL; the server keeps running
//	go run ./internal/postgres/devserver/pgctl stop --dir DIR [--remove]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"taruvi/internal/postgres/devserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgctl:", err)
		os.Exit(1)
	}
}

const usage = "usage: pgctl start --dir DIR | pgctl stop --dir DIR [--remove]"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("pgctl "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "data directory of the cluster (required)")
	remove := fs.Bool("remove", false, "stop: also delete the data directory")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *dir == "" || fs.NArg() > 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "start":
		srv, err := devserver.Start(ctx, devserver.Options{Dir: *dir, Notices: stderr})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, srv.URL)
		return nil
	case "stop":
		if *remove {
			return devserver.Remove(*dir)
		}
		return devserver.Stop(*dir)
	}
	return errors.New(usage)
}
