package metricsql

import (
	"context"
	"fmt"
	"time"

	"github.com/waypost/waypost/internal/stats"
)

// Engine kinds of an events connection (events_connections.kind).
const (
	KindPostgres   = "postgres"
	KindClickHouse = "clickhouse"
	KindMySQL      = "mysql"
)

// Dialect writes the statements Waypost runs on one engine. A dialect is
// pure SQL generation: running the statements read-only and bounded is
// the job of the engine's DB (package eventsdb). Adding an engine
// (BigQuery, Snowflake...) means one Dialect implementation in one file,
// plus its DB connector in eventsdb; see docs/warehouses.md.
//
// Every dialect implements the same per-user semantics (see the package
// documentation) and returns, per variant, the columns of StatColumns.
type Dialect interface {
	// Kind is the events_connections.kind the dialect serves.
	Kind() string
	// Metric returns the per-metric statement over the validated user
	// queries and its bind arguments; spec has been checked by Build.
	Metric(exposures, metric string, spec Spec, capArg *float64) (string, []any)
	// DailyExposures returns the statement counting, per variant and UTC
	// day, users by their first exposure before end: columns variant
	// (text), day (days since 1970-01-01, an integer) and users (integer).
	DailyExposures(exposures, experimentKey string, end time.Time) (string, []any)
	// Preview wraps a validated user query to return at most limit rows
	// (limit 0: only the columns).
	Preview(query string, limit int) (string, []any)
	// CheckQuery refuses what the engine's read-only mode would not stop
	// (e.g. reading the server's own system tables); nil when the query may
	// run. It is called after ValidateQuery.
	CheckQuery(query string) error
}

// StatColumn is one per-variant sufficient statistic: an aggregate over
// the per-user (capped) value v of the users of a variant.
type StatColumn struct {
	Name string
	// Agg is the aggregate over v written in SQL every dialect accepts
	// (count(*), sum(v), sum(v * v)); dialects only add their casts.
	Agg string
	// Integer: the column is a count (bigint / UInt64), else a double.
	Integer bool
	// Set stores the scanned value into the variant's data.
	Set func(v *stats.VariantData, x float64)
}

// StatColumns is the per-variant contract every dialect's Metric
// statement returns, after the variant column, in this order. Statistics
// needing more per-variant sums (CUPED cross-products, ratio
// numerators) add them here once and every dialect follows.
var StatColumns = []StatColumn{
	{Name: "users", Agg: "count(*)", Integer: true, Set: func(v *stats.VariantData, x float64) { v.Users = int64(x) }},
	{Name: "sum", Agg: "sum(v)", Set: func(v *stats.VariantData, x float64) { v.Sum = x }},
	{Name: "sum_squares", Agg: "sum(v * v)", Set: func(v *stats.VariantData, x float64) { v.SumSquares = x }},
}

// ColKind is what a result column holds, as far as Waypost cares.
type ColKind int

// Column kinds.
const (
	KindOther ColKind = iota
	KindText
	KindTime
	KindNumber
)

func (k ColKind) String() string {
	return [...]string{"other", "text", "a timestamp", "a number"}[k]
}

// Column is a result column of a user query.
type Column struct {
	Name string
	Type string // the engine's type name, for messages
	Kind ColKind
}

// DB is one events database: a pool or a single connection of one
// engine. Every statement runs read-only and bounded by timeout (on
// PostgreSQL a READ ONLY transaction with statement_timeout; see each
// connector in eventsdb for the others).
type DB interface {
	Dialect() Dialect
	// Query runs one statement and returns its columns and rows. Values
	// are nil, string, int64, float64, bool, time.Time or the driver's
	// value for other types.
	Query(ctx context.Context, timeout time.Duration, sql string, args []any) ([]Column, [][]any, error)
	// Describe returns the result columns of a user query (validated by
	// the caller) without returning its rows.
	Describe(ctx context.Context, timeout time.Duration, query string) ([]Column, error)
}

// Dialects by kind.
var dialects = map[string]Dialect{
	KindPostgres:   Postgres,
	KindClickHouse: ClickHouse,
	KindMySQL:      MySQL,
}

// DialectFor returns the dialect of an events-connection kind ("builtin"
// is PostgreSQL).
func DialectFor(kind string) (Dialect, error) {
	if kind == "builtin" || kind == "" {
		return Postgres, nil
	}
	d, ok := dialects[kind]
	if !ok {
		return nil, fmt.Errorf("metricsql: unknown engine %q", kind)
	}
	return d, nil
}

// Kinds lists the external engine kinds.
func Kinds() []string { return []string{KindPostgres, KindClickHouse, KindMySQL} }

// Float converts a numeric value from DB.Query.
func Float(v any) (float64, error) { return toFloat(v) }

// Text converts a text value from DB.Query; false for NULL.
func Text(v any) (string, bool) { return toText(v) }

// toFloat converts a numeric driver value.
func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case int:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case uint32:
		return float64(x), nil
	case string:
		var f float64
		_, err := fmt.Sscan(x, &f)
		return f, err
	}
	return 0, fmt.Errorf("unexpected %T value %v", v, v)
}

func toText(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case *string:
		if x == nil {
			return "", false
		}
		return *x, true
	case []byte:
		return string(x), true
	}
	return fmt.Sprint(v), true
}
