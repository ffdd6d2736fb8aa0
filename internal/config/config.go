// Package config holds Waypost's settings. Each option has a command-line
// flag, a WAYPOST_* environment variable, a default that works against a
// local PostgreSQL, and a validator; secrets are never printed (String
// masks them) and may be read from a file with the _FILE variant of their
// variable (WAYPOST_WEBHOOK_SECRET_FILE=/run/secrets/...).
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"
)

// Config is the whole configuration of one waypost process.
type Config struct {
	DatabaseURL   string
	ManagerAddr   string
	ProviderAddr  string
	ProviderURL   string // how workers reach this provider (webhook base URL); derived from ProviderAddr when empty
	LogFormat     string
	LogLevel      slog.Level
	WebhookSecret string
	SecretKey     string
	ShutdownGrace time.Duration
	SnapshotFile  string   // provider: last good state on disk ("" = none)
	CORSOrigins   []string // provider: browser origins allowed on OFREP
	// ExposuresSchedule is the UTC time of day ("03:00") of the nightly
	// exposures pipeline; "off" disables it.
	ExposuresSchedule string
	// ResultsSchedule is the UTC time of day of an automatic results
	// refresh of every running experiment; "off" (default) disables it.
	ResultsSchedule string
	DebugAddr       string // net/http/pprof listen address; empty = off
	// ProviderPublicURL is the provider's base URL as browsers and SDKs
	// reach it (https://flags.example.com); OFREP's eventStreams URL is
	// built from it. Empty: the stream is advertised as a path relative to
	// the client's configured base URL, never from the request's Host.
	ProviderPublicURL string
	WorkerAddr        string // worker: listen address of /healthz, /readyz, /metrics; empty = no listener
	MetricsToken      string // manager: bearer token required on /metrics; empty = open

	// Accounts (issue 9).
	Argon2Memory       uint64        // KiB per password hash
	Argon2Time         uint64        // argon2id passes
	Argon2Threads      uint64        // argon2id lanes
	SessionIdle        time.Duration // a session unused this long ends
	SessionMax         time.Duration // a session ends this long after sign-in
	OIDCIssuer         string        // OpenID provider URL; empty: no single sign-on
	OIDCClientID       string
	OIDCClientSecret   string
	OIDCRedirectURL    string   // public URL of /api/v1/auth/oidc/callback (default from manager-addr)
	OIDCAllowedDomains []string // email domains allowed to sign in (empty: any)
	OIDCRoleClaim      string   // claim naming the role in the default project (viewer, editor, admin, owner)
}

type option struct {
	name, env, usage string
	secret           bool
	set              func(string) error
	get              func() string
}

// Options binds every option to fs and returns a function that applies
// environment variables (for options not given as flags) and validates.
func (c *Config) Options(fs *flag.FlagSet) func() error {
	opts := []option{
		{name: "database-url", env: "WAYPOST_DATABASE_URL", usage: "PostgreSQL URL of Waypost's own database",
			set: str(&c.DatabaseURL), get: func() string { return c.DatabaseURL }},
		{name: "manager-addr", env: "WAYPOST_MANAGER_ADDR", usage: "listen address of the manager (REST API, dashboard)",
			set: addr(&c.ManagerAddr), get: func() string { return c.ManagerAddr }},
		{name: "provider-addr", env: "WAYPOST_PROVIDER_ADDR", usage: "listen address of the flag provider (SDK streams, OFREP)",
			set: addr(&c.ProviderAddr), get: func() string { return c.ProviderAddr }},
		{name: "provider-url", env: "WAYPOST_PROVIDER_URL", usage: "base URL at which workers reach this provider's webhook (default: http://<provider-addr>)",
			set: str(&c.ProviderURL), get: func() string { return c.ProviderURL }},
		{name: "log-format", env: "WAYPOST_LOG_FORMAT", usage: "log format: text or json",
			set: oneOf(&c.LogFormat, "text", "json"), get: func() string { return c.LogFormat }},
		{name: "log-level", env: "WAYPOST_LOG_LEVEL", usage: "log level: debug, info, warn or error",
			set: func(s string) error { return c.LogLevel.UnmarshalText([]byte(s)) }, get: func() string { return c.LogLevel.String() }},
		{name: "webhook-secret", env: "WAYPOST_WEBHOOK_SECRET", usage: "shared secret signing webhooks from workers to providers",
			secret: true, set: str(&c.WebhookSecret), get: func() string { return c.WebhookSecret }},
		{name: "secret-key", env: "WAYPOST_SECRET_KEY", usage: "key encrypting stored credentials (32+ characters)",
			secret: true, set: str(&c.SecretKey), get: func() string { return c.SecretKey }},
		{name: "provider-snapshot-file", env: "WAYPOST_PROVIDER_SNAPSHOT_FILE", usage: "provider: file keeping the last good flag state, so a restart serves even while the database is down",
			set: str(&c.SnapshotFile), get: func() string { return c.SnapshotFile }},
		{name: "cors-origins", env: "WAYPOST_CORS_ORIGINS", usage: "provider: comma-separated browser origins allowed to call OFREP (* for any)",
			set: func(s string) error {
				c.CORSOrigins = nil
				for _, o := range strings.Split(s, ",") {
					if o = strings.TrimSpace(o); o != "" {
						c.CORSOrigins = append(c.CORSOrigins, o)
					}
				}
				if len(c.CORSOrigins) == 0 {
					return errors.New("must name at least one origin, or *")
				}
				return nil
			}, get: func() string { return strings.Join(c.CORSOrigins, ",") }},
		{name: "exposures-schedule", env: "WAYPOST_EXPOSURES_SCHEDULE", usage: "worker: UTC time of day (HH:MM) of the nightly exposures pipeline, or off",
			set: timeOfDay(&c.ExposuresSchedule), get: func() string { return c.ExposuresSchedule }},
		{name: "results-schedule", env: "WAYPOST_RESULTS_SCHEDULE", usage: "worker: UTC time of day (HH:MM) of an automatic results refresh of running experiments, or off",
			set: timeOfDay(&c.ResultsSchedule), get: func() string { return c.ResultsSchedule }},
		{name: "debug-addr", env: "WAYPOST_DEBUG_ADDR", usage: "serve Go profiling (net/http/pprof) on this address, e.g. 127.0.0.1:6060; off when empty",
			set: addr(&c.DebugAddr), get: func() string { return c.DebugAddr }},
		{name: "provider-public-url", env: "WAYPOST_PROVIDER_PUBLIC_URL", usage: "provider: public base URL of the provider (e.g. https://flags.example.com), used in OFREP eventStreams",
			set: publicURL(&c.ProviderPublicURL), get: func() string { return c.ProviderPublicURL }},
		{name: "worker-addr", env: "WAYPOST_WORKER_ADDR", usage: "worker: listen address of /healthz, /readyz and /metrics, e.g. 127.0.0.1:8082; off when empty",
			set: addr(&c.WorkerAddr), get: func() string { return c.WorkerAddr }},
		{name: "metrics-token", env: "WAYPOST_METRICS_TOKEN", usage: "manager: bearer token that /metrics requires (open when unset)",
			secret: true, set: str(&c.MetricsToken), get: func() string { return c.MetricsToken }},
		{name: "argon2-memory", env: "WAYPOST_ARGON2_MEMORY", usage: "KiB of memory per argon2id password hash (changing it rehashes at the next login)",
			set: count(&c.Argon2Memory, 8, 4<<20), get: func() string { return fmt.Sprint(c.Argon2Memory) }},
		{name: "argon2-time", env: "WAYPOST_ARGON2_TIME", usage: "argon2id passes per password hash",
			set: count(&c.Argon2Time, 1, 100), get: func() string { return fmt.Sprint(c.Argon2Time) }},
		{name: "argon2-threads", env: "WAYPOST_ARGON2_THREADS", usage: "argon2id lanes per password hash",
			set: count(&c.Argon2Threads, 1, 255), get: func() string { return fmt.Sprint(c.Argon2Threads) }},
		{name: "session-idle", env: "WAYPOST_SESSION_IDLE", usage: "a dashboard session unused this long ends",
			set: dur(&c.SessionIdle), get: func() string { return c.SessionIdle.String() }},
		{name: "session-max", env: "WAYPOST_SESSION_MAX", usage: "a dashboard session ends this long after sign-in",
			set: dur(&c.SessionMax), get: func() string { return c.SessionMax.String() }},
		{name: "oidc-issuer", env: "WAYPOST_OIDC_ISSUER", usage: "OpenID Connect issuer URL for single sign-on (empty: off)",
			set: str(&c.OIDCIssuer), get: func() string { return c.OIDCIssuer }},
		{name: "oidc-client-id", env: "WAYPOST_OIDC_CLIENT_ID", usage: "OpenID Connect client id",
			set: str(&c.OIDCClientID), get: func() string { return c.OIDCClientID }},
		{name: "oidc-client-secret", env: "WAYPOST_OIDC_CLIENT_SECRET", usage: "OpenID Connect client secret",
			secret: true, set: str(&c.OIDCClientSecret), get: func() string { return c.OIDCClientSecret }},
		{name: "oidc-redirect-url", env: "WAYPOST_OIDC_REDIRECT_URL", usage: "public URL of the manager's /api/v1/auth/oidc/callback (default: http://<manager-addr>/api/v1/auth/oidc/callback)",
			set: str(&c.OIDCRedirectURL), get: func() string { return c.OIDCRedirectURL }},
		{name: "oidc-allowed-domains", env: "WAYPOST_OIDC_ALLOWED_DOMAINS", usage: "comma-separated email domains allowed to sign in with SSO (empty: any)",
			set: func(s string) error {
				c.OIDCAllowedDomains = nil
				for _, d := range strings.Split(s, ",") {
					if d = strings.ToLower(strings.TrimSpace(d)); d != "" {
						c.OIDCAllowedDomains = append(c.OIDCAllowedDomains, d)
					}
				}
				return nil
			}, get: func() string { return strings.Join(c.OIDCAllowedDomains, ",") }},
		{name: "oidc-role-claim", env: "WAYPOST_OIDC_ROLE_CLAIM", usage: "ID-token claim whose value (viewer, editor, admin or owner) sets an SSO user's role in the default project",
			set: str(&c.OIDCRoleClaim), get: func() string { return c.OIDCRoleClaim }},
		{name: "shutdown-grace", env: "WAYPOST_SHUTDOWN_GRACE", usage: "how long to wait for in-flight work on SIGINT/SIGTERM",
			set: dur(&c.ShutdownGrace), get: func() string { return c.ShutdownGrace.String() }},
	}
	// Defaults.
	c.DatabaseURL = "postgres://postgres@127.0.0.1:5432/waypost?sslmode=disable"
	c.ManagerAddr = "127.0.0.1:8080"
	c.ProviderAddr = "127.0.0.1:8081"
	c.LogFormat = "text"
	c.LogLevel = slog.LevelInfo
	c.WebhookSecret = "" // no built-in secret: see RequireWebhookSecret and DevelopmentWebhookSecret
	c.ShutdownGrace = 10 * time.Second
	c.CORSOrigins = []string{"*"}
	c.ExposuresSchedule = "03:00"
	c.ResultsSchedule = "off"
	c.Argon2Memory, c.Argon2Time, c.Argon2Threads = 64*1024, 3, 2
	c.SessionIdle, c.SessionMax = 12*time.Hour, 7*24*time.Hour

	for _, o := range opts {
		o := o
		fs.Func(o.name, o.usage+" (env "+o.env+")", o.set)
	}
	return func() error {
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		var problems []string
		for _, o := range opts {
			if given[o.name] {
				continue
			}
			v, ok := os.LookupEnv(o.env)
			if o.secret {
				if path, fok := os.LookupEnv(o.env + "_FILE"); fok {
					b, err := os.ReadFile(path)
					if err != nil {
						problems = append(problems, fmt.Sprintf("%s_FILE: %v", o.env, err))
						continue
					}
					v, ok = strings.TrimSpace(string(b)), true
				}
			}
			if !ok {
				continue
			}
			if err := o.set(v); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", o.env, err))
			}
		}
		if c.ProviderURL == "" {
			c.ProviderURL = "http://" + c.ProviderAddr
		}
		if c.OIDCIssuer != "" && (c.OIDCClientID == "" || c.OIDCClientSecret == "") {
			problems = append(problems, "WAYPOST_OIDC_ISSUER: needs WAYPOST_OIDC_CLIENT_ID and WAYPOST_OIDC_CLIENT_SECRET")
		}
		if c.OIDCIssuer != "" && c.OIDCRedirectURL == "" {
			c.OIDCRedirectURL = "http://" + c.ManagerAddr + "/api/v1/auth/oidc/callback"
		}
		if c.SecretKey != "" && len(c.SecretKey) < 32 {
			problems = append(problems, "WAYPOST_SECRET_KEY: must be at least 32 characters")
		}
		if len(problems) > 0 {
			sort.Strings(problems)
			return errors.New("configuration: " + strings.Join(problems, "; "))
		}
		return nil
	}
}

func str(p *string) func(string) error {
	return func(s string) error {
		if s == "" {
			return errors.New("must not be empty")
		}
		*p = s
		return nil
	}
}

// publicURL accepts an absolute http(s) URL without query or fragment; a
// trailing slash is dropped.
func publicURL(p *string) func(string) error {
	return func(s string) error {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return errors.New("must be an absolute http(s) URL such as https://flags.example.com, without credentials, query or fragment")
		}
		*p = strings.TrimRight(s, "/")
		return nil
	}
}

func addr(p *string) func(string) error {
	return func(s string) error {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return fmt.Errorf("must be host:port: %w", err)
		}
		*p = s
		return nil
	}
}

func oneOf(p *string, allowed ...string) func(string) error {
	return func(s string) error {
		for _, a := range allowed {
			if s == a {
				*p = s
				return nil
			}
		}
		return fmt.Errorf("must be one of %s", strings.Join(allowed, ", "))
	}
}

func timeOfDay(p *string) func(string) error {
	return func(s string) error {
		var h, m int
		if s != "off" {
			if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || h < 0 || h > 23 || m < 0 || m > 59 || len(s) != 5 {
				return errors.New("must be a UTC time of day such as 03:00, or off")
			}
		}
		*p = s
		return nil
	}
}

func count(p *uint64, lo, hi uint64) func(string) error {
	return func(s string) error {
		var n uint64
		if _, err := fmt.Sscan(s, &n); err != nil || n < lo || n > hi {
			return fmt.Errorf("must be an integer from %d to %d", lo, hi)
		}
		*p = n
		return nil
	}
}

func dur(p *time.Duration) func(string) error {
	return func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return errors.New("must be a duration such as 10s")
		}
		*p = d
		return nil
	}
}

// MinWebhookSecret is the shortest webhook secret accepted, in bytes.
const MinWebhookSecret = 32

// RequireWebhookSecret refuses a missing or short webhook secret: workers
// sign webhooks with it and providers verify them (`waypost worker` and
// `waypost provider` do not start without one).
func (c *Config) RequireWebhookSecret() error {
	if len(c.WebhookSecret) < MinWebhookSecret {
		return fmt.Errorf("configuration: WAYPOST_WEBHOOK_SECRET must be set, to at least %d bytes shared by workers and providers (for example: openssl rand -hex 32); it is %d bytes",
			MinWebhookSecret, len(c.WebhookSecret))
	}
	return nil
}

// DevelopmentWebhookSecret is for `waypost all`: when no secret is set and
// every address is on this machine (loopback), it generates a random one
// for this process and reports true (the caller says so in the log).
// Elsewhere it leaves the secret as it is (RequireWebhookSecret decides).
func (c *Config) DevelopmentWebhookSecret() (bool, error) {
	if c.WebhookSecret != "" {
		return false, nil
	}
	for _, a := range []string{c.ManagerAddr, c.ProviderAddr} {
		if !loopback(a) {
			return false, nil
		}
	}
	if u, err := url.Parse(c.ProviderURL); err != nil || !loopback(u.Host) {
		return false, nil
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return false, fmt.Errorf("generate a webhook secret: %w", err)
	}
	c.WebhookSecret = hex.EncodeToString(b[:])
	return true, nil
}

// loopback reports whether host:port names this machine only.
func loopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Logger builds the process logger from the configuration.
func (c *Config) Logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// LogValue lets slog print a Config with secrets masked and the database
// password redacted.
func (c *Config) LogValue() slog.Value {
	mask := func(s string) string {
		if s == "" {
			return "(unset)"
		}
		return "(set)"
	}
	return slog.GroupValue(
		slog.String("database_url", RedactURL(c.DatabaseURL)),
		slog.String("manager_addr", c.ManagerAddr),
		slog.String("provider_addr", c.ProviderAddr),
		slog.String("provider_url", c.ProviderURL),
		slog.String("webhook_secret", mask(c.WebhookSecret)),
		slog.String("secret_key", mask(c.SecretKey)),
		slog.String("oidc_issuer", c.OIDCIssuer),
		slog.String("oidc_client_secret", mask(c.OIDCClientSecret)),
	)
}
