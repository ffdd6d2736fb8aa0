package dbtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waypost/waypost/internal/migrate"
)

// NewMigrated returns a pool on a fresh database of this test with every
// Waypost and River migration applied. The schema is built once per
// migration set in a template database (waypost_tmpl_<hash>) and copied
// with CREATE DATABASE ... TEMPLATE, which takes milliseconds.
func NewMigrated(tb testing.TB) (*pgxpool.Pool, string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tmpl, err := ensureTemplate(ctx)
	if err != nil {
		tb.Fatalf("dbtest: template: %v", err)
	}
	connString := newDatabaseFrom(tb, tmpl)
	pool, err := pgxpool.New(ctx, connString)
	if err != nil {
		tb.Fatalf("dbtest: pool: %v", err)
	}
	tb.Cleanup(pool.Close)
	return pool, connString
}

func templateName() (string, error) {
	all, err := migrate.All()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, m := range all {
		_, _ = io.WriteString(h, m.Name)
		_, _ = io.WriteString(h, m.SQL)
	}
	return "waypost_tmpl_" + hex.EncodeToString(h.Sum(nil))[:16], nil
}

// migrationsLock is the advisory lock, taken in the admin database, under
// which test binaries run migrations. Advisory locks are per database, so
// migrate.Up's own lock does not serialise two databases; but migration 008
// alters the cluster-wide role waypost_events_reader, and two databases of
// one server migrating at once can fail with "tuple concurrently updated".
const migrationsLock = 7346001

// SerialiseMigrations holds migrationsLock until tb ends: a test that runs
// migrate.Up itself on a fresh database takes it first, as the template
// build does. Such a test must not call NewMigrated (same lock).
func SerialiseMigrations(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		tb.Fatalf("dbtest: connect for the migrations lock: %v", err)
	}
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationsLock); err != nil {
		admin.Close(ctx)
		tb.Fatalf("dbtest: take the migrations lock: %v", err)
	}
	tb.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", migrationsLock)
		admin.Close(context.Background())
	})
}

func ensureTemplate(ctx context.Context) (string, error) {
	name, err := templateName()
	if err != nil {
		return "", err
	}
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return "", err
	}
	defer admin.Close(ctx)
	// Serialise template creation across test binaries running in parallel.
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationsLock); err != nil {
		return "", err
	}
	defer admin.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", migrationsLock) //nolint:errcheck
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	u, err := url.Parse(AdminURL())
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	pool, err := pgxpool.New(ctx, u.String())
	if err != nil {
		return "", err
	}
	_, err = migrate.Up(ctx, pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	pool.Close()
	if err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH is_template true"); err != nil {
		return "", err
	}
	return name, nil
}

func newDatabaseFrom(tb testing.TB, tmpl string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	name := randomName()
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		tb.Fatalf("dbtest: connect: %v", err)
	}
	defer admin.Close(ctx)
	for attempt := 0; ; attempt++ {
		_, err = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+pgx.Identifier{tmpl}.Sanitize())
		var pgErr *pgconn.PgError
		// 55006: the template is briefly in use by another CREATE DATABASE.
		if err != nil && errors.As(err, &pgErr) && pgErr.Code == "55006" && attempt < 50 {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		break
	}
	if err != nil {
		tb.Fatalf("dbtest: create database from template: %v", err)
	}
	tb.Cleanup(func() { dropDatabase(tb, name) })
	u, _ := url.Parse(AdminURL())
	u.Path = "/" + name
	return u.String()
}
