package api_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const builtinMetricSQL = `SELECT user_id, "timestamp", value FROM events_metric WHERE metric = 'purchase'`

func TestExperimentsCRUDAndValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := "/api/v1/projects/default"

	// Every project has the built-in store as its default connection.
	cs := b.mustDo(t, 200, "GET", p+"/connections", nil).items()
	require.Len(t, cs, 1)
	c := cs[0].(map[string]any)
	require.Equal(t, "builtin", c["kind"])
	require.Equal(t, true, c["is_default"])
	b.mustDo(t, 200, "POST", p+"/connections/builtin/test", nil)
	r := b.mustDo(t, 422, "DELETE", p+"/connections/builtin", nil)
	require.Contains(t, r.raw, "cannot be deleted")
	up := b.mustDo(t, 200, "PUT", p+"/connections/builtin", map[string]any{"statement_timeout_ms": 5000, "is_default": true}).body
	require.EqualValues(t, 5000, up["statement_timeout_ms"])

	// User SQL on the built-in store runs as waypost_events_reader: it can
	// read the events tables and nothing else of Waypost's database.
	r = b.mustDo(t, 422, "POST", p+"/metrics/test", map[string]any{"type": "count",
		"sql": `SELECT key_hash::text AS user_id, created_at AS "timestamp" FROM sdk_keys`})
	require.Contains(t, r.raw, "permission denied for table sdk_keys")
	b.mustDo(t, 200, "POST", p+"/metrics/test", map[string]any{"type": "count", "sql": builtinMetricSQL})

	// Metrics on the built-in store.
	r = b.mustDo(t, 422, "POST", p+"/metrics", map[string]any{"key": "rev", "type": "revenue", "sql": `SELECT user_id, "timestamp" FROM events_metric`})
	require.Contains(t, r.raw, `missing column \"value\"`)
	r = b.mustDo(t, 422, "POST", p+"/metrics", map[string]any{"key": "rev", "type": "binomial", "sql": builtinMetricSQL,
		"cap": map[string]any{"kind": "value", "value": 10}})
	require.Equal(t, "cap", r.errField())
	r = b.mustDo(t, 422, "POST", p+"/metrics", map[string]any{"key": "rev", "type": "revenue", "sql": "DELETE FROM events_metric"})
	require.Contains(t, r.raw, "must be a SELECT")
	m := b.mustDo(t, 201, "POST", p+"/metrics", map[string]any{"key": "rev", "type": "revenue", "sql": builtinMetricSQL,
		"cap": map[string]any{"kind": "percentile", "value": 0.99}, "conversion_window_hours": 72}).body
	require.Equal(t, "builtin", m["connection"])
	b.mustDo(t, 409, "POST", p+"/metrics", map[string]any{"key": "rev", "type": "revenue", "sql": builtinMetricSQL})
	b.mustDo(t, 201, "POST", p+"/metrics", map[string]any{"key": "conv", "type": "binomial", "sql": builtinMetricSQL})
	m = b.mustDo(t, 200, "PUT", p+"/metrics/conv", map[string]any{"type": "count", "sql": builtinMetricSQL, "direction": "lower"}).body
	require.Equal(t, "count", m["type"])
	require.Equal(t, "lower", m["direction"])
	require.Len(t, b.mustDo(t, 200, "GET", p+"/metrics", nil).items(), 2)

	// Experiments.
	b.mustDo(t, 201, "POST", p+"/flags", map[string]any{"key": "color", "kind": "string", "variants": []map[string]any{
		{"key": "red", "value": "red"}, {"key": "blue", "value": "blue"}, {"key": "green", "value": "green"}}})
	r = b.mustDo(t, 422, "POST", p+"/experiments", map[string]any{"key": "x", "flag": "color", "environment": "production"})
	require.Equal(t, "primary_metrics", r.errField())
	r = b.mustDo(t, 422, "POST", p+"/experiments", map[string]any{"key": "x", "flag": "color", "environment": "production",
		"primary_metrics": []string{"nope"}})
	require.Equal(t, "primary_metrics[0]", r.errField())
	r = b.mustDo(t, 422, "POST", p+"/experiments", map[string]any{"key": "x", "flag": "color", "environment": "production",
		"primary_metrics": []string{"rev"}, "weights": []map[string]any{{"variant": "red", "weight": 10000}}})
	require.Equal(t, "weights", r.errField())
	r = b.mustDo(t, 422, "POST", p+"/experiments", map[string]any{"key": "x", "flag": "nope", "environment": "production",
		"primary_metrics": []string{"rev"}})
	require.Contains(t, r.raw, "not found")
	x := b.mustDo(t, 201, "POST", p+"/experiments", map[string]any{"key": "x", "flag": "color", "environment": "production",
		"primary_metrics": []string{"rev"}, "secondary_metrics": []string{"conv"}, "traffic": 2000, "hypothesis": "blue sells"}).body
	require.Equal(t, "draft", x["status"])
	require.Equal(t, []any{map[string]any{"variant": "red", "weight": float64(3334)}, map[string]any{"variant": "blue", "weight": float64(3333)},
		map[string]any{"variant": "green", "weight": float64(3333)}}, x["weights"])
	x = b.mustDo(t, 200, "PUT", p+"/experiments/x", map[string]any{"primary_metrics": []string{"conv"}, "traffic": 5000,
		"weights": []map[string]any{{"variant": "red", "weight": 5000}, {"variant": "blue", "weight": 5000}}}).body
	require.Equal(t, []any{"conv"}, x["primary_metrics"])
	require.EqualValues(t, 5000, x["traffic"])
	b.mustDo(t, 409, "DELETE", p+"/metrics/conv", nil)

	// Starting needs the flag on.
	r = b.mustDo(t, 422, "POST", p+"/experiments/x/start", nil)
	require.Contains(t, r.raw, "turn it on first")
	b.mustDo(t, 200, "PATCH", p+"/flags/color/environments/production", map[string]any{"enabled": true})
	x = b.mustDo(t, 200, "POST", p+"/experiments/x/start", nil).body
	require.Equal(t, "running", x["status"])
	b.mustDo(t, 422, "PUT", p+"/experiments/x", map[string]any{"primary_metrics": []string{"conv"}})
	b.mustDo(t, 422, "DELETE", p+"/experiments/x", nil)
	b.mustDo(t, 503, "POST", p+"/experiments/x/refresh", nil) // no job queue on this server
	res := b.mustDo(t, 200, "GET", p+"/experiments/x/results", nil).body
	require.Nil(t, res["latest"])
	b.mustDo(t, 422, "POST", p+"/experiments/x/stop", map[string]any{"ship": "purple"})
	x = b.mustDo(t, 200, "POST", p+"/experiments/x/stop", map[string]any{"ship": "blue"}).body
	require.Equal(t, "blue", x["shipped_variant"])
	b.mustDo(t, 204, "DELETE", p+"/experiments/x", nil)
	b.mustDo(t, 404, "GET", p+"/experiments/x", nil)

	// Power planning for the dashboard.
	pw := b.mustDo(t, 200, "POST", p+"/power", map[string]any{"metric_type": "binomial", "baseline_mean": 0.1,
		"minimum_detectable_effect": 0.05, "users_per_day": 1000}).body
	ss := pw["sample_size"].(map[string]any)
	require.InDelta(t, 56512, ss["users_per_variant"], 2000)
	require.Greater(t, pw["days"], float64(100))
	r = b.mustDo(t, 422, "POST", p+"/power", map[string]any{"metric_type": "revenue", "baseline_mean": 10, "minimum_detectable_effect": 0.05})
	require.Equal(t, "baseline_variance", r.errField())
}

func TestAnalysisSettingsAndRatioMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := "/api/v1/projects/default"

	// A ratio metric: numerator and denominator both checked on the events database.
	r := b.mustDo(t, 422, "POST", p+"/metrics", map[string]any{"key": "rpo", "type": "revenue", "sql": builtinMetricSQL,
		"denominator": map[string]any{"type": "orders", "sql": builtinMetricSQL}})
	require.Equal(t, "denominator.type", r.errField())
	r = b.mustDo(t, 422, "POST", p+"/metrics", map[string]any{"key": "rpo", "type": "binomial", "sql": builtinMetricSQL,
		"denominator": map[string]any{"type": "count", "sql": builtinMetricSQL}})
	require.Equal(t, "denominator", r.errField())
	r = b.mustDo(t, 422, "POST", p+"/metrics", map[string]any{"key": "rpo", "type": "revenue", "sql": builtinMetricSQL,
		"denominator": map[string]any{"type": "revenue", "sql": `SELECT user_id, "timestamp" FROM events_metric`}})
	require.Equal(t, "denominator.sql", r.errField())
	require.Contains(t, r.raw, `missing column \"value\"`)
	m := b.mustDo(t, 201, "POST", p+"/metrics", map[string]any{"key": "rpo", "type": "revenue", "sql": builtinMetricSQL,
		"denominator": map[string]any{"type": "count", "sql": builtinMetricSQL}}).body
	require.Equal(t, map[string]any{"type": "count", "sql": builtinMetricSQL}, m["denominator"])
	m = b.mustDo(t, 200, "PUT", p+"/metrics/rpo", map[string]any{"type": "revenue", "sql": builtinMetricSQL}).body
	require.Nil(t, m["denominator"], "replacing without a denominator makes it a plain metric again")

	b.mustDo(t, 201, "POST", p+"/flags", map[string]any{"key": "color", "kind": "string", "variants": []map[string]any{
		{"key": "red", "value": "red"}, {"key": "blue", "value": "blue"}}})
	b.mustDo(t, 201, "POST", p+"/experiments", map[string]any{"key": "x", "flag": "color", "environment": "production",
		"primary_metrics": []string{"rpo"}})
	s := b.mustDo(t, 200, "GET", p+"/experiments/x/analysis-settings", nil).body
	require.Equal(t, map[string]any{"sequential": true, "sequential_tuning": float64(5000), "cuped": false, "cuped_window_days": float64(14),
		"bayesian": true, "prior_proper": false, "prior_mean": float64(0), "prior_std_dev": 0.3, "correction": "holm-bonferroni", "dimension": ""}, s)
	// Partial updates keep the other fields; bad values are refused with the field named.
	s = b.mustDo(t, 200, "PUT", p+"/experiments/x/analysis-settings", map[string]any{"cuped": true, "cuped_window_days": 7,
		"correction": "benjamini-hochberg"}).body
	require.Equal(t, true, s["cuped"])
	require.EqualValues(t, 7, s["cuped_window_days"])
	require.Equal(t, true, s["sequential"])
	for field, v := range map[string]any{"cuped_window_days": 0, "sequential_tuning": -5, "prior_std_dev": 0, "correction": "bonferroni", "dimension": "country; --"} {
		r = b.mustDo(t, 422, "PUT", p+"/experiments/x/analysis-settings", map[string]any{field: v})
		require.Equal(t, field, r.errField())
	}
	r = b.mustDo(t, 400, "PUT", p+"/experiments/x/analysis-settings", map[string]any{"cupid": true})
	require.Contains(t, r.raw, "unknown field")
	require.Equal(t, "benjamini-hochberg", b.mustDo(t, 200, "GET", p+"/experiments/x/analysis-settings", nil).body["correction"])
	b.mustDo(t, 404, "GET", p+"/experiments/nope/analysis-settings", nil)
}
