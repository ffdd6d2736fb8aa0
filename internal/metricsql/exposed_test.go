package metricsql_test

import (
	"testing"
	"time"

	"github.com/waypost/waypost/internal/metricsql"
)

// The exposures statement counts the users of the analysis window per
// variant by the same per-user rule as the metric statements: users seen
// in two variants are excluded, exposures before the start or after the
// end do not count; it equals every metric's users on the same data.
func TestExposedCountsUsersLikeTheMetricStatements(t *testing.T) {
	t.Parallel()
	ctx, conn := setup(t, `INSERT INTO exposures VALUES
  ('e', 'u3', 'treatment', '2026-01-03Z', 3),
  ('e', 'both', 'control', '2026-01-04Z', 4), ('e', 'both', 'treatment', '2026-01-05Z', 4),
  ('e', 'old', 'control', '2025-06-01Z', 5),
  ('e', 'late', 'control', '2026-03-01Z', 6),
  ('other', 'x', 'control', '2026-01-02Z', 7);`)
	db := metricsql.PostgresDB(conn)
	s := spec(okExposures, `SELECT user_id, ts AS "timestamp", value FROM events`)
	s.AnalysisStart = time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	got, sql, _, err := metricsql.RunExposed(ctx, db, s, 5*time.Second)
	if err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	want := map[string]int64{"control": 1, "treatment": 2}
	if len(got.Users) != 2 || got.Users["control"] != 1 || got.Users["treatment"] != 2 || got.ExcludedUsers != 1 {
		t.Fatalf("exposed %+v, want users %v and 1 excluded", got, want)
	}
	counts, err := metricsql.Run(ctx, db, s, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range counts.Variants {
		if v.Users != got.Users[v.Variant] {
			t.Errorf("%s: metric statement %d users, exposures statement %d", v.Variant, v.Users, got.Users[v.Variant])
		}
	}
	if counts.ExcludedUsers != got.ExcludedUsers {
		t.Errorf("excluded: metric %d, exposures %d", counts.ExcludedUsers, got.ExcludedUsers)
	}

	// Every dialect writes it (ClickHouse and MySQL run in the worker's
	// engine tests); a bad exposures query is refused before running.
	for _, d := range []metricsql.Dialect{metricsql.Postgres, metricsql.ClickHouse, metricsql.MySQL} {
		if _, _, err := metricsql.BuildExposed(d, s); err != nil {
			t.Errorf("%s: %v", d.Kind(), err)
		}
		bad := s
		bad.ExposuresSQL = "DELETE FROM exposures"
		if _, _, err := metricsql.BuildExposed(d, bad); err == nil {
			t.Errorf("%s: a DELETE as exposures query was accepted", d.Kind())
		}
	}
}
