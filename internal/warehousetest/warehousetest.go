// Package warehousetest gives each test its own database on the real
// ClickHouse and MySQL/MariaDB servers, as package dbtest does for
// PostgreSQL. Nothing is mocked.
//
// ClickHouse is taken from WAYPOST_TEST_CLICKHOUSE_ADDR (default
// 127.0.0.1:9000, user default, native protocol), MySQL/MariaDB from
// WAYPOST_TEST_MYSQL_ADDR (default 127.0.0.1:3306, user root without a
// password). Databases are named waypost_test_<random> and dropped when
// the test ends. .ci/run installs and starts both servers.
package warehousetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/go-sql-driver/mysql"
)

// Server is one test's database on a real server, with an administrative
// connection (not read-only) for loading fixtures.
type Server struct {
	Kind     string // "clickhouse" or "mysql"
	Host     string
	Port     int
	Database string
	User     string
	exec     func(ctx context.Context, sql string, args ...any) error
	insert   func(ctx context.Context, table string, cols []string, rows [][]any) error
}

// Insert adds rows to table (values in the order of cols), failing the
// test on error.
func (s Server) Insert(tb testing.TB, table string, cols []string, rows [][]any) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.insert(ctx, table, cols, rows); err != nil {
		tb.Fatalf("warehousetest: %s: insert into %s: %v", s.Kind, table, err)
	}
}

// Exec runs a statement with the administrative connection, failing the
// test on error.
func (s Server) Exec(tb testing.TB, sql string, args ...any) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.exec(ctx, sql, args...); err != nil {
		tb.Fatalf("warehousetest: %s: exec: %v\n%s", s.Kind, err, sql)
	}
}

// TryExec is Exec returning the error.
func (s Server) TryExec(ctx context.Context, sql string, args ...any) error {
	return s.exec(ctx, sql, args...)
}

func addr(env, def string) (string, int) {
	a := os.Getenv(env)
	if a == "" {
		a = def
	}
	h, p, err := net.SplitHostPort(a)
	if err != nil {
		panic("warehousetest: " + env + ": " + err.Error())
	}
	port, _ := strconv.Atoi(p)
	return h, port
}

func randomName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "waypost_test_" + hex.EncodeToString(b[:])
}

// ClickHouse creates an empty database on the ClickHouse server.
func ClickHouse(tb testing.TB) Server {
	tb.Helper()
	host, port := addr("WAYPOST_TEST_CLICKHOUSE_ADDR", "127.0.0.1:9000")
	name := randomName()
	open := func(db string) clickhouse.Conn {
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{net.JoinHostPort(host, strconv.Itoa(port))},
			Auth: clickhouse.Auth{Username: "default", Database: db}, DialTimeout: 5 * time.Second})
		if err != nil {
			tb.Fatalf("warehousetest: open ClickHouse: %v", err)
		}
		return conn
	}
	admin := open("default")
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("warehousetest: create ClickHouse database (is clickhouse-server running on %s:%d?): %v", host, port, err)
	}
	conn := open(name)
	tb.Cleanup(func() {
		_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name)
		_ = conn.Close()
	})
	return Server{Kind: "clickhouse", Host: host, Port: port, Database: name, User: "default",
		exec: func(ctx context.Context, sql string, args ...any) error { return conn.Exec(ctx, sql, args...) },
		insert: func(ctx context.Context, table string, cols []string, rows [][]any) error {
			b, err := conn.PrepareBatch(ctx, "INSERT INTO "+table+" ("+strings.Join(cols, ", ")+")")
			if err != nil {
				return err
			}
			for _, r := range rows {
				if err := b.Append(r...); err != nil {
					return err
				}
			}
			return b.Send()
		}}
}

// MySQL creates an empty database on the MySQL/MariaDB server.
func MySQL(tb testing.TB) Server {
	tb.Helper()
	host, port := addr("WAYPOST_TEST_MYSQL_ADDR", "127.0.0.1:3306")
	name := randomName()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "tcp", net.JoinHostPort(host, strconv.Itoa(port))
	cfg.ParseTime, cfg.Loc = true, time.UTC
	cfg.Params = map[string]string{"time_zone": "'+00:00'"}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		tb.Fatalf("warehousetest: open MySQL: %v", err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("warehousetest: create MySQL database (is MariaDB running on %s:%d?): %v", host, port, err)
	}
	cfg.DBName = name
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		tb.Fatalf("warehousetest: open MySQL: %v", err)
	}
	tb.Cleanup(func() {
		_, _ = db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name)
		_ = db.Close()
	})
	return Server{Kind: "mysql", Host: host, Port: port, Database: name, User: "root",
		exec: func(ctx context.Context, sql string, args ...any) error {
			_, err := db.ExecContext(ctx, sql, args...)
			return err
		},
		insert: func(ctx context.Context, table string, cols []string, rows [][]any) error {
			const chunk = 1000
			one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
			for i := 0; i < len(rows); i += chunk {
				part := rows[i:min(i+chunk, len(rows))]
				var args []any
				for _, r := range part {
					args = append(args, r...)
				}
				q := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES " +
					strings.TrimSuffix(strings.Repeat(one+",", len(part)), ",")
				if _, err := db.ExecContext(ctx, q, args...); err != nil {
					return err
				}
			}
			return nil
		}}
}
