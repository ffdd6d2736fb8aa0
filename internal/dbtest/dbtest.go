// Package dbtest gives each test its own, freshly created PostgreSQL
// database on the real server, so tests never share state and can run in
// parallel. Nothing is mocked: the database is the one Waypost runs on.
//
// The server is taken from WAYPOST_TEST_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable). Databases are
// named waypost_test_<random> and dropped when the test ends.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// AdminURL returns the connection string of the maintenance database used
// to create and drop per-test databases.
func AdminURL() string {
	if u := os.Getenv("WAYPOST_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// NewDatabase creates an empty database for this test and returns its
// connection string. The database is dropped (with force) at cleanup.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	name := randomName()
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		tb.Fatalf("dbtest: connect to %s: %v (is PostgreSQL running?)", redact(AdminURL()), err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("dbtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() { dropDatabase(tb, name) })

	u, err := url.Parse(AdminURL())
	if err != nil {
		tb.Fatalf("dbtest: parse admin url: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func randomName() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("dbtest: random name: %v", err))
	}
	return "waypost_test_" + hex.EncodeToString(b[:])
}

func dropDatabase(tb testing.TB, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		tb.Logf("dbtest: cleanup connect: %v", err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		tb.Logf("dbtest: drop database %s: %v", name, err)
	}
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}

// MustExec runs statements on the database at connString, failing the test
// on error. It is meant for loading fixtures.
func MustExec(tb testing.TB, connString string, sql string, args ...any) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		tb.Fatalf("dbtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		tb.Fatalf("dbtest: exec: %v", err)
	}
}
