// Package eventsdb connects to events databases: the user's own
// PostgreSQL, ClickHouse (native protocol) or MySQL/MariaDB (an events
// connection and its kind) or Waypost's built-in store. It opens and caches
// pools, tests connections with a short timeout, and classifies failures
// (unreachable, timeout, refused SQL) into typed errors. Every query on an
// events database goes through a metricsql.DB, read-only and bounded
// (PostgreSQL: metricsql.ReadOnly; ClickHouse: clickhouse.go; MySQL:
// mysql.go).
package eventsdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/metricsql"
)

// ConnectTimeout bounds connecting to an events database.
const ConnectTimeout = 5 * time.Second

// Target says where an events database is. Password is plaintext and only
// lives in memory; Target's String and LogValue never show it.
type Target struct {
	ID      int64 // events connection id (0 for an unsaved connection)
	Version int64 // connection version: a changed connection gets a new pool
	Builtin bool  // Waypost's own database; the fields below are unused
	// Kind is the engine: "postgres" (also for ""), "clickhouse" or "mysql".
	Kind     string
	Host     string
	Port     int
	Database string
	User     string
	Password string
	SSLMode  string
	// StatementTimeout applies to every query on the connection.
	StatementTimeout time.Duration
	ExposuresQuery   string
}

// String describes the target without its password.
func (t Target) String() string {
	if t.Builtin {
		return "the built-in events store"
	}
	scheme := t.Kind
	if scheme == "" {
		scheme = metricsql.KindPostgres
	}
	return fmt.Sprintf("%s://%s@%s/%s", scheme, t.User, net.JoinHostPort(t.Host, strconv.Itoa(t.Port)), t.Database)
}

// LogValue keeps the password out of logs: a Target logs as its String.
func (t Target) LogValue() slog.Value { return slog.StringValue(t.String()) }

// GoString keeps the password out of %#v.
func (t Target) GoString() string { return t.String() }

// config builds the pgx pool configuration (without a connection string,
// so the password never appears in a string that could be logged).
func (t Target) config(maxConns int32) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, err
	}
	cc := cfg.ConnConfig
	cc.Host, cc.Port, cc.Database, cc.User, cc.Password = t.Host, uint16(t.Port), t.Database, t.User, t.Password
	cc.ConnectTimeout = ConnectTimeout
	cc.RuntimeParams = map[string]string{"application_name": "waypost"}
	tlsCfgs, err := tlsFor(t)
	if err != nil {
		return nil, err
	}
	cc.TLSConfig = tlsCfgs[0]
	cc.Fallbacks = nil
	for _, tc := range tlsCfgs[1:] {
		cc.Fallbacks = append(cc.Fallbacks, &pgconn.FallbackConfig{Host: t.Host, Port: uint16(t.Port), TLSConfig: tc})
	}
	cfg.MaxConns = maxConns
	cfg.MaxConnIdleTime = 5 * time.Minute
	return cfg, nil
}

// Open returns a new pool on t (it does not connect yet).
func Open(ctx context.Context, t Target, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := t.config(maxConns)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}

// Test connects to t with a short timeout, refuses a role too powerful for
// user SQL (metricsql.RoleError, a 422 on field "user"), checks its
// exposures query (columns and types), and on PostgreSQL returns a warning
// for each dangerous privilege the role still has. Failures are typed
// errors for the API: the server's own message as 422.
func Test(ctx context.Context, t Target, builtin metricsql.Beginner) ([]string, error) {
	var warnings []string
	err := With(ctx, t, builtin, func(ctx context.Context, db metricsql.DB) error {
		if pg, ok := metricsql.PostgresBeginner(db); ok {
			w, err := metricsql.PrivilegeWarnings(ctx, pg)
			if err != nil {
				return InvalidQuery("", err)
			}
			warnings = w
		}
		if err := metricsql.CheckExposuresQuery(ctx, db, t.ExposuresQuery, t.StatementTimeout); err != nil {
			return InvalidQuery("exposures_query", err)
		}
		return nil
	})
	return warnings, err
}

// With runs fn on a single short-lived connection to t (the builtin pool
// for the built-in store: Builtin), with a deadline of ConnectTimeout plus the
// statement timeout.
func With(ctx context.Context, t Target, builtin metricsql.Beginner, fn func(ctx context.Context, db metricsql.DB) error) error {
	ctx, cancel := context.WithTimeout(ctx, ConnectTimeout+t.StatementTimeout)
	defer cancel()
	if t.Builtin {
		return fn(ctx, metricsql.PostgresDB(builtin))
	}
	if t.Kind != "" && t.Kind != metricsql.KindPostgres {
		db, err := openOther(t, 1)
		if err != nil {
			return errs.Invalid("", "%v", err)
		}
		defer db.Close()
		if err := db.ping(ctx); err != nil {
			return Classify(err, t, "connect")
		}
		return fn(ctx, db)
	}
	cfg, err := t.config(1)
	if err != nil {
		return errs.Invalid("", "%v", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return Classify(err, t, "connect")
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return fn(ctx, metricsql.PostgresDB(conn))
}

// otherDB is an events database of another engine than PostgreSQL.
type otherDB interface {
	metricsql.DB
	ping(ctx context.Context) error
	Close()
}

// openOther opens a ClickHouse or MySQL pool (it does not connect yet).
func openOther(t Target, maxConns int) (otherDB, error) {
	switch t.Kind {
	case metricsql.KindClickHouse:
		return openClickHouse(t, maxConns)
	case metricsql.KindMySQL:
		return openMySQL(t, maxConns)
	}
	return nil, fmt.Errorf("unknown events database kind %q", t.Kind)
}

// InvalidQuery turns an error about a user query into a 422 naming field,
// with the database's own message when it came from the database.
func InvalidQuery(field string, err error) error {
	if e, ok := errs.As(err); ok {
		return e
	}
	var re *metricsql.RoleError
	if errors.As(err, &re) {
		return &errs.Error{Kind: errs.KindInvalid, Code: "dangerous_role", Field: "user", Message: re.Error(), Err: err}
	}
	if msg, ok := metricsql.DatabaseMessage(err); ok {
		return &errs.Error{Kind: errs.KindInvalid, Code: "query_error", Field: field, Message: "the events database refused the query: " + msg, Err: err}
	}
	var ce *metricsql.ColumnError
	if errors.As(err, &ce) {
		return &errs.Error{Kind: errs.KindInvalid, Code: "columns", Field: field, Message: ce.Error(), Err: err}
	}
	if errors.Is(err, metricsql.ErrInvalidQuery) {
		return &errs.Error{Kind: errs.KindInvalid, Code: "invalid_query", Field: field, Message: err.Error(), Err: err}
	}
	if errors.Is(err, metricsql.ErrStatementTimeout) {
		return &errs.Error{Kind: errs.KindInvalid, Code: "timeout", Field: field, Message: "the query ran past the connection's statement timeout", Err: err}
	}
	return Classify(err, Target{Builtin: true}, "query")
}

// Classify maps a connection failure to a typed error: the server's
// message (wrong password, unknown database) is a 422; an unreachable
// server is 502 "cannot reach host:port (reason)".
func Classify(err error, t Target, op string) error {
	if msg, ok := metricsql.DatabaseMessage(err); ok {
		return &errs.Error{Kind: errs.KindInvalid, Code: "connection_refused", Message: fmt.Sprintf("%s: %s: %s", t, op, msg), Err: err}
	}
	where := "the built-in events store"
	if !t.Builtin {
		where = net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	}
	return errs.BadGateway("unreachable", fmt.Sprintf("cannot reach %s (%s)", where, reason(err)), err)
}

// reason says in a few words why a server could not be reached.
func reason(err error) string {
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused: is the server running and listening on that port?"
	case errors.As(err, &dns):
		if dns.IsNotFound {
			return "no such host"
		}
		return "host name lookup failed: " + dns.Err
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return fmt.Sprintf("no answer within %s", ConnectTimeout)
	case errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH):
		return "no route to host"
	}
	return rootCause(err).Error()
}

// Unreachable reports whether err means the events database could not be
// reached at all (as opposed to refusing a query).
func Unreachable(err error) bool {
	if _, ok := metricsql.DatabaseMessage(err); ok {
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)
}

func rootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		var ce *pgconn.ConnectError
		if errors.As(err, &ce) && !errors.As(u, &ce) {
			return err
		}
		err = u
	}
}

// Pools caches one pool per events connection (and version), so the
// concurrent metric statements of a refresh run on separate connections.
type Pools struct {
	builtin  metricsql.Beginner
	maxConns int32
	mu       sync.Mutex
	pools    map[int64]cached
}

type cached struct {
	version int64
	db      metricsql.DB
	close   func()
}

// NewPools returns a cache; builtin is Waypost's own pool, used (through
// Builtin) for the built-in store.
func NewPools(builtin *pgxpool.Pool, maxConns int32) *Pools {
	if maxConns <= 0 {
		maxConns = 8
	}
	return &Pools{builtin: Builtin(builtin), maxConns: maxConns, pools: map[int64]cached{}}
}

// Get returns the database of t: a pool (for concurrent statements) or
// the built-in store.
func (p *Pools) Get(ctx context.Context, t Target) (metricsql.DB, error) {
	if t.Builtin {
		return metricsql.PostgresDB(p.builtin), nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.pools[t.ID]; ok {
		if c.version == t.Version {
			return c.db, nil
		}
		c.close()
		delete(p.pools, t.ID)
	}
	var c cached
	if t.Kind != "" && t.Kind != metricsql.KindPostgres {
		db, err := openOther(t, int(p.maxConns))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
		c = cached{version: t.Version, db: db, close: db.Close}
	} else {
		pool, err := Open(ctx, t, p.maxConns)
		if err != nil {
			return nil, err
		}
		c = cached{version: t.Version, db: metricsql.PostgresDB(pool), close: pool.Close}
	}
	p.pools[t.ID] = c
	return c.db, nil
}

// Close closes every cached pool.
func (p *Pools) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, c := range p.pools {
		c.close()
		delete(p.pools, id)
	}
}
