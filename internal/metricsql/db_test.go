package metricsql_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/metricsql"
	"github.com/waypost/waypost/internal/stats"
)

const fixture = `
CREATE TABLE exposures (experiment_key text, user_id text, variant text, ts timestamptz, n int);
INSERT INTO exposures VALUES ('e', 'u1', 'control', '2026-01-01Z', 1), ('e', 'u2', 'treatment', '2026-01-01Z', 2);
CREATE TABLE events (user_id text, ts timestamptz, value numeric, label text, uid int);
INSERT INTO events VALUES ('u1', '2026-01-02Z', 3.5, 'a', 1);
`

// setup loads the fixture (and extra SQL) and returns a connection as a
// role that may only read it (user SQL refuses superusers).
func setup(t *testing.T, extra ...string) (context.Context, *pgx.Conn) {
	t.Helper()
	connString := dbtest.NewDatabase(t)
	dbtest.MustExec(t, connString, fixture+strings.Join(extra, "\n"))
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbtest.ReaderURL(t, connString))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return ctx, conn
}

func spec(exposures, metric string) metricsql.Spec {
	return metricsql.Spec{
		ExposuresSQL: exposures, MetricSQL: metric, MetricType: stats.Revenue,
		ExperimentKey: "e", AnalysisEnd: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
	}
}

const okExposures = `SELECT experiment_key, user_id, variant, ts AS "timestamp" FROM exposures`

func rowCount(t *testing.T, ctx context.Context, conn *pgx.Conn, table string) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestReadOnlyRefusesWrites(t *testing.T) {
	t.Parallel()
	ctx, conn := setup(t)

	// The transaction itself refuses a data-modifying CTE (no validation involved).
	err := metricsql.ReadOnly(ctx, conn, 5*time.Second, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `WITH d AS (DELETE FROM events RETURNING *) SELECT count(*) FROM d`)
		return err
	})
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || pg.Code != "25006" {
		t.Fatalf("want read_only_sql_transaction (25006), got %v", err)
	}
	if msg, ok := metricsql.DatabaseMessage(err); !ok || !strings.Contains(msg, "read-only transaction") {
		t.Errorf("database message %q, %v", msg, ok)
	}

	// A metric query that deletes, wrapped by Build, is refused at run time.
	_, err = metricsql.Run(ctx, metricsql.PostgresDB(conn), spec(okExposures,
		`WITH d AS (DELETE FROM events RETURNING user_id, ts, value) SELECT user_id, ts AS "timestamp", value FROM d`), 5*time.Second)
	if msg, ok := metricsql.DatabaseMessage(err); !ok || !(strings.Contains(msg, "read-only") || strings.Contains(msg, "top level")) {
		t.Errorf("data-modifying metric query: %v", err)
	}
	// Statements that are not SELECTs or that chain a second statement are
	// refused before reaching the database.
	for _, q := range []string{
		`SELECT user_id, ts AS "timestamp", value FROM events; DROP TABLE events`,
		`DELETE FROM events RETURNING user_id, ts AS "timestamp", value`,
		`INSERT INTO events (user_id) VALUES ('x') RETURNING user_id, ts AS "timestamp", value`,
	} {
		_, err := metricsql.Run(ctx, metricsql.PostgresDB(conn), spec(okExposures, q), 5*time.Second)
		if !errors.Is(err, metricsql.ErrInvalidQuery) {
			t.Errorf("%q: want ErrInvalidQuery, got %v", q, err)
		}
	}
	if n := rowCount(t, ctx, conn, "events"); n != 1 {
		t.Errorf("events has %d rows after the attempts, want 1", n)
	}
}

func TestStatementTimeout(t *testing.T) {
	t.Parallel()
	ctx, conn := setup(t)
	_, err := metricsql.Run(ctx, metricsql.PostgresDB(conn), spec(okExposures,
		`SELECT user_id, ts AS "timestamp", value FROM events, pg_sleep(5)`), 100*time.Millisecond)
	if !errors.Is(err, metricsql.ErrStatementTimeout) {
		t.Fatalf("want ErrStatementTimeout, got %v", err)
	}
	if !strings.Contains(err.Error(), "statement timeout") || !strings.Contains(err.Error(), "100ms") {
		t.Errorf("unclear message: %v", err)
	}
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || pg.Code != "57014" {
		t.Errorf("database error not preserved: %v", err)
	}
	// The connection is still usable afterwards.
	if n := rowCount(t, ctx, conn, "events"); n != 1 {
		t.Errorf("after timeout: %d rows", n)
	}
}

func TestBadSQLKeepsDatabaseMessage(t *testing.T) {
	t.Parallel()
	ctx, conn := setup(t)
	cases := map[string]string{
		`SELECT user_id, ts AS "timestamp", value FROM no_such_table`:  `relation "no_such_table" does not exist`,
		`SELECT user_id, ts AS "timestamp", nope AS value FROM events`: `column "nope" does not exist`,
		`SELEC user_id FROM events`:                                    "",             // not a SELECT: validation
		`SELECT user_id, ts AS "timestamp", value FROM events WHERE`:   `syntax error`, // position refers to the wrapped statement
		`SELECT user_id, ts AS "timestamp", 1/0 AS value FROM events`:  `division by zero`,
	}
	for q, want := range cases {
		_, err := metricsql.Run(ctx, metricsql.PostgresDB(conn), spec(okExposures, q), 5*time.Second)
		if err == nil {
			t.Errorf("%q: no error", q)
			continue
		}
		if want == "" {
			if !errors.Is(err, metricsql.ErrInvalidQuery) {
				t.Errorf("%q: %v", q, err)
			}
			continue
		}
		msg, ok := metricsql.DatabaseMessage(err)
		if !ok || !strings.Contains(msg, want) {
			t.Errorf("%q: database message %q (%v), want %q", q, msg, err, want)
		}
	}
	// A connection failure is not a database message.
	if _, ok := metricsql.DatabaseMessage(errors.New("dial tcp: refused")); ok {
		t.Error("plain error reported as a database message")
	}
}

func TestCheckColumns(t *testing.T) {
	t.Parallel()
	ctx, conn := setup(t)
	check := func(kind, q string, mt stats.MetricType) error {
		if kind == "exposures" {
			return metricsql.CheckExposuresQuery(ctx, metricsql.PostgresDB(conn), q, 5*time.Second)
		}
		return metricsql.CheckMetricQuery(ctx, metricsql.PostgresDB(conn), q, mt, 5*time.Second)
	}
	cases := []struct {
		kind, query string
		mt          stats.MetricType
		want        []string // substrings; none = must pass
	}{
		{"exposures", okExposures, "", nil},
		{"exposures", `SELECT experiment_key, user_id, ts AS "timestamp" FROM exposures`, "",
			[]string{`exposures query: missing column "variant"`}},
		{"exposures", `SELECT experiment_key, n AS user_id, variant, ts FROM exposures`, "",
			[]string{`column "user_id" is int4, want text`, `missing column "timestamp"`}},
		{"exposures", `SELECT experiment_key, user_id, variant, ts AS "Timestamp" FROM exposures`, "",
			[]string{`missing column "timestamp" (found "Timestamp"`}},
		{"exposures", `SELECT experiment_key, user_id, variant AS user_id, ts AS "timestamp" FROM exposures`, "",
			[]string{`column "user_id" appears 2 times`, `missing column "variant"`}},
		{"metric", `SELECT user_id, ts AS "timestamp", value FROM events`, stats.Revenue, nil},
		{"metric", `SELECT user_id, ts AS "timestamp" FROM events`, stats.Binomial, nil},
		{"metric", `SELECT user_id::varchar, ts::timestamp AS "timestamp", uid AS value FROM events`, stats.Duration, nil},
		{"metric", `SELECT user_id, ts AS "timestamp" FROM events`, stats.Revenue,
			[]string{`metric query: missing column "value"`}},
		{"metric", `SELECT user_id, ts AS "timestamp", label AS value FROM events`, stats.Revenue,
			[]string{`metric query: column "value" is text, want a number`}},
		{"metric", `SELECT user_id, ts::date AS "timestamp" FROM events`, stats.Count,
			[]string{`column "timestamp" is date, want a timestamp`}},
		{"metric", `SELECT user_id, ts AS "timestamp" FROM nowhere`, stats.Count,
			[]string{`relation "nowhere" does not exist`}},
	}
	for _, tc := range cases {
		err := check(tc.kind, tc.query, tc.mt)
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tc.query, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error, want %q", tc.query, tc.want)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", tc.query, err, w)
			}
		}
	}
	// Describe prepares without running: a write is not executed.
	if err := check("metric", `WITH d AS (DELETE FROM events RETURNING user_id, ts) SELECT user_id, ts AS "timestamp" FROM d`, stats.Count); err != nil {
		t.Errorf("describe of a data-modifying CTE: %v", err)
	}
	if n := rowCount(t, ctx, conn, "events"); n != 1 {
		t.Errorf("describe changed data: %d rows", n)
	}
}

func TestRunSmall(t *testing.T) {
	t.Parallel()
	ctx, conn := setup(t)
	// numeric values, default window, one user without events.
	counts, err := metricsql.Run(ctx, metricsql.PostgresDB(conn), spec(okExposures, `SELECT user_id, ts AS "timestamp", value FROM events`), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := counts.Ordered([]string{"control", "treatment", "unused"})
	want := []stats.VariantData{
		{Variant: "control", Users: 1, Sum: 3.5, SumSquares: 12.25},
		{Variant: "treatment", Users: 1},
		{Variant: "unused"},
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("variant %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if counts.ExcludedUsers != 0 {
		t.Errorf("excluded %d", counts.ExcludedUsers)
	}
	// A metric query may read the user's own "exposures" table: the
	// generated CTE names must not shadow it (column n exists only there).
	counts, err = metricsql.Run(ctx, metricsql.PostgresDB(conn), spec(okExposures,
		`SELECT ev.user_id, ev.ts AS "timestamp", ev.value FROM events ev JOIN exposures x ON x.user_id = ev.user_id WHERE x.n = 1`), 5*time.Second)
	if err != nil || counts.Ordered([]string{"control"})[0].Sum != 3.5 {
		t.Errorf("metric query reading the exposures table: %+v, %v", counts, err)
	}
	// Another experiment key: no rows at all.
	s := spec(okExposures, `SELECT user_id, ts AS "timestamp", value FROM events`)
	s.ExperimentKey = "other"
	counts, err = metricsql.Run(ctx, metricsql.PostgresDB(conn), s, 5*time.Second)
	if err != nil || len(counts.Variants) != 0 {
		t.Errorf("other key: %+v, %v", counts, err)
	}
	res := stats.Analyze(counts.Ordered([]string{"control", "treatment"}), stats.Options{MetricType: stats.Revenue})
	if res.Status != stats.StatusOneArm {
		t.Errorf("no data: status %s", res.Status)
	}
}

// Exposures before the experiment's start (from an earlier run under the
// same key, say) do not count.
func TestExposuresBeforeStartAreIgnored(t *testing.T) {
	t.Parallel()
	ctx, conn := setup(t, `INSERT INTO exposures VALUES ('e', 'old', 'control', '2025-06-01Z', 3);`)
	s := spec(okExposures, `SELECT user_id, ts AS "timestamp", value FROM events`)
	counts, err := metricsql.Run(ctx, metricsql.PostgresDB(conn), s, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := counts.Ordered([]string{"control"})[0].Users; got != 2 {
		t.Fatalf("without a start bound: %d control users, want 2", got)
	}
	s.AnalysisStart = time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	counts, err = metricsql.Run(ctx, metricsql.PostgresDB(conn), s, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := counts.Ordered([]string{"control"})[0].Users; got != 1 {
		t.Fatalf("with the start bound: %d control users, want 1 (the 2025 exposure is before the start)", got)
	}
}

// A breakdown by a dimension with 10,000 values keeps the 20 most common
// and groups the rest; summed over the dimension values, the statistics
// equal the overall statement's (the statistics are additive).
func TestDimensionBreakdownIsCappedAndAdditive(t *testing.T) {
	t.Parallel()
	ctx, conn := setup(t, `
CREATE TABLE dim_exposures AS
SELECT 'e'::text AS experiment_key, 'd' || g AS user_id, CASE WHEN g % 2 = 0 THEN 'control' ELSE 'treatment' END AS variant,
       timestamptz '2026-01-01' + g * interval '1 second' AS ts,
       CASE WHEN g % 50 = 0 THEN NULL WHEN g <= 7800 THEN 'c' || (g % 7) ELSE 'rare' || g END AS country
FROM generate_series(1, 18000) g;
CREATE TABLE dim_events AS
SELECT 'd' || (1 + (g * 7919) % 18000) AS user_id, timestamptz '2026-01-01' + g * interval '2 seconds' AS ts, (g % 13)::float8 AS value
FROM generate_series(1, 40000) g;`)
	s := spec(`SELECT experiment_key, user_id, variant, ts AS "timestamp", country FROM dim_exposures`,
		`SELECT user_id, ts AS "timestamp", value FROM dim_events`)
	s.CUPEDWindowDays = 1
	whole, err := metricsql.Run(ctx, metricsql.PostgresDB(conn), s, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	s.Dimension = "country"
	byDim, err := metricsql.Run(ctx, metricsql.PostgresDB(conn), s, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if byDim.DimensionValues != 7+9996+1 { // c0..c6, 9,996 rare values, (none)
		t.Errorf("%d distinct values, want 10004", byDim.DimensionValues)
	}
	if len(byDim.Dimensions) != metricsql.DefaultMaxDimensionValues+1 {
		t.Fatalf("%d dimension rows, want the 20 most common + (other)", len(byDim.Dimensions))
	}
	seen := map[string]bool{}
	for _, d := range byDim.Dimensions {
		seen[d.Value] = true
	}
	for _, want := range []string{"c0", "c6", metricsql.NoDimension, metricsql.OtherDimension} {
		if !seen[want] {
			t.Errorf("no %q row: %v", want, seen)
		}
	}
	if len(whole.Variants) != 2 || len(byDim.Variants) != 2 {
		t.Fatalf("variants %+v / %+v", whole.Variants, byDim.Variants)
	}
	for i, w := range whole.Variants {
		g := byDim.Variants[i]
		if g.Variant != w.Variant || g.Users != w.Users || math.Abs(g.Sum-w.Sum) > 1e-6 || math.Abs(g.SumSquares-w.SumSquares) > 1e-6 ||
			math.Abs(g.Pre.SumProducts-w.Pre.SumProducts) > 1e-6 || math.Abs(g.Pre.Sum-w.Pre.Sum) > 1e-6 {
			t.Errorf("summed over dimensions %+v %+v, overall %+v %+v", g, *g.Pre, w, *w.Pre)
		}
	}
	s.Dimension = `country"; DROP TABLE x; --`
	if _, _, err := metricsql.Build(s); err == nil {
		t.Error("a dimension that is not a column name was accepted")
	}
}
