package eventsdb_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/eventsdb"
	"github.com/waypost/waypost/internal/metricsql"
	"github.com/waypost/waypost/internal/scipyref"
	"github.com/waypost/waypost/internal/stats"
	"github.com/waypost/waypost/internal/warehousetest"
)

// abuseCase is a user query that must be stopped with a message naming
// the reason.
type abuseCase struct {
	name string
	sql  string // metric query (run through metricsql.Run), or raw statement when raw
	raw  bool   // run as is with DB.Query: what if it slipped past validation
	want string // in the error message (lower-cased)
}

func abuseCases(kind string) []abuseCase {
	q := func(s string) string { // `timestamp` is quoted differently per engine
		if kind == metricsql.KindMySQL {
			return strings.ReplaceAll(s, `"timestamp"`, "`timestamp`")
		}
		return s
	}
	common := []abuseCase{
		{name: "insert as metric query", sql: "INSERT INTO exposures SELECT * FROM exposures", want: "must be a select"},
		{name: "two statements", sql: q(`SELECT user_id, ts AS "timestamp" FROM events_purchase; DROP TABLE exposures`), want: "more than one statement"},
		{name: "raw two statements", raw: true, sql: "SELECT 1; DROP TABLE exposures", want: "syntax"},
	}
	switch kind {
	case metricsql.KindClickHouse:
		return append(common,
			abuseCase{name: "raw insert", raw: true, sql: "INSERT INTO exposures SELECT * FROM exposures", want: "readonly mode"},
			abuseCase{name: "raw drop", raw: true, sql: "DROP TABLE exposures", want: "readonly mode"},
			abuseCase{name: "lift the limits", sql: `SELECT user_id, ts AS "timestamp" FROM events_purchase SETTINGS max_execution_time = 0`, want: ""},
			abuseCase{name: "system tables", sql: `SELECT name AS user_id, now() AS "timestamp" FROM system.tables`, want: "may not read the system database"},
			abuseCase{name: "quoted system tables", sql: "SELECT name AS user_id, now() AS \"timestamp\" FROM `system`.`users`", want: "may not read the system database"},
			abuseCase{name: "table function", sql: `SELECT toString(number) AS user_id, now() AS "timestamp" FROM remote('127.0.0.1', system.one)`, want: "may not call remote()"},
			abuseCase{name: "sleep", sql: `SELECT user_id, ts AS "timestamp" FROM big WHERE sleep(1) = 0`, want: "timeout"},
			// 500,000,000 events: more than the 1 s limit even for a fast statement.
			abuseCase{name: "heavy", sql: `SELECT user_id, ts AS "timestamp" FROM big ARRAY JOIN range(50) AS r`, want: "timeout"},
			abuseCase{name: "huge result", raw: true, sql: "SELECT user_id FROM events_purchase ARRAY JOIN range(1000) AS r", want: "limit for result exceeded"},
		)
	default:
		return append(common,
			abuseCase{name: "raw insert", raw: true, sql: "INSERT INTO exposures SELECT * FROM exposures", want: "read only transaction"},
			abuseCase{name: "raw drop", raw: true, sql: "DROP TABLE exposures", want: "read only transaction"},
			abuseCase{name: "outfile", sql: "SELECT user_id, ts AS `timestamp` FROM events_purchase INTO OUTFILE '/tmp/waypost-abuse'", want: "syntax"},
			abuseCase{name: "system tables", sql: "SELECT user AS user_id, now() AS `timestamp` FROM mysql.user", want: "may not read the mysql database"},
			abuseCase{name: "information schema", sql: "SELECT table_name AS user_id, now() AS `timestamp` FROM `information_schema`.tables", want: "may not read the information_schema database"},
			abuseCase{name: "load_file", sql: "SELECT load_file('/etc/passwd') AS user_id, now() AS `timestamp`", want: "may not call load_file()"},
			abuseCase{name: "sleep", sql: "SELECT user_id, ts AS `timestamp` FROM events_purchase WHERE SLEEP(5) = 0", want: "timeout"},
			abuseCase{name: "heavy", sql: "SELECT a.user_id, a.ts AS `timestamp` FROM events_purchase a, events_purchase b, events_purchase c", want: "timeout"},
			abuseCase{name: "huge result", raw: true, sql: "SELECT a.user_id FROM events_purchase a, events_purchase b", want: "more than 100000 rows"},
		)
	}
}

// TestAbuseIsStoppedOnEveryWarehouse: writes, several statements, sleeps,
// heavy queries, huge results and reads of the server's own tables are
// stopped on ClickHouse and MariaDB with a message saying why, and the
// data is unchanged. (PostgreSQL's equivalents are in package metricsql.)
func TestAbuseIsStoppedOnEveryWarehouse(t *testing.T) {
	t.Parallel()
	exp, err := scipyref.Read()
	require.NoError(t, err)
	ds := exp.Datasets[0]
	end, err := time.Parse(time.RFC3339, ds.AnalysisEnd)
	require.NoError(t, err)
	for _, kind := range []string{metricsql.KindClickHouse, metricsql.KindMySQL} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			var s warehousetest.Server
			if kind == metricsql.KindClickHouse {
				s = warehousetest.ClickHouse(t)
			} else {
				s = warehousetest.MySQL(t)
			}
			tables, err := ds.Tables()
			require.NoError(t, err)
			rows := map[string]int{}
			for _, tb := range tables {
				s.Exec(t, tb.CreateSQL(kind))
				s.Insert(t, tb.Name, tb.Columns, tb.Rows)
				rows[tb.Name] = len(tb.Rows)
			}
			if kind == metricsql.KindClickHouse {
				// Many blocks: ClickHouse checks its time limit between blocks.
				s.Exec(t, "CREATE TABLE big (user_id String, ts DateTime('UTC')) ENGINE = MergeTree ORDER BY user_id")
				s.Exec(t, "INSERT INTO big SELECT toString(number % 1000000), toDateTime(1769904000 + number % 100000) FROM numbers(10000000)")
			}
			target := eventsdb.Target{Kind: kind, Host: s.Host, Port: s.Port, Database: s.Database, User: s.User,
				SSLMode: "disable", StatementTimeout: time.Second}
			for _, c := range abuseCases(kind) {
				err := eventsdb.With(context.Background(), target, nil, func(ctx context.Context, db metricsql.DB) error {
					if c.raw {
						_, _, err := db.Query(ctx, target.StatementTimeout, c.sql, nil)
						return err
					}
					_, err := metricsql.Run(ctx, db, metricsql.Spec{ExposuresSQL: scipyref.ExposuresSQLFor(kind), MetricSQL: c.sql,
						MetricType: stats.Count, ExperimentKey: ds.ExperimentKey, AnalysisEnd: end}, target.StatementTimeout)
					return err
				})
				require.Error(t, err, c.name)
				msg := strings.ToLower(err.Error())
				if c.want == "timeout" {
					require.True(t, errors.Is(err, metricsql.ErrStatementTimeout), "%s: %v", c.name, err)
					require.Contains(t, msg, "statement timeout", c.name)
				} else {
					require.Contains(t, msg, c.want, c.name)
				}
				// The API shows the database's or the validator's message.
				ae := eventsdb.InvalidQuery("sql", err)
				require.NotContains(t, ae.Error(), "cannot reach", c.name)
			}
			for name, n := range rows {
				err := eventsdb.With(context.Background(), target, nil, func(ctx context.Context, db metricsql.DB) error {
					_, got, err := db.Query(ctx, time.Minute, "SELECT count(*) FROM "+name, nil)
					if err != nil {
						return err
					}
					v, err := metricsql.Float(got[0][0])
					require.NoError(t, err)
					require.Equal(t, float64(n), v, "rows of %s", name)
					return nil
				})
				require.NoError(t, err)
			}
		})
	}
}
