package eventsdb_test

import (
	"context"
	"math"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/eventsdb"
	"github.com/waypost/waypost/internal/metricsql"
	"github.com/waypost/waypost/internal/scipyref"
	"github.com/waypost/waypost/internal/stats"
	"github.com/waypost/waypost/internal/warehousetest"
)

// loadEngine creates a database on the engine's real server with ds
// loaded and returns its target.
func loadEngine(t *testing.T, kind string, ds scipyref.Dataset) eventsdb.Target {
	t.Helper()
	ctx := context.Background()
	switch kind {
	case metricsql.KindPostgres:
		dsn := dbtest.NewDatabase(t)
		conn, err := pgx.Connect(ctx, dsn)
		require.NoError(t, err)
		defer conn.Close(ctx)
		require.NoError(t, ds.Load(ctx, conn))
		u, err := url.Parse(dbtest.ReaderURL(t, dsn)) // user SQL never runs as a superuser
		require.NoError(t, err)
		port, _ := strconv.Atoi(u.Port())
		return eventsdb.Target{Kind: kind, Host: u.Hostname(), Port: port, Database: u.Path[1:], User: u.User.Username(),
			SSLMode: "disable", StatementTimeout: 30 * time.Second}
	}
	var s warehousetest.Server
	if kind == metricsql.KindClickHouse {
		s = warehousetest.ClickHouse(t)
	} else {
		s = warehousetest.MySQL(t)
	}
	tables, err := ds.TablesFor(kind)
	require.NoError(t, err)
	for _, tb := range tables {
		s.Exec(t, tb.CreateSQL(kind))
		s.Insert(t, tb.Name, tb.Columns, tb.Rows)
	}
	return eventsdb.Target{Kind: kind, Host: s.Host, Port: s.Port, Database: s.Database, User: s.User,
		SSLMode: "disable", StatementTimeout: 30 * time.Second}
}

// TestReferenceDatasetsOnEveryEngine: the per-metric statement of every
// dialect gives scipy's sufficient statistics (to 1e-9 relative) on the
// reference datasets, on real PostgreSQL, ClickHouse and MariaDB servers.
func TestReferenceDatasetsOnEveryEngine(t *testing.T) {
	t.Parallel()
	exp, err := scipyref.Read()
	require.NoError(t, err)
	for _, kind := range metricsql.Kinds() {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			for _, ds := range exp.Datasets {
				t.Run(ds.Name, func(t *testing.T) {
					target := loadEngine(t, kind, ds)
					end, err := time.Parse(time.RFC3339, ds.AnalysisEnd)
					require.NoError(t, err)
					err = eventsdb.With(context.Background(), target, nil, func(ctx context.Context, db metricsql.DB) error {
						require.Equal(t, kind, db.Dialect().Kind())
						require.NoError(t, metricsql.CheckExposuresQuery(ctx, db, scipyref.ExposuresSQLFor(kind), time.Minute))
						for _, m := range ds.Metrics {
							if kind == metricsql.KindMySQL && m.HasNaN() { // MySQL has no NaN
								continue
							}
							mt, err := stats.ParseMetricType(m.Type)
							require.NoError(t, err)
							require.NoError(t, metricsql.CheckMetricQuery(ctx, db, m.SQLFor(kind), mt, time.Minute), m.Name)
							spec := metricsql.Spec{ExposuresSQL: scipyref.ExposuresSQLFor(kind),
								MetricSQL: m.SQLFor(kind), MetricType: mt, ExperimentKey: ds.ExperimentKey, AnalysisEnd: end,
								ConversionWindowHours: m.WindowHours, Cap: m.Cap, CUPEDWindowDays: m.CUPEDWindowDays}
							if m.Denominator != nil {
								spec.Denominator = &metricsql.Denominator{SQL: m.DenominatorSQLFor(kind), Type: stats.MetricType(m.Denominator.Type)}
							}
							counts, err := metricsql.Run(ctx, db, spec, 3*time.Minute)
							require.NoError(t, err, m.Name)
							require.Equal(t, m.Expected.ExcludedUsers, counts.ExcludedUsers, "%s excluded users", m.Name)
							got := counts.Ordered(ds.Variants)
							if m.HasNaN() {
								nan := false
								for _, v := range got {
									nan = nan || math.IsNaN(v.Sum)
								}
								require.True(t, nan, "%s: the NaN value reaches the sums: %+v", m.Name, got)
								continue
							}
							require.Len(t, got, len(m.Expected.Variants), m.Name)
							for i, w := range m.Expected.Variants {
								require.Equal(t, w.Variant, got[i].Variant)
								require.Equal(t, w.Users, got[i].Users, "%s %s users", m.Name, w.Variant)
								close9(t, m.Name+" "+w.Variant+" sum", got[i].Sum, w.Sum)
								close9(t, m.Name+" "+w.Variant+" sum_squares", got[i].SumSquares, w.SumSquares)
								for _, p := range []struct {
									name      string
									got, want *stats.PairedSums
								}{{"pre", got[i].Pre, w.Pre}, {"denominator", got[i].Denominator, w.Denominator}} {
									if p.want == nil {
										require.Nil(t, p.got, "%s %s %s sums", m.Name, w.Variant, p.name)
										continue
									}
									require.NotNil(t, p.got, "%s %s %s sums", m.Name, w.Variant, p.name)
									close9(t, m.Name+" "+w.Variant+" "+p.name+" sum", p.got.Sum, p.want.Sum)
									close9(t, m.Name+" "+w.Variant+" "+p.name+" sum_squares", p.got.SumSquares, p.want.SumSquares)
									close9(t, m.Name+" "+w.Variant+" "+p.name+" sum_products", p.got.SumProducts, p.want.SumProducts)
								}
							}
						}
						return nil
					})
					require.NoError(t, err)
				})
			}
		})
	}
}

// close9 compares at 1e-9 relative (1e-9 absolute near zero).
func close9(t *testing.T, name string, got, want float64) {
	t.Helper()
	if d := math.Abs(got - want); d > 1e-9 && d > 1e-9*math.Abs(want) {
		t.Errorf("%s = %.17g, want %.17g", name, got, want)
	}
}
