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
	var pg *pgconn.PgError
	// 57014 query_canceled is also raised by pg_cancel_backend; the message
	// tells a statement timeout apart.
	return errors.As(e.Err, &pg) && pg.Code == "57014" && pg.Message == "canceling statement due to statement timeout"
}

// DatabaseMessage returns the PostgreSQL error message carried by err
// (with detail and hint when present) and true, or "", false when err did
// not come from the database server (connection failure, cancellation...).
// Callers answer such errors with 422 and this message: it is about the
// user's SQL, not about Waypost.
func DatabaseMessage(err error) (string, bool) {
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
