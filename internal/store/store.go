// Package store is Waypost's data layer: the only package that touches the
// sqlc-generated code in db/. It maps rows to the domain types of package
// model, turns PostgreSQL errors into typed errs.Error values, and runs
// every change in one transaction that carries the actor (read by the
// flag-event triggers through the waypost.actor setting). Every method
// validates its input (the model request types' Validate), so callers other
// than the REST API are held to the same rules.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/internal/auth"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/eventsdb"
	"github.com/waypost/waypost/internal/metricsql"
	"github.com/waypost/waypost/internal/secret"
)

// ChangeHook runs inside every transaction that changes flag data, before
// commit; an error rolls the change back. The delivery layer uses it to
// enqueue webhook jobs in the same transaction (River's InsertTx).
type ChangeHook func(ctx context.Context, tx pgx.Tx) error

// Store reads and writes Waypost's database.
type Store struct {
	pool  *pgxpool.Pool
	hooks []ChangeHook
	box   *secret.Box // encrypts events-connection passwords; nil: none can be stored
	// builtin is the built-in events store (Waypost's pool, as the
	// waypost_events_reader role).
	builtin metricsql.Beginner
	argon   auth.Params // password hashing; zero: auth.DefaultParams
	// decisionHooks run in the transaction of every safe-rollout decision
	// that changes the rollout (saferollouts.go).
	decisionHooks []DecisionHook
}

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool, builtin: eventsdb.Builtin(pool)} }

// UseSecrets sets the box that encrypts stored credentials (from
// WAYPOST_SECRET_KEY). Without one, connections with a password are refused.
func (s *Store) UseSecrets(b *secret.Box) { s.box = b }

// OnChange registers a hook run in every changing transaction. Register
// hooks before serving requests.
func (s *Store) OnChange(h ChangeHook) { s.hooks = append(s.hooks, h) }

type actorKey struct{}

// WithActor returns a context whose changes are logged as made by actor.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the actor set by WithActor, or "api".
func ActorFrom(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "api"
}

func (s *Store) queries() *db.Queries { return db.New(s.pool) }

// change runs fn in a transaction tagged with the context's actor, then the
// change hooks, then commits.
func (s *Store) change(ctx context.Context, fn func(q *db.Queries) error) error {
	return s.changeTx(ctx, func(_ pgx.Tx, q *db.Queries) error { return fn(q) })
}

// changeTx is change for functions that also need the transaction itself
// (to run hooks that insert River jobs in it).
func (s *Store) changeTx(ctx context.Context, fn func(tx pgx.Tx, q *db.Queries) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	q := db.New(tx)
	if err := q.SetActor(ctx, ActorFrom(ctx)); err != nil {
		return fmt.Errorf("set actor: %w", err)
	}
	if err := fn(tx, q); err != nil {
		return err
	}
	for _, h := range s.hooks {
		if err := h(ctx, tx); err != nil {
			return fmt.Errorf("change hook: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return mapErr(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// mapErr turns PostgreSQL constraint errors into typed errors; anything
// else is returned unchanged (an internal error).
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := errs.As(err); ok {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return &errs.Error{Kind: errs.KindConflict, Code: "duplicate", Field: uniqueField(pgErr.ConstraintName),
				Message: "already exists", Err: err}
		case "23514": // check_violation
			return &errs.Error{Kind: errs.KindInvalid, Code: "invalid", Message: pgErr.Message, Err: err}
		case "WPX01": // raised by migration 010's guards of a running experiment
			return experimentRunningErr(pgErr.Message, err)
		case "22021", "22P05": // invalid byte sequence (NUL), untranslatable character
			return &errs.Error{Kind: errs.KindInvalid, Code: "invalid_text", Message: "text the database cannot store (a NUL character or invalid encoding)", Err: err}
		case "40001", "40P01": // serialization failure, deadlock
			return &errs.Error{Kind: errs.KindConflict, Code: "retry", Message: "concurrent change, please retry", Err: err}
		}
	}
	return err
}

func uniqueField(constraint string) string {
	switch constraint {
	case "projects_key_key", "environments_project_id_key_key", "flags_project_id_key_key",
		"events_connections_project_id_key_key", "metrics_project_id_key_key", "experiments_project_id_key_key":
		return "key"
	}
	return ""
}

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// Ping checks that the database answers (the manager's /readyz).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// DatabaseUnavailable reports whether err means Waypost's database could
// not be reached or did not answer in time (as opposed to refusing a
// statement): callers answer 503 and retry later.
func DatabaseUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03", // shutdown, crash, cannot connect now
			pgErr.Code == "53300": // too many connections
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) ||
		pgconn.Timeout(err) || pgconn.SafeToRetry(err) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		strings.Contains(err.Error(), "conn closed")
}
