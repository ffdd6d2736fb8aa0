package eventsdb

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/waypost/waypost/internal/metricsql"
)

// myDB is a MySQL or MariaDB events database. Every statement runs in
// START TRANSACTION READ ONLY (rolled back) after SET SESSION TRANSACTION
// READ ONLY (so DDL, which commits implicitly, is refused too) and SET
// SESSION max_statement_time (MariaDB, seconds) or max_execution_time (MySQL,
// milliseconds); multi-statements are off in the driver, so the server
// refuses "SELECT 1; DELETE ...".
type myDB struct {
	db      *sql.DB
	mariadb atomic.Int32 // 0 unknown, 1 MariaDB, 2 MySQL
}

func openMySQL(t Target, maxConns int) (*myDB, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.DBName = t.User, t.Password, t.Database
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	cfg.Timeout = ConnectTimeout
	cfg.ParseTime, cfg.Loc = true, time.UTC
	cfg.Params = map[string]string{"time_zone": "'+00:00'"}
	switch t.SSLMode {
	case "disable":
	case "", "allow", "prefer":
		cfg.TLSConfig = "preferred"
	default:
		tc, err := tlsOne(t)
		if err != nil {
			return nil, err
		}
		cfg.TLS = tc
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return &myDB{db: db}, nil
}

func (d *myDB) Close() { _ = d.db.Close() }

func (d *myDB) Dialect() metricsql.Dialect { return metricsql.MySQL }

func (d *myDB) Describe(ctx context.Context, timeout time.Duration, q string) ([]metricsql.Column, error) {
	sql, args := metricsql.MySQL.Preview(q, 0)
	cols, _, err := d.Query(ctx, timeout, sql, args)
	return cols, err
}

func (d *myDB) Query(ctx context.Context, timeout time.Duration, sql string, args []any) ([]metricsql.Column, [][]any, error) {
	var out [][]any
	cols, err := d.QueryEach(ctx, timeout, sql, args, 0, func(row []any) error {
		if len(out) == metricsql.MaxRows {
			return metricsql.ErrTooManyRows
		}
		out = append(out, row)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return cols, out, nil
}

// QueryEach streams the rows to fn one at a time as the server sends
// them (metricsql.Streamer); maxBytes is left to fn (a row is at most the
// server's max_allowed_packet).
func (d *myDB) QueryEach(ctx context.Context, timeout time.Duration, sql string, args []any, _ int, fn func(row []any) error) ([]metricsql.Column, error) {
	var cols []metricsql.Column
	err := guarded(ctx, timeout, "MySQL", func(ctx context.Context) (err error) {
		cols, err = d.each(ctx, timeout, sql, args, fn)
		return err
	})
	if err != nil {
		return nil, myError("run query", timeout, err)
	}
	return cols, nil
}

func (d *myDB) isMariaDB(ctx context.Context, c *sql.Conn) (bool, error) {
	switch d.mariadb.Load() {
	case 1:
		return true, nil
	case 2:
		return false, nil
	}
	var v string
	if err := c.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v); err != nil {
		return false, err
	}
	m := strings.Contains(strings.ToLower(v), "mariadb")
	if m {
		d.mariadb.Store(1)
	} else {
		d.mariadb.Store(2)
	}
	return m, nil
}

func (d *myDB) each(ctx context.Context, timeout time.Duration, query string, args []any, fn func(row []any) error) ([]metricsql.Column, error) {
	// Stopping early (fn's error) cancels the statement rather than
	// reading the rest of the result to close the rows.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c, err := d.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	maria, err := d.isMariaDB(ctx, c)
	if err != nil {
		return nil, err
	}
	limit := "SET SESSION max_execution_time = " + strconv.FormatInt(timeout.Milliseconds(), 10)
	if maria {
		limit = "SET SESSION max_statement_time = " + strconv.FormatFloat(timeout.Seconds(), 'f', 3, 64)
	}
	// Session-wide read-only too: DDL commits the transaction implicitly
	// and would otherwise run outside it.
	for _, set := range []string{limit, "SET SESSION TRANSACTION READ ONLY"} {
		if _, err := c.ExecContext(ctx, set); err != nil {
			return nil, err
		}
	}
	tx, err := c.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	cols := make([]metricsql.Column, len(types))
	for i, ct := range types {
		cols[i] = metricsql.Column{Name: ct.Name(), Type: strings.ToLower(ct.DatabaseTypeName()), Kind: myKind(ct.DatabaseTypeName())}
	}
	for rows.Next() {
		vals := make([]any, len(types))
		ptrs := make([]any, len(types))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = myValue(cols[i].Kind, string(b))
			}
		}
		if err := fn(vals); err != nil {
			cancel()
			return nil, err
		}
	}
	return cols, rows.Err()
}

// myValue converts a text-protocol value by its column kind.
func myValue(k metricsql.ColKind, s string) any {
	if k == metricsql.KindNumber {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	}
	return s
}

// myKind classifies a MySQL type name (DatabaseTypeName).
func myKind(typ string) metricsql.ColKind {
	t := strings.TrimPrefix(strings.ToUpper(typ), "UNSIGNED ")
	switch t {
	case "CHAR", "VARCHAR", "TEXT", "TINYTEXT", "MEDIUMTEXT", "LONGTEXT", "ENUM", "SET", "BINARY", "VARBINARY":
		return metricsql.KindText
	case "DATETIME", "TIMESTAMP":
		return metricsql.KindTime
	case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "DECIMAL", "FLOAT", "DOUBLE":
		return metricsql.KindNumber
	}
	return metricsql.KindOther
}

// MySQL / MariaDB error numbers for a statement stopped at its time limit.
const (
	myMariaDBStatementTimeout = 1969 // ER_STATEMENT_TIMEOUT
	myMySQLQueryTimeout       = 3024 // ER_QUERY_TIMEOUT
)

func myError(op string, timeout time.Duration, err error) error {
	var qe *metricsql.QueryError
	if errors.As(err, &qe) || errors.Is(err, metricsql.ErrInvalidQuery) {
		return err
	}
	var me *mysql.MySQLError
	var se *metricsql.ServerError
	if !errors.As(err, &se) && errors.As(err, &me) {
		err = &metricsql.ServerError{Engine: "MySQL", Code: int(me.Number), Message: me.Message,
			Timeout: me.Number == myMariaDBStatementTimeout || me.Number == myMySQLQueryTimeout, Err: err}
	}
	return &metricsql.QueryError{Op: op, Timeout: timeout, Err: err}
}

func (d *myDB) ping(ctx context.Context) error {
	if err := d.db.PingContext(ctx); err != nil {
		return myError("connect", 0, err)
	}
	return nil
}
