package metricsql

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
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

// Shape says which optional column groups a metric statement returns
// besides variant and StatColumns (the layout of Build's statement, see
// extras_postgres.go): with Dimension, dimension (text) and
// dimension_values (integer) come first; after StatColumns, with CUPED
// pre_sum, pre_sum_squares, pre_sum_products; then, with Ratio, den_sum,
// den_sum_squares, den_sum_products. Every dialect returns this layout.
type Shape struct {
	CUPED, Ratio, Dimension bool
}

// ShapeOf is the layout of spec's statement.
func ShapeOf(spec Spec) Shape {
	return Shape{CUPED: spec.CUPEDWindowDays > 0, Ratio: spec.Denominator != nil, Dimension: spec.Dimension != ""}
}

// Columns is the number of columns of a row of this shape.
func (s Shape) Columns() int {
	n := 1 + len(StatColumns)
	if s.Dimension {
		n += 2
	}
	if s.CUPED {
		n += 3
	}
	if s.Ratio {
		n += 3
	}
	return n
}

// MaxDimensions is the number of dimension values kept by spec (the
// others are grouped as OtherDimension).
func (s Spec) MaxDimensions() int {
	if s.MaxDimensionValues == 0 {
		return DefaultMaxDimensionValues
	}
	return s.MaxDimensionValues
}

// BuildOn checks spec and returns the per-metric statement of dialect d
// and its bind arguments, with every analysis (CUPED covariates, ratio
// denominators, percentile caps, dimension breakdowns) pushed down on
// every engine; the statement's rows have the layout ShapeOf(spec).
// PostgreSQL's is Build's. For the other dialects, the spec passed to
// Dialect.Metric carries the validated queries (the denominator's too).
func BuildOn(d Dialect, spec Spec) (string, []any, error) {
	if d.Kind() == KindPostgres {
		return Build(spec)
	}
	exposures, metric, capArg, err := checkSpec(d, &spec)
	if err != nil {
		return "", nil, err
	}
	sql, args := d.Metric(exposures, metric, spec, capArg)
	return sql, args, nil
}

// checkSpec validates spec for dialect d as Build does for PostgreSQL,
// replacing the denominator query by its validated text, and returns the
// validated exposures and metric queries and the cap argument (absolute
// value or percentile; nil without a cap).
func checkSpec(d Dialect, spec *Spec) (exposures, metric string, capArg *float64, err error) {
	if exposures, err = ValidateFor(d, spec.ExposuresSQL); err != nil {
		return "", "", nil, fmt.Errorf("exposures query: %w", err)
	}
	if metric, err = ValidateFor(d, spec.MetricSQL); err != nil {
		return "", "", nil, fmt.Errorf("metric query: %w", err)
	}
	if !spec.MetricType.Valid() {
		return "", "", nil, fmt.Errorf("metricsql: unknown metric type %q", spec.MetricType)
	}
	if spec.ExperimentKey == "" {
		return "", "", nil, errors.New("metricsql: empty experiment key")
	}
	if spec.AnalysisEnd.IsZero() {
		return "", "", nil, errors.New("metricsql: analysis end is not set")
	}
	if w := spec.ConversionWindowHours; w != nil && (!(*w > 0) || math.IsInf(*w, 0)) {
		return "", "", nil, fmt.Errorf("metricsql: conversion window must be a positive number of hours, got %v", *w)
	}
	if spec.CUPEDWindowDays < 0 || math.IsNaN(spec.CUPEDWindowDays) || spec.CUPEDWindowDays > 3650 {
		return "", "", nil, fmt.Errorf("metricsql: CUPED window must be between 0 and 3650 days, got %v", spec.CUPEDWindowDays)
	}
	if den := spec.Denominator; den != nil {
		if den.Type != stats.Count && den.Type != stats.Duration && den.Type != stats.Revenue {
			return "", "", nil, fmt.Errorf("metricsql: a ratio's denominator counts events or sums values (count, duration or revenue), got %q", den.Type)
		}
		if spec.MetricType == stats.Binomial {
			return "", "", nil, errors.New("metricsql: a ratio metric's numerator cannot be binomial")
		}
		q, err := ValidateFor(d, den.SQL)
		if err != nil {
			return "", "", nil, fmt.Errorf("denominator query: %w", err)
		}
		spec.Denominator = &Denominator{SQL: q, Type: den.Type}
	}
	if c := spec.Cap; c != nil {
		if spec.MetricType == stats.Binomial {
			return "", "", nil, errors.New("metricsql: a cap does not apply to binomial metrics")
		}
		switch {
		case c.Value != nil && c.Percentile != nil:
			return "", "", nil, errors.New("metricsql: set either a cap value or a cap percentile, not both")
		case c.Value != nil:
			if !(*c.Value > 0) || math.IsInf(*c.Value, 0) {
				return "", "", nil, fmt.Errorf("metricsql: cap value must be positive, got %v", *c.Value)
			}
			capArg = c.Value
		case c.Percentile != nil:
			if !(*c.Percentile > 0 && *c.Percentile < 1) {
				return "", "", nil, fmt.Errorf("metricsql: cap percentile must be between 0 and 1, got %v", *c.Percentile)
			}
			capArg = c.Percentile
		default:
			return "", "", nil, errors.New("metricsql: empty cap")
		}
	}
	if dim := spec.Dimension; dim != "" && !dimensionName.MatchString(dim) {
		return "", "", nil, fmt.Errorf("metricsql: dimension must be a column name (letters, digits, _), got %q", dim)
	}
	if spec.MaxDimensionValues < 0 || spec.MaxDimensionValues > 1000 {
		return "", "", nil, fmt.Errorf("metricsql: at most 1000 dimension values, got %d", spec.MaxDimensionValues)
	}
	return exposures, metric, capArg, nil
}

// scanShaped reads the rows of a metric statement of the given shape
// (values as DB.Query returns them), summing a breakdown's rows into the
// overall per-variant statistics as runPostgres does.
func scanShaped(shape Shape, rows [][]any) (Counts, error) {
	var out Counts
	dims := map[string]int{}
	overall := map[string]int{}
	for _, r := range rows {
		if len(r) != shape.Columns() {
			return out, fmt.Errorf("scan metric row: %d columns, want %d", len(r), shape.Columns())
		}
		dimension := ""
		if shape.Dimension {
			dimension, _ = toText(r[0])
			n, err := toFloat(r[1])
			if err != nil {
				return out, fmt.Errorf("scan metric row: column dimension_values: %w", err)
			}
			out.DimensionValues = int64(n)
			r = r[2:]
		}
		var v stats.VariantData
		for i, c := range StatColumns {
			x, err := toFloat(r[1+i])
			if err != nil {
				return out, fmt.Errorf("scan metric row: column %s: %w", c.Name, err)
			}
			c.Set(&v, x)
		}
		rest := r[1+len(StatColumns):]
		paired := func(name string) (*stats.PairedSums, error) {
			var x [3]float64
			for i := range x {
				f, err := toFloat(rest[i])
				if err != nil {
					return nil, fmt.Errorf("scan metric row: %s columns: %w", name, err)
				}
				x[i] = f
			}
			rest = rest[3:]
			return &stats.PairedSums{Sum: x[0], SumSquares: x[1], SumProducts: x[2]}, nil
		}
		var err error
		if shape.CUPED {
			if v.Pre, err = paired("pre_sum"); err != nil {
				return out, err
			}
		}
		if shape.Ratio {
			if v.Denominator, err = paired("den_sum"); err != nil {
				return out, err
			}
		}
		name, ok := toText(r[0])
		if !shape.Dimension {
			if !ok {
				out.ExcludedUsers = v.Users
				continue
			}
			v.Variant = name
			out.Variants = append(out.Variants, v)
			continue
		}
		d, seen := dims[dimension]
		if !seen {
			d = len(out.Dimensions)
			dims[dimension] = d
			out.Dimensions = append(out.Dimensions, DimensionCounts{Value: dimension})
		}
		if !ok {
			out.Dimensions[d].ExcludedUsers += v.Users
			out.ExcludedUsers += v.Users
			continue
		}
		v.Variant = name
		out.Dimensions[d].Variants = append(out.Dimensions[d].Variants, v)
		i, seen := overall[name]
		if !seen {
			i = len(out.Variants)
			overall[name] = i
			out.Variants = append(out.Variants, stats.VariantData{Variant: name})
		}
		add(&out.Variants[i], v)
	}
	sort.Slice(out.Variants, func(i, j int) bool { return out.Variants[i].Variant < out.Variants[j].Variant })
	return out, nil
}

// Streamer is a DB that can hand a statement's rows to a function as
// they arrive instead of buffering them: a caller bounding the bytes it
// keeps (the "test query" preview) stops the statement at the row that
// crosses its bound. maxBytes > 0 also asks the engine to refuse a result
// far larger than that (ClickHouse: max_result_bytes), so a single huge
// block is not even sent. The ClickHouse, MySQL and PostgreSQL DBs are
// Streamers.
type Streamer interface {
	QueryEach(ctx context.Context, timeout time.Duration, sql string, args []any, maxBytes int, fn func(row []any) error) ([]Column, error)
}

// Each runs sql on db and calls fn for each row as it streams in (fn
// returning an error stops the statement and is returned), or, for a DB
// that is not a Streamer, for each row of Query.
func Each(ctx context.Context, db DB, timeout time.Duration, sql string, args []any, maxBytes int, fn func(row []any) error) ([]Column, error) {
	if s, ok := db.(Streamer); ok {
		return s.QueryEach(ctx, timeout, sql, args, maxBytes, fn)
	}
	cols, rows, err := db.Query(ctx, timeout, sql, args)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if err := fn(r); err != nil {
			return cols, err
		}
	}
	return cols, nil
}

// chTooManyRowsOrBytes is ClickHouse's TOO_MANY_ROWS_OR_BYTES
// (max_result_rows, max_result_bytes exceeded).
const chTooManyRowsOrBytes = 396

// ResultTooLarge reports whether the engine refused a result for its
// size (ClickHouse's max_result_bytes set by a Streamer's maxBytes).
func ResultTooLarge(err error) bool {
	var se *ServerError
	return errors.As(err, &se) && se.Engine == "ClickHouse" && se.Code == chTooManyRowsOrBytes
}
