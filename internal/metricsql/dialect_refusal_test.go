package metricsql

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/stats"
)

// TestOtherDialectsRefusePostgresOnlyAnalyses: CUPED, ratio metrics and
// dimension breakdowns are pushed down on PostgreSQL only; on ClickHouse
// and MySQL the metric fails with a message naming the analysis, never
// with plain sums silently standing in for them.
func TestOtherDialectsRefusePostgresOnlyAnalyses(t *testing.T) {
	t.Parallel()
	base := Spec{ExposuresSQL: "SELECT experiment_key, user_id, variant, ts AS timestamp FROM exposures",
		MetricSQL: "SELECT user_id, ts AS timestamp, value FROM events", MetricType: stats.Revenue,
		ExperimentKey: "x", AnalysisEnd: time.Now()}
	cases := map[string]func(*Spec){
		"CUPED": func(s *Spec) { s.CUPEDWindowDays = 14 },
		"ratio metrics": func(s *Spec) {
			s.Denominator = &Denominator{SQL: "SELECT user_id, ts AS timestamp FROM orders", Type: stats.Count}
		},
		"dimension breakdowns": func(s *Spec) { s.Dimension = "country" },
	}
	for _, d := range []Dialect{ClickHouse, MySQL} {
		_, _, err := BuildFor(d, base)
		require.NoError(t, err, "%s builds the plain statement", d.Kind())
		for name, set := range cases {
			s := base
			set(&s)
			_, _, err := BuildFor(d, s)
			require.ErrorContains(t, err, name, "%s on %s", name, d.Kind())
			require.ErrorContains(t, err, "not available on "+d.Kind()+" yet (PostgreSQL only)", "%s on %s", name, d.Kind())
		}
	}
}
