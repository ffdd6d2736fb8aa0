package eventsdb_test

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/eventsdb"
	"github.com/waypost/waypost/internal/metricsql"
	"github.com/waypost/waypost/internal/stats"
	"github.com/waypost/waypost/internal/warehousetest"
)

// analysesData is a generated experiment exercising every per-user rule
// at once: three variants, users in two variants, repeated exposures,
// exposures before the analysis start and after its end, a dimension
// column (NULL for some users, seven common values of distinct
// frequencies, hundreds of rare ones), metric events before the first
// exposure (CUPED's pre-period, some older than its window), after the
// conversion window and after the end, NULL values, and denominator
// events.
func analysesData() (exposures, events, orders [][]any) {
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	variants := []string{"control", "t1", "t2"}
	for i := 0; i < 4000; i++ {
		user := "u" + strconv.Itoa(i)
		var country any
		switch r := i % 28; {
		case i%37 == 0:
			country = nil
		case i%5 == 0:
			country = "rare" + strconv.Itoa(i)
		default:
			k := 0
			for s := 1; r >= s*(s+1)/2; s++ { // shares 1..7 of 28: distinct frequencies
				k = s
			}
			country = "c" + strconv.Itoa(k)
		}
		first := base.Add(time.Duration(i*97%(10*86400)) * time.Second)
		v := variants[i%3]
		for k := 0; k < 1+i%3; k++ {
			ts := first.Add(time.Duration(k*5000) * time.Second)
			variant := v
			if k == 1 && i%41 == 0 {
				variant = variants[(i+1)%3] // in two variants: excluded
			}
			exposures = append(exposures, []any{"exp", user, variant, ts, country})
		}
		if i%53 == 0 {
			exposures = append(exposures, []any{"exp", "early" + user, v, base.Add(-48 * time.Hour), country}) // before the start
		}
		if i%10 == 0 {
			exposures = append(exposures, []any{"other", user, "x", first, country})
		}
		for k := 0; k < i%7; k++ {
			// From 20 days before to 6 days after the first exposure.
			ts := first.Add(time.Duration((i*7919+k*104729)%(26*86400)-20*86400) * time.Second)
			var value any = float64((i*31+k*17)%200) / 4
			if (i+k)%19 == 0 {
				value = nil
			}
			events = append(events, []any{user, ts, value})
			if k%2 == 0 {
				orders = append(orders, []any{user, ts.Add(time.Hour), float64(1 + k)})
			}
		}
	}
	return exposures, events, orders
}

// loadAnalyses loads analysesData into a fresh database of kind and
// returns its target.
func loadAnalyses(t *testing.T, kind string) eventsdb.Target {
	t.Helper()
	exposures, events, orders := analysesData()
	tables := []struct {
		name string
		cols []string
		rows [][]any
	}{
		{"exposures", []string{"experiment_key", "user_id", "variant", "ts", "country"}, exposures},
		{"events", []string{"user_id", "ts", "value"}, events},
		{"orders", []string{"user_id", "ts", "value"}, orders},
	}
	typ := func(col string) string {
		switch col {
		case "ts":
			return map[string]string{"postgres": "timestamptz", "clickhouse": "DateTime('UTC')", "mysql": "DATETIME"}[kind]
		case "value":
			return map[string]string{"postgres": "double precision", "clickhouse": "Nullable(Float64)", "mysql": "DOUBLE NULL"}[kind]
		case "country":
			return map[string]string{"postgres": "text", "clickhouse": "Nullable(String)", "mysql": "VARCHAR(40) NULL"}[kind]
		}
		return map[string]string{"postgres": "text", "clickhouse": "String", "mysql": "VARCHAR(40)"}[kind]
	}
	create := func(name string, cols []string) string {
		var defs []string
		for _, c := range cols {
			defs = append(defs, c+" "+typ(c))
		}
		q := "CREATE TABLE " + name + " (" + strings.Join(defs, ", ") + ")"
		if kind == metricsql.KindClickHouse {
			q += " ENGINE = MergeTree ORDER BY tuple()"
		}
		return q
	}
	if kind == metricsql.KindPostgres {
		ctx := context.Background()
		dsn := dbtest.NewDatabase(t)
		conn, err := pgx.Connect(ctx, dsn)
		require.NoError(t, err)
		defer conn.Close(ctx)
		for _, tb := range tables {
			_, err := conn.Exec(ctx, create(tb.name, tb.cols))
			require.NoError(t, err)
			_, err = conn.CopyFrom(ctx, pgx.Identifier{tb.name}, tb.cols, pgx.CopyFromRows(tb.rows))
			require.NoError(t, err)
		}
		u, err := url.Parse(dbtest.ReaderURL(t, dsn))
		require.NoError(t, err)
		port, _ := strconv.Atoi(u.Port())
		return eventsdb.Target{Kind: kind, Host: u.Hostname(), Port: port, Database: u.Path[1:], User: u.User.Username(),
			SSLMode: "disable", StatementTimeout: 3 * time.Minute}
	}
	s := warehousetest.MySQL
	if kind == metricsql.KindClickHouse {
		s = warehousetest.ClickHouse
	}
	srv := s(t)
	for _, tb := range tables {
		srv.Exec(t, create(tb.name, tb.cols))
		rows := tb.rows
		if kind == metricsql.KindClickHouse { // typed Nullable values for the native protocol
			rows = make([][]any, len(tb.rows))
			for i, r := range tb.rows {
				rows[i] = make([]any, len(r))
				for j, v := range r {
					switch x := v.(type) {
					case nil:
						if tb.cols[j] == "country" {
							rows[i][j] = (*string)(nil)
						} else {
							rows[i][j] = (*float64)(nil)
						}
					case float64:
						rows[i][j] = &x
					case string:
						if tb.cols[j] == "country" {
							rows[i][j] = &x
						} else {
							rows[i][j] = x
						}
					default:
						rows[i][j] = v
					}
				}
			}
		}
		srv.Insert(t, tb.name, tb.cols, rows)
	}
	return eventsdb.Target{Kind: kind, Host: srv.Host, Port: srv.Port, Database: srv.Database, User: srv.User,
		SSLMode: "disable", StatementTimeout: 3 * time.Minute}
}

// TestEveryAnalysisIsTheSameOnEveryEngine: CUPED covariates, ratio
// metrics, absolute and percentile caps, conversion windows, an analysis
// start and dimension breakdowns (top values and "(other)") give
// PostgreSQL's numbers (to 1e-9) on ClickHouse and MariaDB, for every
// metric type.
func TestEveryAnalysisIsTheSameOnEveryEngine(t *testing.T) {
	t.Parallel()
	window, capValue, p90 := 48.0, 20.0, 0.9
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2026, 3, 12, 12, 0, 0, 0, time.UTC)
	type variantSpec struct {
		name string
		set  func(s *metricsql.Spec)
	}
	variations := []variantSpec{
		{"plain", func(s *metricsql.Spec) {}},
		{"window and start", func(s *metricsql.Spec) { s.ConversionWindowHours = &window; s.AnalysisStart = start }},
		{"CUPED", func(s *metricsql.Spec) { s.CUPEDWindowDays = 7 }},
		{"CUPED with start", func(s *metricsql.Spec) { s.CUPEDWindowDays = 7; s.AnalysisStart = start }},
		{"dimension", func(s *metricsql.Spec) { s.Dimension = "country"; s.MaxDimensionValues = 5 }},
		{"dimension with CUPED and window", func(s *metricsql.Spec) {
			s.Dimension, s.CUPEDWindowDays, s.ConversionWindowHours = "country", 3.5, &window
		}},
	}
	valuedOnly := []variantSpec{
		{"cap value", func(s *metricsql.Spec) { s.Cap = &metricsql.Cap{Value: &capValue} }},
		{"p90 cap with CUPED", func(s *metricsql.Spec) { s.Cap = &metricsql.Cap{Percentile: &p90}; s.CUPEDWindowDays = 7 }},
		{"ratio", func(s *metricsql.Spec) {
			s.Denominator = &metricsql.Denominator{SQL: "SELECT user_id, ts AS timestamp FROM orders", Type: stats.Count}
		}},
		{"ratio of sums with p90 cap and dimension", func(s *metricsql.Spec) {
			s.Denominator = &metricsql.Denominator{SQL: "SELECT user_id, ts AS timestamp, value FROM orders", Type: stats.Revenue}
			s.Cap = &metricsql.Cap{Percentile: &p90}
			s.Dimension = "country"
		}},
	}
	type result struct {
		name   string
		counts metricsql.Counts
	}
	results := map[string][]result{}
	for _, kind := range metricsql.Kinds() {
		target := loadAnalyses(t, kind)
		q := func(s string) string {
			if kind == metricsql.KindMySQL {
				return strings.ReplaceAll(s, "timestamp", "`timestamp`")
			}
			return strings.ReplaceAll(s, "timestamp", `"timestamp"`)
		}
		err := eventsdb.With(context.Background(), target, nil, func(ctx context.Context, db metricsql.DB) error {
			for _, mt := range []stats.MetricType{stats.Binomial, stats.Count, stats.Revenue} {
				vs := variations
				if mt != stats.Binomial {
					vs = append(vs, valuedOnly...)
				}
				for _, v := range vs {
					s := metricsql.Spec{ExposuresSQL: q("SELECT experiment_key, user_id, variant, ts AS timestamp, country FROM exposures"),
						MetricSQL: q("SELECT user_id, ts AS timestamp, value FROM events"), MetricType: mt, ExperimentKey: "exp", AnalysisEnd: end}
					v.set(&s)
					if s.Denominator != nil {
						s.Denominator.SQL = q(s.Denominator.SQL)
					}
					c, err := metricsql.Run(ctx, db, s, 3*time.Minute) // generous: the machine running the tests may be loaded
					require.NoError(t, err, "%s %s %s", kind, mt, v.name)
					results[kind] = append(results[kind], result{fmt.Sprintf("%s %s", mt, v.name), c})
				}
			}
			return nil
		})
		require.NoError(t, err)
	}
	want := results[metricsql.KindPostgres]
	require.NotEmpty(t, want)
	for _, kind := range []string{metricsql.KindClickHouse, metricsql.KindMySQL} {
		got := results[kind]
		require.Len(t, got, len(want))
		for i, w := range want {
			sameCounts(t, kind+" "+w.name, got[i].counts, w.counts)
		}
	}
	// The data exercises what it should: exclusions, pre-period values,
	// more dimension values than kept.
	c := want[len(want)-1].counts
	require.Positive(t, c.ExcludedUsers)
	require.Greater(t, c.DimensionValues, int64(metricsql.DefaultMaxDimensionValues))
	require.Len(t, c.Dimensions, metricsql.DefaultMaxDimensionValues+1)
	require.Positive(t, want[2].counts.Variants[0].Pre.SumProducts)
}

func sameCounts(t *testing.T, name string, got, want metricsql.Counts) {
	t.Helper()
	require.Equal(t, want.ExcludedUsers, got.ExcludedUsers, "%s excluded users", name)
	require.Equal(t, want.DimensionValues, got.DimensionValues, "%s dimension values", name)
	sameVariants(t, name, got.Variants, want.Variants)
	require.Len(t, got.Dimensions, len(want.Dimensions), "%s dimension rows", name)
	sort.Slice(got.Dimensions, func(i, j int) bool { return got.Dimensions[i].Value < got.Dimensions[j].Value })
	sort.Slice(want.Dimensions, func(i, j int) bool { return want.Dimensions[i].Value < want.Dimensions[j].Value })
	for i, w := range want.Dimensions {
		g := got.Dimensions[i]
		require.Equal(t, w.Value, g.Value, "%s dimension %d", name, i)
		require.Equal(t, w.ExcludedUsers, g.ExcludedUsers, "%s %s excluded users", name, w.Value)
		sameVariants(t, name+" "+w.Value, g.Variants, w.Variants)
	}
}

func sameVariants(t *testing.T, name string, got, want []stats.VariantData) {
	t.Helper()
	require.Len(t, got, len(want), name)
	for i, w := range want {
		g := got[i]
		require.Equal(t, w.Variant, g.Variant, name)
		require.Equal(t, w.Users, g.Users, "%s %s users", name, w.Variant)
		close9(t, name+" "+w.Variant+" sum", g.Sum, w.Sum)
		close9(t, name+" "+w.Variant+" sum_squares", g.SumSquares, w.SumSquares)
		for _, p := range []struct {
			what      string
			got, want *stats.PairedSums
		}{{"pre", g.Pre, w.Pre}, {"denominator", g.Denominator, w.Denominator}} {
			if p.want == nil {
				require.Nil(t, p.got, "%s %s %s", name, w.Variant, p.what)
				continue
			}
			require.NotNil(t, p.got, "%s %s %s", name, w.Variant, p.what)
			close9(t, name+" "+w.Variant+" "+p.what+" sum", p.got.Sum, p.want.Sum)
			close9(t, name+" "+w.Variant+" "+p.what+" sum_squares", p.got.SumSquares, p.want.SumSquares)
			close9(t, name+" "+w.Variant+" "+p.what+" sum_products", p.got.SumProducts, p.want.SumProducts)
		}
	}
	_ = math.Abs
}
