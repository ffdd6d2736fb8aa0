package dbtest

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ReaderRole is a login role with no attributes, for tests that run user
// SQL (metric and exposures queries refuse superusers; see
// metricsql.ErrDangerousRole). Roles belong to the server: it is created
// once and shared by every test database.
const ReaderRole = "waypost_test_reader"

// ReaderURL returns connString with ReaderRole as its user, after giving
// the role SELECT on every table of the public schema, now and created
// later by the connString's user.
func ReaderURL(tb testing.TB, connString string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		tb.Fatalf("dbtest: reader: %v", err)
	}
	defer conn.Close(ctx)
	for _, sql := range []string{
		`DO $$ BEGIN CREATE ROLE ` + ReaderRole + ` LOGIN;
		 EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
		`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ` + ReaderRole,
		`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ` + ReaderRole,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			tb.Fatalf("dbtest: reader: %s: %v", sql, err)
		}
	}
	u, err := url.Parse(connString)
	if err != nil {
		tb.Fatalf("dbtest: reader: %v", err)
	}
	u.User = url.User(ReaderRole)
	return u.String()
}
