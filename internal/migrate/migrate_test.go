package migrate_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/migrate"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// emptyDatabase is a pool on a new, empty database, holding the migrations
// lock for the test (migration 008 alters a cluster-wide role).
func emptyDatabase(t *testing.T) *pgxpool.Pool {
	t.Helper()
	dbtest.SerialiseMigrations(t)
	pool, err := pgxpool.New(context.Background(), dbtest.NewDatabase(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

func TestUpIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := emptyDatabase(t)

	require.ErrorIs(t, migrate.Check(ctx, pool), migrate.ErrSchemaBehind, "an empty database is behind")
	first, err := migrate.Up(ctx, pool, quiet)
	require.NoError(t, err)
	all, err := migrate.All()
	require.NoError(t, err)
	require.Len(t, first, len(all))
	require.NoError(t, migrate.Check(ctx, pool))

	second, err := migrate.Up(ctx, pool, quiet)
	require.NoError(t, err)
	require.Empty(t, second, "a second run applies nothing")

	var projects int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM projects").Scan(&projects))
	require.Equal(t, 1, projects, "the default project is created once")
	var riverTable bool
	require.NoError(t, pool.QueryRow(ctx, "SELECT to_regclass('river_job') IS NOT NULL").Scan(&riverTable))
	require.True(t, riverTable, "River's tables are migrated by the same command")
}

func TestUpFromTwoProcessesAtOnce(t *testing.T) {
	t.Parallel()
	dbtest.SerialiseMigrations(t) // migration 008 alters a cluster-wide role
	ctx := context.Background()
	dsn := dbtest.NewDatabase(t)
	// Separate pools stand for separate processes: each has its own sessions.
	const runners = 4
	var wg sync.WaitGroup
	applied := make([][]int, runners)
	errors := make([]error, runners)
	for i := 0; i < runners; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			pool, err := pgxpool.New(ctx, dsn)
			if err != nil {
				errors[i] = err
				return
			}
			defer pool.Close()
			applied[i], errors[i] = migrate.Up(ctx, pool, quiet)
		}(i)
	}
	wg.Wait()
	total := 0
	for i := 0; i < runners; i++ {
		require.NoError(t, errors[i])
		total += len(applied[i])
	}
	all, err := migrate.All()
	require.NoError(t, err)
	require.Equal(t, len(all), total, "each migration applied exactly once across runners")

	pool, err := pgxpool.New(ctx, dsn)
	require.NoError(t, err)
	defer pool.Close()
	require.NoError(t, migrate.Check(ctx, pool))
}

func TestEnsureDatabaseCreatesMissingDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := dbtest.NewDatabase(t)
	// Drop the database, then let EnsureDatabase create it again.
	dbtest.MustExec(t, dbtest.AdminURL(), "DROP DATABASE "+dbName(t, dsn)+" WITH (FORCE)")
	require.NoError(t, migrate.EnsureDatabase(ctx, dsn, quiet))
	require.NoError(t, migrate.EnsureDatabase(ctx, dsn, quiet), "and leaves an existing one alone")
	pool, err := pgxpool.New(ctx, dsn)
	require.NoError(t, err)
	defer pool.Close()
	require.NoError(t, pool.Ping(ctx))
}

func dbName(t *testing.T, dsn string) string {
	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(t, err)
	return cfg.ConnConfig.Database
}
