package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/waypost/waypost/api"
	"github.com/waypost/waypost/internal/auth"
	"github.com/waypost/waypost/internal/config"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/store"
)

const accountsUsage = `usage:
  waypost users create --email EMAIL [--name NAME] [--owner] [--password-file FILE]
      create an account; the password comes from --password-file, WAYPOST_PASSWORD_FILE,
      or a prompt (standard input when it is not a terminal)
  waypost tokens create --email EMAIL --name NAME [--read-only] [--project KEY] [--expires 720h]
      create a personal API token for an account and print it (shown only once)
`

// runAccounts runs `waypost users ...` and `waypost tokens ...`.
func runAccounts(cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprint(stderr, accountsUsage)
		return 2
	}
	fs := flag.NewFlagSet("waypost "+cmd+" create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config.Config
	apply := cfg.Options(fs)
	email := fs.String("email", "", "the account's email")
	name := fs.String("name", "", "users: display name; tokens: the token's name")
	ownerFlag := fs.Bool("owner", false, "users: make the account an instance owner")
	fs.BoolVar(ownerFlag, "admin", false, "same as --owner")
	pwFile := fs.String("password-file", os.Getenv("WAYPOST_PASSWORD_FILE"), "users: read the password from this file")
	readOnly := fs.Bool("read-only", false, "tokens: the token can only read")
	project := fs.String("project", "", "tokens: limit the token to this project")
	expires := fs.Duration("expires", 0, "tokens: expire after this long (0: never)")
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
	ctx := store.WithActor(context.Background(), "cli:"+os.Getenv("USER"))
	a := &app{cfg: &cfg, log: cfg.Logger()}
	defer a.close()
	if err := a.openPool(ctx, true); err != nil {
		fmt.Fprintln(stderr, "waypost:", err)
		return 1
	}
	st, err := a.newStore()
	if err != nil {
		fmt.Fprintln(stderr, "waypost:", err)
		return 1
	}
	if cmd == "users" {
		pw, err := readPassword(*pwFile, stdin, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "waypost:", err)
			return 1
		}
		u, err := st.CreateUser(ctx, model.CreateUser{Email: *email, Name: *name, Password: pw, Owner: *ownerFlag})
		if err != nil {
			fmt.Fprintln(stderr, "waypost: create user:", err)
			return 1
		}
		fmt.Fprintf(stdout, "created %s (id %d, owner %v)\n", u.Email, u.ID, u.Owner)
		return 0
	}
	in := model.CreateToken{Name: *name, ReadOnly: *readOnly, Project: *project}
	if *expires > 0 {
		t := time.Now().Add(*expires)
		in.ExpiresAt = &t
	}
	tok, err := st.CreatePersonalTokenFor(ctx, *email, in)
	if err != nil {
		fmt.Fprintln(stderr, "waypost: create token:", err)
		return 1
	}
	fmt.Fprintln(stdout, tok.Secret)
	return 0
}

// readPassword reads a password from file, else prompts (without echo on
// a terminal; a line of standard input otherwise).
func readPassword(file string, stdin io.Reader, stderr io.Writer) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("password file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("no password: give --password-file or type it on standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// authOptions builds the manager's sign-in options from the configuration.
func authOptions(cfg *config.Config) (auth.Params, api.AuthOptions) {
	p := auth.Params{Memory: uint32(cfg.Argon2Memory), Time: uint32(cfg.Argon2Time), Threads: uint8(cfg.Argon2Threads)}
	return p, api.AuthOptions{Sessions: store.SessionTimeouts{Idle: cfg.SessionIdle, Absolute: cfg.SessionMax}}
}

// setupAuth configures sign-in on the manager. On a database without
// accounts it makes a one-time setup token and prints the link that
// creates the first owner; it also deletes ended sessions hourly.
func setupAuth(ctx context.Context, a *app, st *store.Store, srv *api.Server) error {
	params, opts := authOptions(a.cfg)
	st.UsePasswordParams(params)
	n, err := st.CountUsers(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		tok, err := auth.NewRandom()
		if err != nil {
			return err
		}
		opts.SetupToken = tok
		// The one secret Waypost ever logs: it only works while no account exists.
		a.log.Warn("no accounts yet: open this link to create the first owner and sign in",
			"url", "http://"+a.cfg.ManagerAddr+"/setup?token="+tok,
			"or", "waypost users create --owner --email you@example.com")
	}
	oidc, err := newOIDC(ctx, a.cfg)
	if err != nil {
		return err
	}
	opts.OIDC = oidc
	srv.SetAuth(opts)
	go func() {
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := st.DeleteEndedSessions(ctx, opts.Sessions.Idle); err != nil {
					a.log.Warn("delete ended sessions", "err", err)
				}
			}
		}
	}()
	return nil
}

// newOIDC sets up single sign-on when an issuer is configured.
func newOIDC(ctx context.Context, cfg *config.Config) (*api.OIDC, error) {
	if cfg.OIDCIssuer == "" {
		return nil, nil
	}
	return api.NewOIDC(ctx, api.OIDCConfig{Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret,
		RedirectURL: cfg.OIDCRedirectURL, AllowedDomains: cfg.OIDCAllowedDomains, RoleClaim: cfg.OIDCRoleClaim})
}
