package metricsql

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/stats"
)

// TestBuildOnEveryDialect: CUPED, ratio metrics and dimension breakdowns
// build on ClickHouse and MySQL (no "PostgreSQL only" refusal any more),
// the statement has the row layout's columns, and the same bad specs are
// refused on every engine, a dimension that is not a column name
// included (it is written into the SQL).
func TestBuildOnEveryDialect(t *testing.T) {
	t.Parallel()
	p99 := 0.99
	base := Spec{ExposuresSQL: "SELECT experiment_key, user_id, variant, ts AS timestamp, country FROM exposures",
		MetricSQL: "SELECT user_id, ts AS timestamp, value FROM events", MetricType: stats.Revenue,
		ExperimentKey: "x'; DROP TABLE exposures; --", AnalysisEnd: time.Now(), CUPEDWindowDays: 14, Dimension: "country",
		Denominator: &Denominator{SQL: "SELECT user_id, ts AS timestamp FROM orders", Type: stats.Count},
		Cap:         &Cap{Percentile: &p99}}
	for _, d := range []Dialect{ClickHouse, MySQL} {
		sql, _, err := BuildOn(d, base)
		require.NoError(t, err, d.Kind())
		for _, col := range []string{"dimension_values", "pre_sum_products", "den_sum_products", "sum_squares"} {
			require.Contains(t, sql, col, d.Kind())
		}
		require.NotContains(t, sql, "x'; DROP", "%s: the experiment key is quoted or bound", d.Kind())
		bad := map[string]func(*Spec){
			"dimension must be a column name": func(s *Spec) { s.Dimension = `country"; DROP TABLE x; --` },
			"cannot be binomial":              func(s *Spec) { s.MetricType = stats.Binomial; s.Cap = nil },
			"CUPED window":                    func(s *Spec) { s.CUPEDWindowDays = -1 },
			"denominator query":               func(s *Spec) { s.Denominator = &Denominator{SQL: "DELETE FROM orders", Type: stats.Count} },
			"denominator counts events":       func(s *Spec) { s.Denominator = &Denominator{SQL: "SELECT 1", Type: stats.Binomial} },
			"at most 1000 dimension values":   func(s *Spec) { s.MaxDimensionValues = 1001 },
		}
		for want, set := range bad {
			s := base
			set(&s)
			_, _, err := BuildOn(d, s)
			require.Error(t, err, "%s: %s", d.Kind(), want)
			require.True(t, strings.Contains(err.Error(), want), "%s: %v, want %q", d.Kind(), err, want)
		}
	}
}
