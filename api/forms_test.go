package api_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// fieldErrors returns error.errors as field -> message.
func fieldErrors(t *testing.T, r response) map[string]string {
	t.Helper()
	e, _ := r.body["error"].(map[string]any)
	list, ok := e["errors"].([]any)
	require.True(t, ok, "no errors list: %s", r.raw)
	out := map[string]string{}
	for _, x := range list {
		m := x.(map[string]any)
		out[m["field"].(string)] = m["message"].(string)
	}
	return out
}

// An empty experiment form: every missing field is flagged at once, as
// "is required" (not a regular expression); field and message name the
// first of them as before.
func TestEmptyExperimentFormFlagsEveryFieldAsRequired(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := "/api/v1/projects/default"
	r := b.do(t, "POST", p+"/experiments", map[string]any{"key": "", "flag": "", "environment": "", "primary_metrics": []string{}, "traffic": 20000})
	require.Equal(t, 422, r.status, r.raw)
	require.Equal(t, "invalid", r.errCode())
	require.Equal(t, "flag", r.errField())
	require.Equal(t, map[string]string{
		"flag":            "is required",
		"environment":     "is required",
		"key":             "is required",
		"primary_metrics": "is required: choose at least one primary metric",
		"traffic":         "must be from 1 to 10000 basis points (100%)",
	}, fieldErrors(t, r))
	require.NotContains(t, r.raw, "^[a-z0-9]", "no regular expression for an empty field")

	// With a flag: its own checks and the form's, all at once.
	b.mustDo(t, 201, "POST", p+"/flags", map[string]any{"key": "f"})
	r = b.do(t, "POST", p+"/experiments", map[string]any{"key": "Bad Key", "flag": "f", "environment": "production",
		"primary_metrics": []string{}, "planned_duration_days": 0})
	require.Equal(t, 422, r.status, r.raw)
	got := fieldErrors(t, r)
	require.Contains(t, got["key"], "lower-case letters", "a malformed key still says what is allowed")
	require.Contains(t, got, "primary_metrics")
	require.Contains(t, got, "planned_duration_days")
	require.Len(t, got, 3)
}

// An empty events-connection form: every required field flagged at once.
func TestEmptyConnectionFormFlagsEveryField(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.do(t, "POST", "/api/v1/projects/default/connections", map[string]any{"key": "", "host": " ", "database": "", "user": "", "exposures_query": "", "port": 70000})
	require.Equal(t, 422, r.status, r.raw)
	require.Equal(t, "key", r.errField())
	require.Equal(t, map[string]string{
		"key":             "is required",
		"host":            "is required",
		"port":            "must be from 1 to 65535",
		"database":        "is required",
		"user":            "is required",
		"exposures_query": "is required",
	}, fieldErrors(t, r))
}
