package metricsql

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultTimeout is a sensible statement timeout for events queries.
const DefaultTimeout = 60 * time.Second

// ErrStatementTimeout matches (errors.Is) a QueryError whose statement was
// cancelled by the statement timeout.
var ErrStatementTimeout = errors.New("statement timeout")

// Beginner starts transactions; *pgx.Conn and *pgxpool.Pool satisfy it.
type Beginner interface {
	BeginTx(ctx context.Context, txOptions pgx.TxOptions) (pgx.Tx, error)
}

// QueryError is an error from the events database. It unwraps to the
// driver's error, so errors.As(err, new(*pgconn.PgError)) finds the
// database's own message (see DatabaseMessage).
type QueryError struct {
	Op      string        // what was being done, e.g. "run metric statement"
	Timeout time.Duration // the statement timeout in force (0 = none)
	Err     error
}

func (e *QueryError) Error() string {
	if e.timedOut() {
		return fmt.Sprintf("events database: %s: the query took longer than the %s statement timeout: %v", e.Op, e.Timeout, e.Err)
	}
	return fmt.Sprintf("events database: %s: %v", e.Op, e.Err)
}

func (e *QueryError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrStatementTimeout) true for timeouts.
func (e *QueryError) Is(target error) bool { return target == ErrStatementTimeout && e.timedOut() }

func (e *QueryError) timedOut() bool {
	var se *ServerError
	if errors.As(e.Err, &se) {
		return se.Timeout
	}
	var pg *pgconn.PgError
	// 57014 query_canceled is also raised by pg_cancel_backend; the message
	// tells a statement timeout apart.
	return errors.As(e.Err, &pg) && pg.Code == "57014" && pg.Message == "canceling statement due to statement timeout"
}

// DatabaseMessage returns the server's error message (ServerError or PostgreSQL's) carried by err
// (with detail and hint when present) and true, or "", false when err did
// not come from the database server (connection failure, cancellation...).
// Callers answer such errors with 422 and this message: it is about the
// user's SQL, not about Waypost.
func DatabaseMessage(err error) (string, bool) {
	var se *ServerError
	if errors.As(err, &se) {
		return se.Message, true
	}
	var pg *pgconn.PgError
	if !errors.As(err, &pg) {
		return "", false
	}
	msg := pg.Message
	if pg.Detail != "" {
		msg += " (" + pg.Detail + ")"
	}
	if pg.Hint != "" {
		msg += "; hint: " + pg.Hint
	}
	return msg, true
}

// ServerError is an error reported by a ClickHouse or MySQL events
// database (PostgreSQL's are *pgconn.PgError).
type ServerError struct {
	Engine  string // "ClickHouse", "MySQL"
	Code    int    // the server's error code
	Message string // the server's message
	// Timeout: the server stopped the statement at its time limit.
	Timeout bool
	Err     error // the driver's error
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("%s error %d: %s", e.Engine, e.Code, e.Message)
}

func (e *ServerError) Unwrap() error { return e.Err }

// ReadOnly runs fn inside BEGIN READ ONLY with SET LOCAL statement_timeout
// (timeout <= 0 leaves the server default), after refusing a connection
// whose role is too powerful to run user SQL (RoleProblems). The transaction is always
// rolled back: nothing fn does can persist. Errors from fn are returned as
// *QueryError (unless they already are one) preserving the database's
// error for DatabaseMessage and errors.As.
func ReadOnly(ctx context.Context, db Beginner, timeout time.Duration, fn func(ctx context.Context, tx pgx.Tx) error) error {
	tx, err := db.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return &QueryError{Op: "begin read-only transaction", Err: err}
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if timeout > 0 {
		// SET (a statement, not the set_config function, which a database
		// may revoke from PUBLIC); the value is a formatted integer.
		ms := strconv.FormatInt(max(timeout.Milliseconds(), 1), 10)
		if _, err := tx.Exec(ctx, "SET LOCAL statement_timeout = "+ms); err != nil {
			return &QueryError{Op: "set statement timeout", Err: err}
		}
	}
	if err := refuseDangerousRole(ctx, tx); err != nil {
		return err
	}
	if err := fn(ctx, tx); err != nil {
		var qe *QueryError
		if errors.As(err, &qe) {
			return err
		}
		return &QueryError{Op: "run query", Timeout: timeout, Err: err}
	}
	return nil
}

// MaxRows bounds the rows any statement may return to Waypost (metric
// statements return one row per variant, previews are LIMITed): a query
// returning more is stopped with ErrTooManyRows.
const MaxRows = 100_000

// ErrTooManyRows is returned when a statement returns more than MaxRows.
var ErrTooManyRows = fmt.Errorf("%w: the query returned more than %d rows", ErrInvalidQuery, MaxRows)

// PostgresDB is the DB of a PostgreSQL pool or connection: every
// statement runs inside ReadOnly.
func PostgresDB(b Beginner) DB { return pgDB{b} }

type pgDB struct{ b Beginner }

// PostgresBeginner returns the PostgreSQL connection behind db, if db is
// one (PostgresDB).
func PostgresBeginner(db DB) (Beginner, bool) {
	pg, ok := db.(pgDB)
	return pg.b, ok
}

func (pgDB) Dialect() Dialect { return Postgres }

func (d pgDB) Query(ctx context.Context, timeout time.Duration, sql string, args []any) ([]Column, [][]any, error) {
	var (
		cols []Column
		out  [][]any
	)
	err := ReadOnly(ctx, d.b, timeout, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols = PostgresColumns(rows.FieldDescriptions())
		for rows.Next() {
			if len(out) == MaxRows {
				return ErrTooManyRows
			}
			vals, err := rows.Values()
			if err != nil {
				return err
			}
			out = append(out, vals)
		}
		return rows.Err()
	})
	return cols, out, err
}

func (d pgDB) Describe(ctx context.Context, timeout time.Duration, q string) ([]Column, error) {
	var cols []Column
	err := ReadOnly(ctx, d.b, timeout, func(ctx context.Context, tx pgx.Tx) error {
		sd, err := tx.Conn().PgConn().Prepare(ctx, "", q, nil)
		if err != nil {
			return err
		}
		cols = PostgresColumns(sd.Fields)
		return nil
	})
	return cols, err
}

// QueryEach streams the rows to fn as pgx reads them (Streamer); fn's
// error stops the statement.
func (d pgDB) QueryEach(ctx context.Context, timeout time.Duration, sql string, args []any, _ int, fn func(row []any) error) ([]Column, error) {
	var cols []Column
	err := ReadOnly(ctx, d.b, timeout, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols = PostgresColumns(rows.FieldDescriptions())
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				return err
			}
			if err := fn(vals); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return cols, err
}
