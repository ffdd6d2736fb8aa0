package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/api"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/store"
)

// caller is one kind of credential the route walk tries.
type caller struct {
	name string
	b    *testBundle
	// allows reports whether this caller passes a route's level (on a
	// non-protected environment) for method.
	allows func(level, method string) bool
}

func rank(level string) int {
	return map[string]int{"viewer": 1, "editor": 2, "admin": 3}[level]
}

func projectCaller(role string) func(level, method string) bool {
	return func(level, _ string) bool {
		switch level {
		case "signedIn", "personal":
			return true
		case "owner":
			return false
		}
		return rank(role) >= rank(level)
	}
}

// TestEveryRouteHasAnAccessRule walks the chi router's own route list. For
// every /api route: without credentials it answers 401 JSON (public ones
// excepted), and each role gets the handler's answer when its rule allows
// it, else 403. A route without a rule answers 500 and fails here; a rule
// for a route that no longer exists fails too. Non-/api routes (/healthz,
// /readyz, /metrics, the dashboard) are outside the API and its rules.
func TestEveryRouteHasAnAccessRule(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	svc, err := b.st.CreateServiceToken(store.WithActor(ctx, "test"), "default", model.CreateToken{Name: "ci", Role: "editor"})
	require.NoError(t, err)
	callers := []caller{
		{"owner", b, func(string, string) bool { return true }},
		{"admin", b.as(t, "admin"), projectCaller("admin")},
		{"editor", b.as(t, "editor"), projectCaller("editor")},
		{"viewer", b.as(t, "viewer"), projectCaller("viewer")},
		{"no role", b.as(t, "none"), projectCaller("")},
		{"service editor token", b.withToken(svc.Secret), func(level, m string) bool {
			return level != "personal" && projectCaller("editor")(level, m)
		}},
		{"read-only owner token", b.withToken(readOnlyToken(t, b)), func(level, m string) bool {
			// At most a viewer, and no owner: it only reads.
			return level == "signedIn" || (m == "GET" && (level == "personal" || level == "viewer"))
		}},
	}
	rules := api.RouteLevels()
	seen := map[string]bool{}
	a := api.New(nil, nil)
	err = chi.Walk(a.Router(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if !strings.HasPrefix(route, "/api/") {
			return nil
		}
		key := api.RuleKey(method, route)
		seen[key] = true
		rule, ok := rules[key]
		if !ok {
			t.Errorf("%s has no access rule in api/access.go routeRules", key)
			return nil
		}
		path := fillParams(strings.TrimSuffix(strings.ReplaceAll(route, "/*/", "/"), "/"))
		var body any
		if method != "GET" && method != "DELETE" {
			body = map[string]any{}
		}
		anon := b.anon().do(t, method, path, body)
		if rule.Level == "public" {
			require.NotEqual(t, 401, anon.status, "%s is public: %s", key, anon.raw)
		} else {
			require.Equal(t, 401, anon.status, "%s without credentials: %s", key, anon.raw)
			require.Equal(t, "unauthenticated", anon.errCode(), key)
			return nil
		}
		return nil
	})
	require.NoError(t, err)
	for k := range rules {
		require.True(t, seen[k], "routeRules has %s, which is not a route", k)
	}

	// Each caller on each non-public route (in a stable order, so changes
	// that one route makes are seen by the next the same way every run).
	for _, c := range callers {
		err = chi.Walk(a.Router(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
			key := api.RuleKey(method, route)
			rule, ok := rules[key]
			if !strings.HasPrefix(route, "/api/") || !ok || rule.Level == "public" || isSessionEnding(key) {
				return nil
			}
			path := fillParams(strings.TrimSuffix(strings.ReplaceAll(route, "/*/", "/"), "/"))
			var body any
			if method != "GET" && method != "DELETE" {
				body = map[string]any{}
			}
			r := c.b.do(t, method, path, body)
			require.NotEqual(t, 401, r.status, "%s as %s: %s", key, c.name, r.raw)
			require.NotEqual(t, 500, r.status, "%s as %s: %s", key, c.name, r.raw)
			if c.allows(rule.Level, method) {
				require.NotEqual(t, 403, r.status, "%s as %s (rule %s) should reach the handler: %s", key, c.name, rule.Level, r.raw)
			} else {
				require.Equal(t, 403, r.status, "%s as %s (rule %s) should be refused: %s", key, c.name, rule.Level, r.raw)
				require.Equal(t, "forbidden", r.errCode())
			}
			return nil
		})
		require.NoError(t, err)
	}
}

// isSessionEnding: routes that would end the caller's credentials midway
// through the walk (tested on their own in the session tests).
func isSessionEnding(key string) bool {
	return key == "POST /api/v1/auth/logout-everywhere" || key == "DELETE /api/v1/auth/tokens/{id}" || key == "PATCH /api/v1/users/{id}"
}

func readOnlyToken(t *testing.T, b *testBundle) string {
	t.Helper()
	r := b.mustDo(t, 201, "POST", "/api/v1/auth/tokens", map[string]any{"name": "read only", "read_only": true})
	return r.body["secret"].(string)
}

func TestProtectedEnvironmentOnlyAdminsChangeFlags(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createBoolFlag(t, "checkout")
	editor, admin := b.as(t, "editor"), b.as(t, "admin")
	patch := "/api/v1/projects/default/flags/checkout/environments/production"
	editor.mustDo(t, 403, "PUT", "/api/v1/projects/default/environments/production/protection", map[string]any{"protected": true})
	env := admin.mustDo(t, 200, "PUT", "/api/v1/projects/default/environments/production/protection", map[string]any{"protected": true})
	require.Equal(t, true, env.body["protected"])

	r := editor.mustDo(t, 403, "PATCH", patch, map[string]any{"enabled": true})
	require.Contains(t, r.body["error"].(map[string]any)["message"], "protected")
	editor.mustDo(t, 403, "POST", patch+"/assignments", map[string]any{"assignments": []map[string]any{{"user_id": "u", "variant": "on"}}})
	editor.mustDo(t, 200, "PATCH", "/api/v1/projects/default/flags/checkout/environments/development", map[string]any{"enabled": true})
	admin.mustDo(t, 200, "PATCH", patch, map[string]any{"enabled": true})
	// The flag itself (all environments) stays the editors' business.
	editor.mustDo(t, 200, "PATCH", "/api/v1/projects/default/flags/checkout", map[string]any{"version": 1, "description": "x"})

	admin.mustDo(t, 200, "PUT", "/api/v1/projects/default/environments/production/protection", map[string]any{"protected": false})
	editor.mustDo(t, 200, "PATCH", patch, map[string]any{"enabled": false})
	envs := b.mustDo(t, 200, "GET", "/api/v1/projects/default/environments", nil).items()
	for _, e := range envs {
		require.Equal(t, false, e.(map[string]any)["protected"], fmt.Sprint(e))
	}
}

// TestOpenAPIDeclaresSecurity: the document requires a bearer token or the
// session cookie by default, and exactly the public routes opt out.
func TestOpenAPIDeclaresSecurity(t *testing.T) {
	t.Parallel()
	var doc struct {
		Security   []map[string]any                     `json:"security"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			SecuritySchemes map[string]any `json:"securitySchemes"`
		} `json:"components"`
	}
	raw, err := os.ReadFile("openapi.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.Contains(t, doc.Components.SecuritySchemes, "bearerToken")
	require.Contains(t, doc.Components.SecuritySchemes, "sessionCookie")
	require.Equal(t, []map[string]any{{"bearerToken": []any{}}, {"sessionCookie": []any{}}}, doc.Security)
	rules := api.RouteLevels()
	for path, item := range doc.Paths {
		for method, op := range item {
			rule, ok := rules[strings.ToUpper(method)+" "+path]
			require.True(t, ok, "%s %s has no access rule", method, path)
			sec, overrides := op["security"]
			if rule.Level == "public" {
				require.True(t, overrides, "%s %s is public: it must declare security: []", method, path)
				require.Empty(t, sec, "%s %s", method, path)
			} else {
				require.False(t, overrides, "%s %s needs credentials: it must not override the default security", method, path)
			}
		}
	}
}
