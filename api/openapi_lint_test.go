package api_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The checks `make lint-api` (Redocly) makes that matter most to client
// generators, run with the Go tests too: unique operationIds, a 4xx answer
// on every operation, typed nullable fields, required lists on response
// objects, a license and the security schemes.
func TestOpenAPIIsLintClean(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("openapi.json")
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.NotEmpty(t, doc["info"].(map[string]any)["license"], "info.license")
	schemes := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)
	require.Equal(t, "cookie", schemes["sessionCookie"].(map[string]any)["in"])
	require.Equal(t, "bearer", schemes["bearerToken"].(map[string]any)["scheme"])

	ids := map[string]string{}
	for path, item := range doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			o := op.(map[string]any)
			id, _ := o["operationId"].(string)
			require.NotEmpty(t, id, "%s %s: operationId", method, path)
			require.Empty(t, ids[id], "operationId %s used twice", id)
			ids[id] = method + " " + path
			has4xx := false
			for code := range o["responses"].(map[string]any) {
				has4xx = has4xx || strings.HasPrefix(code, "4")
			}
			require.True(t, has4xx, "%s %s: no 4xx response", method, path)
		}
	}
	var walk func(x any, at string)
	walk = func(x any, at string) {
		switch v := x.(type) {
		case map[string]any:
			if v["nullable"] == true && v["type"] == nil && v["$ref"] == nil && v["allOf"] == nil {
				t.Errorf("%s: nullable without a type", at)
			}
			for k, c := range v {
				walk(c, at+"/"+k)
			}
		case []any:
			for _, c := range v {
				walk(c, at)
			}
		}
	}
	walk(doc, "#")
	for name, s := range doc["components"].(map[string]any)["schemas"].(map[string]any) {
		sch := s.(map[string]any)
		if sch["type"] == "object" && sch["properties"] != nil && !strings.HasPrefix(name, "Update") && name != "StopExperiment" {
			require.NotEmpty(t, sch["required"], "schema %s: no required list", name)
		}
	}
}
