package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/api"
)

// TestOpenAPICoversEveryRoute walks the real router: a route added without
// documenting it in api/openapi.json fails here.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.mustDo(t, 200, "GET", "/api/v1/openapi.json", nil)
	require.Equal(t, "3.0.3", r.body["openapi"])
	paths := r.body["paths"].(map[string]any)

	srv := api.New(nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	routes := 0
	err := chi.Walk(srv.Router(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if !strings.HasPrefix(route, "/api/") {
			return nil
		}
		route = strings.TrimSuffix(strings.ReplaceAll(route, "/*/", "/"), "/")
		item, ok := paths[route].(map[string]any)
		if !ok {
			t.Errorf("route %s is missing from openapi.json", route)
			return nil
		}
		if _, ok := item[strings.ToLower(method)]; !ok {
			t.Errorf("%s %s is missing from openapi.json", method, route)
		}
		routes++
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, routes, 20)

	// And every documented operation exists (no stale documentation).
	for path, item := range paths {
		for method := range item.(map[string]any) {
			req, _ := http.NewRequest(strings.ToUpper(method), b.url+fillParams(path), nil)
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			var body struct {
				Error struct{ Message string } `json:"error"`
			}
			_ = json.NewDecoder(res.Body).Decode(&body)
			_ = res.Body.Close()
			require.NotEqual(t, http.StatusMethodNotAllowed, res.StatusCode, "%s %s", method, path)
			require.NotEqual(t, "no such route", body.Error.Message, "%s %s is documented but not routed", method, path)
		}
	}
}

func fillParams(path string) string {
	r := strings.NewReplacer("{project}", "default", "{environment}", "production", "{flag}", "nope", "{id}", "1",
		"{connection}", "nope", "{metric}", "nope", "{experiment}", "nope")
	return r.Replace(path)
}
