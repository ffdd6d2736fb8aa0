package api_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A json flag holds OpenFeature's object type: arrays, scalars and null are
// refused when saved, so OFREP never serves a value its schema rejects.
func TestJSONFlagsHoldObjects(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, v := range map[string]any{"array": []int{1, 2, 3}, "string": "x", "number": 1, "bool": true, "null": nil} {
		r := b.mustDo(t, 422, "POST", "/api/v1/projects/default/flags", map[string]any{"key": "j", "kind": "json",
			"variants": []map[string]any{{"key": "a", "value": map[string]any{}}, {"key": "b", "value": v}}})
		require.Equal(t, "variants[1].value", r.errField(), name)
		require.Contains(t, r.body["error"].(map[string]any)["message"], "JSON object", name)
	}
	require.Empty(t, b.mustDo(t, 200, "GET", "/api/v1/projects/default/flags", nil).items(), "nothing half-written")

	f := b.mustDo(t, 201, "POST", "/api/v1/projects/default/flags", map[string]any{"key": "j", "kind": "json",
		"variants": []map[string]any{{"key": "a", "value": map[string]any{}}, {"key": "b", "value": map[string]any{"list": []int{1, 2, 3}}}}}).body
	require.Equal(t, "json", f["kind"])
	require.Equal(t, "variants[1].value", b.mustDo(t, 422, "PATCH", "/api/v1/projects/default/flags/j", map[string]any{"version": 1,
		"variants": []map[string]any{{"key": "a", "value": map[string]any{}}, {"key": "b", "value": []int{1, 2, 3}}}}).errField())
}
