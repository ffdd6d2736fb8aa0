// Package migrate applies Waypost's embedded SQL migrations and River's own
// migrations. It is safe to run from several processes at once: a session
// advisory lock serialises runs, and each migration commits in its own
// transaction together with its row in waypost_schema_migrations, so a run
// that dies half-way resumes where it stopped.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	sqlschema "github.com/waypost/waypost/sql"
)

// advisoryLockID is an arbitrary constant shared by every Waypost process.
const advisoryLockID = 0x5741_5950_4f53_54 // "WAYPOST"

// Migration is one embedded migration file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// All returns the embedded migrations in version order.
func All() ([]Migration, error) {
	entries, err := fs.Glob(sqlschema.Migrations, "migrations/*.up.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var out []Migration
	for _, path := range entries {
		base := strings.TrimSuffix(strings.TrimPrefix(path, "migrations/"), ".up.sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must be NNN_name.up.sql", path)
		}
		body, err := fs.ReadFile(sqlschema.Migrations, path)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("two migrations with version %d", out[i].Version)
		}
	}
	return out, nil
}

const createVersionTable = `
CREATE TABLE IF NOT EXISTS waypost_schema_migrations (
  version     integer PRIMARY KEY,
  name        text NOT NULL,
  applied_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE waypost_schema_migrations IS 'Waypost migrations applied to this database (see sql/migrations).';`

// Up applies every pending Waypost migration, then River's. It returns the
// versions it applied.
func Up(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) ([]int, error) {
	return up(ctx, pool, log, math.MaxInt, true)
}

// up applies the pending Waypost migrations up to version last, then
// River's when river is set, all under the migration lock. Tests stop at an
// older version to build a database as an earlier release left it.
func up(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger, last int, river bool) ([]int, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(advisoryLockID)); err != nil {
		return nil, fmt.Errorf("take migration lock: %w", err)
	}
	defer func() {
		// Unlock on a fresh context: ctx may be cancelled by now.
		_, _ = conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", int64(advisoryLockID))
	}()

	if _, err := conn.Exec(ctx, createVersionTable); err != nil {
		return nil, fmt.Errorf("create waypost_schema_migrations: %w", err)
	}
	applied, err := appliedVersions(ctx, conn.Conn())
	if err != nil {
		return nil, err
	}
	all, err := All()
	if err != nil {
		return nil, err
	}
	var done []int
	for _, m := range all {
		if applied[m.Version] || m.Version > last {
			continue
		}
		err := pgx.BeginFunc(ctx, conn.Conn(), func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO waypost_schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
			return err
		})
		if err != nil {
			return done, fmt.Errorf("migration %03d_%s: %w", m.Version, m.Name, err)
		}
		log.Info("applied migration", "version", m.Version, "name", m.Name)
		done = append(done, m.Version)
	}
	if !river {
		return done, nil
	}

	migrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return done, fmt.Errorf("river migrator: %w", err)
	}
	res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return done, fmt.Errorf("river migrations: %w", err)
	}
	for _, v := range res.Versions {
		log.Info("applied river migration", "version", v.Version)
	}
	return done, nil
}

func appliedVersions(ctx context.Context, conn *pgx.Conn) (map[int]bool, error) {
	rows, err := conn.Query(ctx, "SELECT version FROM waypost_schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	out := make(map[int]bool, len(versions))
	for _, v := range versions {
		out[int(v)] = true
	}
	return out, nil
}

// ErrSchemaBehind is returned by Check when migrations are pending.
var ErrSchemaBehind = errors.New("database schema is behind this binary: run `waypost migrate`")

// Check returns ErrSchemaBehind (wrapped, naming what is pending) unless
// every Waypost and River migration has been applied. Servers call it at
// start and refuse to run on an old schema.
func Check(ctx context.Context, pool *pgxpool.Pool) error {
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('waypost_schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return fmt.Errorf("check schema: %w", err)
	}
	if !exists {
		return fmt.Errorf("%w (no Waypost tables yet)", ErrSchemaBehind)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	applied, err := appliedVersions(ctx, conn.Conn())
	if err != nil {
		return err
	}
	all, err := All()
	if err != nil {
		return err
	}
	for _, m := range all {
		if !applied[m.Version] {
			return fmt.Errorf("%w (pending: %03d_%s)", ErrSchemaBehind, m.Version, m.Name)
		}
	}
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	res, err := migrator.Validate(ctx, nil)
	if err != nil {
		return fmt.Errorf("check river schema: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("%w (river: %s)", ErrSchemaBehind, strings.Join(res.Messages, "; "))
	}
	return nil
}

// EnsureDatabase creates the database named in databaseURL when it does not
// exist yet (connecting to the server's "postgres" database to do so), so a
// newcomer's first `waypost migrate` needs no manual createdb.
func EnsureDatabase(ctx context.Context, databaseURL string, log *slog.Logger) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return fmt.Errorf("connect: %w", err)
	}
	cfg, perr := pgx.ParseConfig(databaseURL)
	if perr != nil {
		return fmt.Errorf("parse database url: %w", perr)
	}
	name := cfg.Database
	u, perr := url.Parse(databaseURL)
	if perr != nil || u.Scheme == "" {
		return fmt.Errorf("database %q does not exist; create it with createdb", name)
	}
	u.Path = "/postgres"
	admin, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return fmt.Errorf("database %q does not exist and the server's postgres database is unreachable: %w", name, err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42P04" { // created concurrently
			return nil
		}
		return fmt.Errorf("create database %q: %w", name, err)
	}
	log.Info("created database", "database", name)
	return nil
}
