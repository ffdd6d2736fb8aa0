package eventsdb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/waypost/waypost/internal/metricsql"
)

// ClickHouse limits every Waypost query runs under, besides the
// connection's statement timeout (max_execution_time) and readonly=1 (no
// writes, no settings changes from the user's SQL).
const (
	// ClickHouseMaxMemory is max_memory_usage per query (bytes).
	ClickHouseMaxMemory = 16 << 30
	// ClickHouseMaxResultRows is max_result_rows (result_overflow_mode is
	// left at its default, throw: ClickHouse 18.16 takes only numeric
	// settings over the native protocol).
	ClickHouseMaxResultRows = metricsql.MaxRows
)

// chDB is a ClickHouse events database over the native protocol.
type chDB struct {
	conn driver.Conn
}

func openClickHouse(t Target, maxConns int) (*chDB, error) {
	tlsCfg, err := tlsOne(t)
	if err != nil {
		return nil, err
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Protocol:         clickhouse.Native,
		Addr:             []string{net.JoinHostPort(t.Host, strconv.Itoa(t.Port))},
		Auth:             clickhouse.Auth{Database: t.Database, Username: t.User, Password: t.Password},
		TLS:              tlsCfg,
		DialTimeout:      ConnectTimeout,
		MaxOpenConns:     maxConns,
		MaxIdleConns:     maxConns,
		ConnMaxLifetime:  5 * time.Minute,
		ClientInfo:       clickhouse.ClientInfo{Products: []struct{ Name, Version string }{{Name: "waypost", Version: "1"}}},
		ReadTimeout:      time.Hour, // the statement timeout is max_execution_time; the context bounds the rest
		ConnOpenStrategy: clickhouse.ConnOpenInOrder,
	})
	if err != nil {
		return nil, err
	}
	return &chDB{conn: conn}, nil
}

func (d *chDB) Close() { _ = d.conn.Close() }

func (d *chDB) Dialect() metricsql.Dialect { return metricsql.ClickHouse }

// settings bound one query. readonly=1 also forbids the user's SQL to
// change any of them (a SETTINGS clause is refused).
func chSettings(timeout time.Duration) clickhouse.Settings {
	s := clickhouse.Settings{
		"readonly":         1,
		"max_memory_usage": ClickHouseMaxMemory,
		"max_result_rows":  ClickHouseMaxResultRows + 1,
		// Waypost's statements are logged in system.query_log (duration,
		// memory_usage, rows read) for the server's administrators,
		// whatever the server's default.
		"log_queries": 1,
	}
	if timeout > 0 {
		s["max_execution_time"] = int(math.Ceil(timeout.Seconds()))
	}
	return s
}

func (d *chDB) Query(ctx context.Context, timeout time.Duration, sql string, args []any) ([]metricsql.Column, [][]any, error) {
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

// QueryEach streams the rows to fn block by block (metricsql.Streamer);
// with maxBytes > 0 the server refuses a result over max_result_bytes =
// 2 maxBytes + 1 MiB (its in-memory size, close to the values' bytes),
// checked per block of at most 1,024 rows.
func (d *chDB) QueryEach(ctx context.Context, timeout time.Duration, sql string, args []any, maxBytes int, fn func(row []any) error) ([]metricsql.Column, error) {
	var cols []metricsql.Column
	err := guarded(ctx, timeout, "ClickHouse", func(ctx context.Context) (err error) {
		cols, err = d.each(ctx, timeout, sql, args, maxBytes, fn)
		return err
	})
	if err != nil {
		return nil, chError("run query", timeout, err)
	}
	return cols, nil
}

func (d *chDB) Describe(ctx context.Context, timeout time.Duration, q string) ([]metricsql.Column, error) {
	sql, args := metricsql.ClickHouse.Preview(q, 0)
	cols, _, err := d.Query(ctx, timeout, sql, args)
	return cols, err
}

func (d *chDB) each(ctx context.Context, timeout time.Duration, sql string, args []any, maxBytes int, fn func(row []any) error) ([]metricsql.Column, error) {
	// Stopping early (fn's error) cancels the statement rather than
	// reading the rest of the result to close the rows.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	settings := chSettings(timeout)
	if maxBytes > 0 {
		settings["max_result_bytes"] = 2*maxBytes + 1<<20
		// Blocks of 1,024 rows (not 65,536): the limit is checked per
		// block, so a block of wide rows is refused before it grows huge.
		settings["max_block_size"] = 1024
	}
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(settings))
	rows, err := d.conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	cols := make([]metricsql.Column, len(types))
	for i, ct := range types {
		cols[i] = metricsql.Column{Name: ct.Name(), Type: ct.DatabaseTypeName(), Kind: chKind(ct.DatabaseTypeName())}
	}
	for rows.Next() {
		dest := make([]any, len(types))
		for i, ct := range types {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		row := make([]any, len(dest))
		for i, p := range dest {
			row[i] = plainValue(reflect.ValueOf(p).Elem())
		}
		if err := fn(row); err != nil {
			cancel()
			return nil, err
		}
	}
	return cols, rows.Err()
}

// plainValue dereferences pointers and widens integers, so callers see
// the value types DB.Query documents.
func plainValue(v reflect.Value) any {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if u := v.Uint(); u <= math.MaxInt64 {
			return int64(u)
		}
		return float64(v.Uint())
	case reflect.Float32, reflect.Float64:
		return v.Float()
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	}
	if s, ok := v.Interface().(fmt.Stringer); ok && v.Type().PkgPath() != "time" {
		return s.String()
	}
	return v.Interface()
}

// chKind classifies a ClickHouse type name.
func chKind(typ string) metricsql.ColKind {
	t := typ
	for _, wrap := range []string{"Nullable(", "LowCardinality("} {
		for strings.HasPrefix(t, wrap) {
			t = strings.TrimSuffix(strings.TrimPrefix(t, wrap), ")")
		}
	}
	switch {
	case t == "String", strings.HasPrefix(t, "FixedString("), strings.HasPrefix(t, "Enum"):
		return metricsql.KindText
	case strings.HasPrefix(t, "DateTime"):
		return metricsql.KindTime
	case strings.HasPrefix(t, "Int"), strings.HasPrefix(t, "UInt"), strings.HasPrefix(t, "Float"), strings.HasPrefix(t, "Decimal"):
		return metricsql.KindNumber
	}
	return metricsql.KindOther
}

// ClickHouse error codes Waypost tells apart.
const (
	chTimeoutExceeded = 159 // TIMEOUT_EXCEEDED (max_execution_time)
)

func chError(op string, timeout time.Duration, err error) error {
	var qe *metricsql.QueryError
	if errors.As(err, &qe) || errors.Is(err, metricsql.ErrInvalidQuery) {
		return err
	}
	var ex *clickhouse.Exception
	var se *metricsql.ServerError
	if !errors.As(err, &se) && errors.As(err, &ex) {
		err = &metricsql.ServerError{Engine: "ClickHouse", Code: int(ex.Code), Message: ex.Message, Timeout: ex.Code == chTimeoutExceeded, Err: err}
	}
	return &metricsql.QueryError{Op: op, Timeout: timeout, Err: err}
}

func (d *chDB) ping(ctx context.Context) error {
	if err := d.conn.Ping(ctx); err != nil {
		return chError("connect", 0, err)
	}
	return nil
}

// guardSlack is how long after the statement timeout the client gives up
// on a statement the server has not stopped.
const guardSlack = 2 * time.Second

// guarded runs fn with a client-side deadline of the statement timeout
// plus guardSlack, for a server that does not stop the statement
// itself (ClickHouse 18.16 checks max_execution_time only between blocks,
// so a slow block runs on). A statement cut by that deadline is reported
// as a timeout.
func guarded(ctx context.Context, timeout time.Duration, engine string, fn func(ctx context.Context) error) error {
	if timeout <= 0 {
		return fn(ctx)
	}
	gctx, cancel := context.WithTimeout(ctx, timeout+guardSlack)
	defer cancel()
	err := fn(gctx)
	// The driver's socket deadline is the context's: its i/o timeout can
	// come a moment before the context reports DeadlineExceeded.
	deadline, _ := gctx.Deadline()
	if err != nil && !errors.Is(ctx.Err(), context.Canceled) && !time.Now().Before(deadline.Add(-50*time.Millisecond)) {
		return &metricsql.ServerError{Engine: engine, Message: "the query was cancelled after running past the statement timeout", Timeout: true, Err: err}
	}
	return err
}
