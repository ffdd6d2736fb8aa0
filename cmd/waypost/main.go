// Command waypost is the one Waypost binary. Subcommands:
//
//	waypost migrate    apply database migrations (Waypost's and River's), creating the database if needed
//	waypost manager    serve the management REST API (and the dashboard)
//	waypost worker     run background jobs (River)
//	waypost provider   serve flags to SDKs (SSE, OFREP)
//	waypost all        migrate, then run manager, worker and provider in one process
//	waypost users      create an account (waypost users create --owner --email ...)
//	waypost tokens     create a personal API token (waypost tokens create --email ... --name ...)
//	waypost version    print the version
//
// Configuration comes from flags or WAYPOST_* environment variables; run
// `waypost <subcommand> -h` for the list. SIGINT/SIGTERM shut down gracefully.
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

	"github.com/waypost/waypost/internal/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage: waypost <command> [flags]

commands:
  migrate    apply database migrations (creates the database if missing)
  manager    serve the management REST API and dashboard
  worker     run background jobs
  provider   serve flags to SDKs
  all        migrate, then run manager, worker and provider in one process
  users      create an account: waypost users create --owner --email you@example.com
  tokens     create an API token: waypost tokens create --email you@example.com --name ci
  version    print the version

Run 'waypost <command> -h' for the configuration flags.
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd := args[0]
	roles := map[string]func(context.Context, *app) error{
		"migrate":  runMigrate,
		"manager":  runManager,
		"worker":   runWorker,
		"provider": runProvider,
		"all":      runAll,
	}
	switch cmd {
	case "users", "tokens":
		return runAccounts(cmd, args[1:], os.Stdin, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "waypost", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	role, ok := roles[cmd]
	if !ok {
		fmt.Fprintf(stderr, "waypost: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	fs := flag.NewFlagSet("waypost "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config.Config
	apply := cfg.Options(fs)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := apply(); err != nil {
		fmt.Fprintln(stderr, "waypost:", err)
		return 2
	}
	log := cfg.Logger()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{cfg: &cfg, log: log}
	defer a.close()
	log.Info("starting", "command", cmd, "version", version, "config", &cfg)
	if cfg.DebugAddr != "" {
		go serveDebug(cfg.DebugAddr, log)
	}
	if err := role(ctx, a); err != nil {
		log.Error("stopped with error", "command", cmd, "err", err)
		return 1
	}
	log.Info("stopped", "command", cmd)
	return 0
}
