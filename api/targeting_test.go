package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/api"
	"github.com/waypost/waypost/internal/authtest"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/store"
	"github.com/waypost/waypost/sdk/eval"
)

const (
	proj     = "/api/v1/projects/default"
	prodSegs = proj + "/environments/production/segments"
)

func targetingPath(flag string) string {
	return proj + "/flags/" + flag + "/environments/production/targeting"
}

// clause builds a clause body.
func clause(attr, op string, values ...any) map[string]any {
	c := map[string]any{"op": op, "values": values}
	if attr != "" {
		c["attribute"] = attr
	}
	if values == nil {
		delete(c, "values")
	}
	return c
}

func rule(id, variant string, clauses ...map[string]any) map[string]any {
	return map[string]any{"id": id, "clauses": clauses, "variant": variant}
}

func errMessage(r response) string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

func TestTargetingGetAndPut(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createBoolFlag(t, "checkout")
	b.createBoolFlag(t, "beta")

	got := b.mustDo(t, 200, "GET", targetingPath("checkout"), nil).body
	require.Equal(t, []any{}, got["rules"])
	require.Equal(t, []any{}, got["prerequisites"])
	v0 := got["version"].(float64)

	canada := rule("canada-ios", "on", clause("country", "in", "CA"), clause("osVersion", "semver_gte", "17.2"))
	put := b.mustDo(t, 200, "PUT", targetingPath("checkout"), map[string]any{"rules": []any{canada}, "version": v0}).body
	require.Equal(t, v0+1, put["version"])
	require.Len(t, put["rules"], 1)
	got = b.mustDo(t, 200, "GET", targetingPath("checkout"), nil).body
	require.Equal(t, put, got)
	require.Equal(t, "canada-ios", got["rules"].([]any)[0].(map[string]any)["id"])

	// A stale version is a 409 carrying the current one.
	r := b.mustDo(t, 409, "PUT", targetingPath("checkout"), map[string]any{"rules": []any{}, "version": v0})
	require.Equal(t, "version_conflict", r.errCode())
	require.Equal(t, v0+1, r.body["error"].(map[string]any)["current"].(map[string]any)["version"])

	// Every refusal names the rule and the clause, and changes nothing.
	refusals := []struct {
		name  string
		body  map[string]any
		field string
		msg   string
	}{
		{"bad version", map[string]any{"rules": []any{canada, rule("ios", "on", clause("os", "in", "iOS"), clause("v", "semver_gte", "v17"))}},
			"rules[1].clauses[1].values[0]", `"v17" is not a semantic version`},
		{"unknown operator", map[string]any{"rules": []any{rule("r", "on", clause("plan", "like", "pro"))}},
			"rules[0].clauses[0].op", `unknown operator "like"`},
		{"number for a string op", map[string]any{"rules": []any{rule("r", "on", clause("email", "ends_with", 7))}},
			"rules[0].clauses[0].values[0]", "ends_with needs a string"},
		{"invalid regex", map[string]any{"rules": []any{rule("r", "on", clause("email", "matches", "(?i)x"))}},
			"rules[0].clauses[0].values[0]", "rule \"r\""},
		{"equals with two values", map[string]any{"rules": []any{rule("r", "on", clause("plan", "equals", "a", "b"))}},
			"rules[0].clauses[0].values", "exactly one value"},
		{"no values", map[string]any{"rules": []any{rule("r", "on", clause("plan", "in"))}},
			"rules[0].clauses[0].values", "no values"},
		{"empty attribute", map[string]any{"rules": []any{rule("r", "on", clause("", "in", "x"))}},
			"rules[0].clauses[0].attribute", "attribute"},
		{"unknown variant", map[string]any{"rules": []any{rule("r", "maybe", clause("plan", "in", "pro"))}},
			"rules[0].variant", `unknown variant "maybe"`},
		{"unknown segment", map[string]any{"rules": []any{rule("r", "on", clause("", "in_segment", "nope"))}},
			"rules[0].clauses[0].values[0]", `unknown segment "nope"`},
		{"duplicate rule id", map[string]any{"rules": []any{canada, canada}}, "rules[1].id", "canada-ios"},
		{"no clauses", map[string]any{"rules": []any{rule("r", "on")}}, "rules[0].clauses", "no clauses"},
		{"unknown prerequisite", map[string]any{"prerequisites": []any{map[string]any{"flag": "nope", "variants": []string{"on"}}}},
			"prerequisites[0].flag", `unknown flag "nope"`},
		{"prerequisite variant", map[string]any{"prerequisites": []any{map[string]any{"flag": "beta", "variants": []string{"maybe"}}}},
			"prerequisites[0].variants[0]", `no variant "maybe"`},
		{"self prerequisite", map[string]any{"prerequisites": []any{map[string]any{"flag": "checkout", "variants": []string{"on"}}}},
			"prerequisites[0].flag", "its own prerequisite"},
	}
	for _, c := range refusals {
		r := b.mustDo(t, 422, "PUT", targetingPath("checkout"), c.body)
		require.Equal(t, c.field, r.errField(), "%s: %s", c.name, r.raw)
		require.Contains(t, errMessage(r), c.msg, c.name)
	}
	require.Equal(t, got, b.mustDo(t, 200, "GET", targetingPath("checkout"), nil).body, "a refused change writes nothing")

	// Prerequisite cycles are refused when saved.
	b.mustDo(t, 200, "PUT", targetingPath("beta"), map[string]any{"prerequisites": []any{map[string]any{"flag": "checkout", "variants": []string{"on"}}}})
	r = b.mustDo(t, 422, "PUT", targetingPath("checkout"), map[string]any{"rules": []any{canada},
		"prerequisites": []any{map[string]any{"flag": "beta", "variants": []string{"on"}}}})
	require.Equal(t, "prerequisites", r.errField())
	require.Contains(t, errMessage(r), "cycle")

	// Malformed bodies and unknown flags or environments.
	r = b.mustDo(t, 400, "PUT", targetingPath("checkout"), map[string]any{"rules": []any{}, "extra": 1})
	require.Equal(t, "unknown_field", r.errCode())
	r = b.mustDo(t, 400, "PUT", targetingPath("checkout"), map[string]any{"rules": "all"})
	require.Equal(t, "bad_request", r.errCode())
	tooMany := make([]any, eval.MaxRules+1)
	for i := range tooMany {
		tooMany[i] = rule(fmt.Sprint("r", i), "on", clause("n", "gt", i))
	}
	r = b.mustDo(t, 422, "PUT", targetingPath("checkout"), map[string]any{"rules": tooMany})
	require.Equal(t, "rules", r.errField())
	b.mustDo(t, 404, "GET", targetingPath("nope"), nil)
	b.mustDo(t, 404, "PUT", targetingPath("nope"), map[string]any{"rules": []any{}})
	b.mustDo(t, 404, "GET", proj+"/flags/checkout/environments/nope/targeting", nil)

	// Roles: viewers read, editors write, nobody else.
	viewer, editor := b.as(t, "viewer"), b.as(t, "editor")
	require.Equal(t, got, viewer.mustDo(t, 200, "GET", targetingPath("checkout"), nil).body)
	r = viewer.mustDo(t, 403, "PUT", targetingPath("checkout"), map[string]any{"rules": []any{}})
	require.Equal(t, "forbidden", r.errCode())
	b.as(t, "none").mustDo(t, 403, "GET", targetingPath("checkout"), nil)
	b.anon().mustDo(t, 401, "GET", targetingPath("checkout"), nil)
	editor.mustDo(t, 200, "PUT", targetingPath("checkout"), map[string]any{"rules": []any{}})

	// In a protected environment only admins change targeting.
	b.mustDo(t, 200, "PUT", proj+"/environments/production/protection", map[string]any{"protected": true})
	editor.mustDo(t, 403, "PUT", targetingPath("checkout"), map[string]any{"rules": []any{canada}})
	b.as(t, "admin").mustDo(t, 200, "PUT", targetingPath("checkout"), map[string]any{"rules": []any{canada}})
	editor.mustDo(t, 403, "POST", prodSegs, map[string]any{"key": "staff"})
}

func TestSegments(t *testing.T) {
	t.Parallel()
	b := setup(t)
	staffRule := map[string]any{"id": "staff", "clauses": []any{clause("email", "ends_with", "@waypost.dev")}}

	require.Equal(t, []any{}, b.mustDo(t, 200, "GET", prodSegs, nil).body["segments"])
	sg := b.mustDo(t, 201, "POST", prodSegs, map[string]any{"key": "beta", "included": []string{"u1", "u2", "u1"},
		"excluded": []string{"u3"}, "rules": []any{staffRule}}).body
	require.Equal(t, "beta", sg["name"], "the name defaults to the key")
	require.Equal(t, []any{"u1", "u2"}, sg["included"], "duplicate ids are dropped")
	require.Equal(t, []any{"u3"}, sg["excluded"])
	require.EqualValues(t, 1, sg["version"])
	require.Equal(t, sg, b.mustDo(t, 200, "GET", prodSegs+"/beta", nil).body)

	list := b.mustDo(t, 200, "GET", prodSegs, nil).body["segments"].([]any)
	require.Len(t, list, 1)
	summary := list[0].(map[string]any)
	require.EqualValues(t, 2, summary["included_count"])
	require.EqualValues(t, 1, summary["excluded_count"])
	require.Nil(t, summary["included"], "lists stay out of the list")
	// Segments are per environment.
	require.Equal(t, []any{}, b.mustDo(t, 200, "GET", proj+"/environments/development/segments", nil).body["segments"])
	b.mustDo(t, 404, "GET", proj+"/environments/development/segments/beta", nil)

	// Refusals.
	r := b.mustDo(t, 409, "POST", prodSegs, map[string]any{"key": "beta"})
	require.Equal(t, "duplicate", r.errCode())
	r = b.mustDo(t, 422, "POST", prodSegs, map[string]any{"key": "Beta!"})
	require.Equal(t, "key", r.errField())
	r = b.mustDo(t, 422, "POST", prodSegs, map[string]any{"name": "no key"})
	require.Equal(t, "key", r.errField())
	r = b.mustDo(t, 422, "POST", prodSegs, map[string]any{"key": "x", "included": []string{"ok", ""}})
	require.Equal(t, "included[1]", r.errField())
	r = b.mustDo(t, 422, "POST", prodSegs, map[string]any{"key": "x", "rules": []any{rule("r", "on", clause("a", "in", "b"))}})
	require.Equal(t, "rules[0]", r.errField())
	require.Contains(t, errMessage(r), "serves nothing")
	r = b.mustDo(t, 422, "POST", prodSegs, map[string]any{"key": "x", "rules": []any{map[string]any{"id": "r",
		"clauses": []any{clause("", "in_segment", "beta")}}}})
	require.Equal(t, "rules[0].clauses[0].op", r.errField())
	r = b.mustDo(t, 422, "POST", prodSegs, map[string]any{"key": "x", "rules": []any{map[string]any{"id": "r",
		"clauses": []any{clause("v", "semver_lt", "1.02")}}}})
	require.Equal(t, "rules[0].clauses[0].values[0]", r.errField())
	r = b.mustDo(t, 400, "POST", prodSegs, map[string]any{"key": "x", "members": []string{}})
	require.Equal(t, "unknown_field", r.errCode())
	b.mustDo(t, 404, "POST", proj+"/environments/nope/segments", map[string]any{"key": "x"})
	b.mustDo(t, 404, "GET", prodSegs+"/nope", nil)
	require.Len(t, b.mustDo(t, 200, "GET", prodSegs, nil).body["segments"], 1, "refused segments are not created")

	// Update: the key stays, a stale version is a 409.
	up := b.mustDo(t, 200, "PUT", prodSegs+"/beta", map[string]any{"key": "ignored", "name": "Beta users",
		"included": []string{"u9"}, "version": 1}).body
	require.Equal(t, "beta", up["key"])
	require.Equal(t, "Beta users", up["name"])
	require.Equal(t, []any{"u9"}, up["included"])
	require.Equal(t, []any{}, up["excluded"])
	require.Equal(t, []any{}, up["rules"])
	require.EqualValues(t, 2, up["version"])
	r = b.mustDo(t, 409, "PUT", prodSegs+"/beta", map[string]any{"name": "Beta", "version": 1})
	require.Equal(t, "version_conflict", r.errCode())
	r = b.mustDo(t, 422, "PUT", prodSegs+"/beta", map[string]any{"rules": []any{map[string]any{"id": "r", "clauses": []any{clause("n", "lt", "ten")}}}})
	require.Equal(t, "rules[0].clauses[0].values[0]", r.errField())
	b.mustDo(t, 404, "PUT", prodSegs+"/nope", map[string]any{"name": "x"})
	require.Equal(t, up, b.mustDo(t, 200, "GET", prodSegs+"/beta", nil).body)

	// A segment in use cannot be deleted; the refusal names the users.
	b.createBoolFlag(t, "checkout")
	b.mustDo(t, 200, "PUT", targetingPath("checkout"), map[string]any{"rules": []any{rule("beta", "on", clause("", "in_segment", "beta"))}})
	createExperimentFixtures(t, b)
	b.mustDo(t, 201, "POST", proj+"/experiments", map[string]any{"key": "exp", "flag": "color", "environment": "production",
		"primary_metrics": []string{"rev"}, "audience": []any{clause("", "in_segment", "beta")}})
	r = b.mustDo(t, 409, "DELETE", prodSegs+"/beta", nil)
	require.Equal(t, "in_use", r.errCode())
	require.Contains(t, errMessage(r), `flag "checkout"`)
	require.Contains(t, errMessage(r), `experiment "exp"`)
	b.mustDo(t, 200, "PUT", targetingPath("checkout"), map[string]any{"rules": []any{}})
	b.mustDo(t, 200, "PUT", proj+"/experiments/exp", map[string]any{"primary_metrics": []string{"rev"}, "audience": []any{}})
	// Archived flags keep their rules (they can be restored), so they count too.
	b.mustDo(t, 200, "PUT", targetingPath("checkout"), map[string]any{"rules": []any{rule("beta", "on", clause("", "in_segment", "beta"))}})
	b.mustDo(t, 200, "POST", proj+"/flags/checkout/archive", nil)
	r = b.mustDo(t, 409, "DELETE", prodSegs+"/beta", nil)
	require.Contains(t, errMessage(r), `flag "checkout"`)
	b.mustDo(t, 200, "POST", proj+"/flags/checkout/restore", nil)
	b.mustDo(t, 200, "PUT", targetingPath("checkout"), map[string]any{"rules": []any{}})
	b.mustDo(t, 204, "DELETE", prodSegs+"/beta", nil)
	b.mustDo(t, 404, "DELETE", prodSegs+"/beta", nil)
	b.mustDo(t, 404, "GET", prodSegs+"/beta", nil)

	// Roles.
	b.mustDo(t, 201, "POST", prodSegs, map[string]any{"key": "customers", "included": []string{"c1"}})
	viewer, editor := b.as(t, "viewer"), b.as(t, "editor")
	viewer.mustDo(t, 200, "GET", prodSegs, nil)
	viewer.mustDo(t, 200, "GET", prodSegs+"/customers", nil)
	for _, c := range []struct{ method, path string }{{"POST", prodSegs}, {"PUT", prodSegs + "/customers"}, {"DELETE", prodSegs + "/customers"}} {
		var body any
		if c.method != "DELETE" {
			body = map[string]any{"key": "v"}
		}
		r := viewer.mustDo(t, 403, c.method, c.path, body)
		require.Equal(t, "forbidden", r.errCode())
	}
	b.anon().mustDo(t, 401, "GET", prodSegs, nil)
	editor.mustDo(t, 201, "POST", prodSegs, map[string]any{"key": "e"})
	editor.mustDo(t, 200, "PUT", prodSegs+"/e", map[string]any{"name": "E"})
	editor.mustDo(t, 204, "DELETE", prodSegs+"/e", nil)
}

// TestLargeSegments saves and lists a segment of 150,000 ids: a body
// over the usual 2 MiB limit (segment bodies may have 16 MiB).
func TestLargeSegments(t *testing.T) {
	t.Parallel()
	b := setupWithTimeout(t, time.Minute) // -race on a loaded machine: the database work can take more than 10 s
	ids := make([]string, 150000)
	for i := range ids {
		ids[i] = fmt.Sprintf("customer-%07d", i)
	}
	big := b.mustDo(t, 201, "POST", prodSegs, map[string]any{"key": "customers", "included": ids}).body
	require.Len(t, big["included"], len(ids))
	list := b.mustDo(t, 200, "GET", prodSegs, nil).body["segments"].([]any)
	require.EqualValues(t, len(ids), list[0].(map[string]any)["included_count"])
	require.Len(t, b.mustDo(t, 200, "GET", prodSegs+"/customers", nil).body["included"], len(ids))
	r := b.mustDo(t, 422, "POST", prodSegs, map[string]any{"key": "too-many", "included": make([]string, eval.MaxSegmentKeys+1)})
	require.Equal(t, "included", r.errField())
	r = b.mustDo(t, 400, "POST", prodSegs, map[string]any{"key": "too-big", "included": []string{strings.Repeat("x", model.MaxSegmentBodyBytes)}})
	require.Contains(t, errMessage(r), "larger than")
}

// setupWithTimeout is setup with another per-request database deadline.
func setupWithTimeout(t *testing.T, timeout time.Duration) *testBundle {
	t.Helper()
	pool, dsn := testDB(t)
	st := store.New(pool)
	a := api.New(st, quietLog())
	a.SetRequestTimeout(timeout)
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return &testBundle{url: srv.URL, pool: pool, dsn: dsn, st: st, api: a, token: authtest.Owner(t, st), logs: &syncBuffer{}}
}

// createExperimentFixtures makes metric "rev" and string flag "color"
// (red, blue, green), on in production.
func createExperimentFixtures(t *testing.T, b *testBundle) {
	t.Helper()
	b.mustDo(t, 201, "POST", proj+"/metrics", map[string]any{"key": "rev", "type": "revenue", "sql": builtinMetricSQL})
	b.mustDo(t, 201, "POST", proj+"/flags", map[string]any{"key": "color", "kind": "string", "variants": []map[string]any{
		{"key": "red", "value": "red"}, {"key": "blue", "value": "blue"}, {"key": "green", "value": "green"}}})
	b.mustDo(t, 200, "PATCH", proj+"/flags/color/environments/production", map[string]any{"enabled": true})
}

func evaluate(t *testing.T, b *testBundle, status int, flag string, ctx map[string]any) map[string]any {
	t.Helper()
	return b.mustDo(t, status, "POST", proj+"/environments/production/evaluate", map[string]any{"flag": flag, "context": ctx}).body
}

func TestEvaluateContext(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createBoolFlag(t, "checkout")
	b.mustDo(t, 201, "POST", prodSegs, map[string]any{"key": "staff", "included": []string{"ann"}, "excluded": []string{"bob"},
		"rules": []any{map[string]any{"id": "mail", "clauses": []any{clause("email", "ends_with", "@waypost.dev")}}}})
	rules := []any{
		rule("staff", "on", clause("", "in_segment", "staff")),
		rule("canada-ios", "on", clause("country", "in", "CA"), clause("osVersion", "semver_gte", "17.2")),
		map[string]any{"id": "pro", "clauses": []any{clause("plan", "in", "pro")}, "bucketBy": "companyId",
			"rollout": []any{map[string]any{"variant": "off", "weight": 5000}, map[string]any{"variant": "on", "weight": 5000}}},
	}
	b.mustDo(t, 200, "PUT", targetingPath("checkout"), map[string]any{"rules": rules})

	// Off: DISABLED, whatever the context.
	ev := evaluate(t, b, 200, "checkout", map[string]any{"targetingKey": "ann"})
	require.Equal(t, "DISABLED", ev["reason"])
	require.Equal(t, false, ev["value"])
	require.Equal(t, "off", ev["variant"])
	b.mustDo(t, 200, "PATCH", proj+"/flags/checkout/environments/production", map[string]any{"enabled": true})

	ev = evaluate(t, b, 200, "checkout", map[string]any{"targetingKey": "ann"})
	require.Equal(t, "TARGETING_MATCH", ev["reason"])
	require.Equal(t, "staff", ev["rule_id"])
	require.Equal(t, true, ev["value"])
	require.Equal(t, "checkout", ev["flag"])
	require.Greater(t, ev["revision"].(float64), float64(0))
	require.Greater(t, ev["flag_version"].(float64), float64(0))
	ev = evaluate(t, b, 200, "checkout", map[string]any{"targetingKey": "bob", "email": "bob@waypost.dev"})
	require.Equal(t, "DEFAULT", ev["reason"], "excluded from the segment; the default rollout (100%% off) serves")
	require.Nil(t, ev["rule_id"])
	ev = evaluate(t, b, 200, "checkout", map[string]any{"targetingKey": "u", "country": "CA", "osVersion": "17.10.1"})
	require.Equal(t, "canada-ios", ev["rule_id"])
	ev = evaluate(t, b, 200, "checkout", map[string]any{"targetingKey": "u", "country": "CA", "osVersion": "17.2.0-beta"})
	require.Equal(t, "DEFAULT", ev["reason"], "a pre-release is below 17.2")
	ev = evaluate(t, b, 200, "checkout", map[string]any{"plan": "pro", "companyId": 1234})
	require.Equal(t, "SPLIT", ev["reason"])
	require.Equal(t, "pro", ev["rule_id"])
	ev = evaluate(t, b, 200, "checkout", map[string]any{"plan": "pro"})
	require.Equal(t, "DEFAULT", ev["reason"], "nothing to bucket by")
	require.Equal(t, "pro", ev["rule_id"])

	// Unknown and archived flags; bad contexts.
	r := b.mustDo(t, 404, "POST", proj+"/environments/production/evaluate", map[string]any{"flag": "nope"})
	require.Equal(t, "not_found", r.errCode())
	b.createBoolFlag(t, "old")
	b.mustDo(t, 200, "POST", proj+"/flags/old/archive", nil)
	ev = evaluate(t, b, 200, "old", nil)
	require.Equal(t, "ERROR", ev["reason"])
	require.Equal(t, "FLAG_NOT_FOUND", ev["error_code"])
	require.Nil(t, ev["value"])
	r = b.mustDo(t, 422, "POST", proj+"/environments/production/evaluate", map[string]any{"flag": "checkout", "context": map[string]any{"targetingKey": 7}})
	require.Equal(t, "context.targetingKey", r.errField())
	r = b.mustDo(t, 422, "POST", proj+"/environments/production/evaluate", map[string]any{"context": map[string]any{}})
	require.Equal(t, "flag", r.errField())
	r = b.mustDo(t, 422, "POST", proj+"/environments/production/evaluate", map[string]any{"flag": "checkout", "context": map[string]any{"": 1}})
	require.Equal(t, "context", r.errField())
	r = b.mustDo(t, 400, "POST", proj+"/environments/production/evaluate", map[string]any{"flag": "checkout", "context": []any{}})
	require.Equal(t, "bad_request", r.errCode())
	b.mustDo(t, 404, "POST", proj+"/environments/nope/evaluate", map[string]any{"flag": "checkout"})

	// Viewers may test contexts; anonymous callers may not.
	ev = evaluate(t, b.as(t, "viewer"), 200, "checkout", map[string]any{"targetingKey": "ann"})
	require.Equal(t, "staff", ev["rule_id"])
	b.anon().mustDo(t, 401, "POST", proj+"/environments/production/evaluate", map[string]any{"flag": "checkout"})

	// The same answer as the provider's flag set for random contexts.
	st, err := b.st.EnvironmentState(context.Background(), envID(t, b, "production"))
	require.NoError(t, err)
	snap, err := eval.Compile(st.Set)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(11, 11))
	pick := func(xs ...any) any { return xs[rng.IntN(len(xs))] }
	for i := 0; i < 200; i++ {
		c := map[string]any{}
		for name, v := range map[string]any{
			"targetingKey": pick("ann", "bob", fmt.Sprint("user-", i), ""), "email": pick("x@waypost.dev", "x@example.com", nil),
			"country": pick("CA", "US", 7.0), "osVersion": pick("17.2", "17.1.9", "18.0.0-rc.1", "x"),
			"plan": pick("pro", "free"), "companyId": pick(float64(i), fmt.Sprint("co-", i), 1.5, nil),
		} {
			if v != nil && rng.IntN(4) > 0 {
				c[name] = v
			}
		}
		want := snap.EvaluateContext("checkout", contextOf(c))
		got := evaluate(t, b, 200, "checkout", c)
		require.Equal(t, want.Reason, got["reason"], "%v", c)
		require.Equal(t, want.Variant, got["variant"], "%v", c)
		ruleID, _ := got["rule_id"].(string)
		require.Equal(t, want.RuleID, ruleID, "%v", c)
	}
}

func contextOf(c map[string]any) *eval.Context {
	out := &eval.Context{Attributes: map[string]any{}}
	for k, v := range c {
		if k == "targetingKey" {
			out.TargetingKey = v.(string)
			continue
		}
		out.Attributes[k] = v
	}
	return out
}

// servedFlag is flag key as the provider serves it in environment env.
func servedFlag(t *testing.T, b *testBundle, env, key string) *eval.Flag {
	t.Helper()
	st, err := b.st.EnvironmentState(context.Background(), envID(t, b, env))
	require.NoError(t, err)
	for i := range st.Set.Flags {
		if st.Set.Flags[i].Key == key {
			return &st.Set.Flags[i]
		}
	}
	t.Fatalf("flag %q is not served in %s", key, env)
	return nil
}

func envID(t *testing.T, b *testBundle, key string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT id FROM environments WHERE key = $1
	   AND project_id = (SELECT id FROM projects WHERE key = 'default')`, key).Scan(&id))
	return id
}

func TestAttributeSuggestions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	attrs := proj + "/environments/production/attributes"
	require.Equal(t, []any{}, b.mustDo(t, 200, "GET", attrs, nil).body["attributes"])

	b.createBoolFlag(t, "checkout")
	b.mustDo(t, 201, "POST", prodSegs, map[string]any{"key": "staff",
		"rules": []any{map[string]any{"id": "mail", "clauses": []any{clause("email", "ends_with", "@waypost.dev")}}}})
	b.mustDo(t, 200, "PUT", targetingPath("checkout"), map[string]any{"rules": []any{
		rule("r1", "on", clause("country", "in", "CA", "US"), clause("", "in_segment", "staff"), clause("targetingKey", "starts_with", "u")),
		map[string]any{"id": "r2", "clauses": []any{clause("plan", "exists")}, "bucketBy": "companyId",
			"rollout": []any{map[string]any{"variant": "off", "weight": 5000}, map[string]any{"variant": "on", "weight": 5000}}},
	}})
	evaluate(t, b, 200, "checkout", map[string]any{"targetingKey": "u1", "country": "FR", "appVersion": "2.1.0", "tags": []any{"a", "b"},
		"long": strings.Repeat("x", 500)})

	got := map[string]map[string]any{}
	var names []string
	for _, a := range b.mustDo(t, 200, "GET", attrs, nil).body["attributes"].([]any) {
		m := a.(map[string]any)
		names = append(names, m["name"].(string))
		got[m["name"].(string)] = m
	}
	require.Equal(t, []string{"appVersion", "companyId", "country", "email", "long", "plan", "tags"}, names,
		"ordered by name; the targeting key and in_segment are not attributes")
	require.Equal(t, "rules", got["country"]["seen"])
	require.Equal(t, []any{"CA", "US", "FR"}, got["country"]["examples"], "rule values, then seen values")
	require.Equal(t, "segments", got["email"]["seen"])
	require.Equal(t, []any{"@waypost.dev"}, got["email"]["examples"])
	require.Equal(t, "rules", got["companyId"]["seen"])
	require.Equal(t, "contexts", got["appVersion"]["seen"])
	require.Equal(t, []any{"2.1.0"}, got["appVersion"]["examples"])
	require.Equal(t, []any{"a", "b"}, got["tags"]["examples"])
	require.Equal(t, []any{}, got["long"]["examples"], "long values are not kept")

	// Per environment; viewers may read.
	require.Equal(t, []any{}, b.mustDo(t, 200, "GET", proj+"/environments/development/attributes", nil).body["attributes"])
	b.as(t, "viewer").mustDo(t, 200, "GET", attrs, nil)
	b.anon().mustDo(t, 401, "GET", attrs, nil)
	b.mustDo(t, 404, "GET", proj+"/environments/nope/attributes", nil)
}

func TestExperimentAudienceAndLayer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	createExperimentFixtures(t, b)
	b.mustDo(t, 201, "POST", prodSegs, map[string]any{"key": "beta", "included": []string{"u1"}})
	exp := func(key string, extra map[string]any) map[string]any {
		m := map[string]any{"key": key, "flag": "color", "environment": "production", "primary_metrics": []string{"rev"}}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	layer := func(start, end int) map[string]any {
		return map[string]any{"key": "checkout", "start": start, "end": end}
	}

	x := b.mustDo(t, 201, "POST", proj+"/experiments", exp("plain", nil)).body
	require.Equal(t, []any{}, x["audience"])
	require.Nil(t, x["layer"])

	aud := []any{clause("country", "in", "CA"), clause("", "in_segment", "beta")}
	x = b.mustDo(t, 201, "POST", proj+"/experiments", exp("a", map[string]any{"audience": aud, "layer": layer(0, 5000)})).body
	require.Len(t, x["audience"], 2)
	require.Equal(t, map[string]any{"key": "checkout", "start": float64(0), "end": float64(5000)}, x["layer"])
	require.Equal(t, x, b.mustDo(t, 200, "GET", proj+"/experiments/a", nil).body)

	// Refusals name the field.
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{exp("b", map[string]any{"audience": []any{clause("v", "semver_gt", "1.x")}}), "audience[0].values[0]"},
		{exp("b", map[string]any{"audience": []any{clause("", "in_segment", "nope")}}), "audience[0].values[0]"},
		{exp("b", map[string]any{"audience": []any{clause("v", "nearly", 1)}}), "audience[0].op"},
		{exp("b", map[string]any{"layer": layer(5000, 5000)}), "layer.end"},
		{exp("b", map[string]any{"layer": layer(-1, 10)}), "layer.start"},
		{exp("b", map[string]any{"layer": layer(0, 10001)}), "layer.end"},
		{exp("b", map[string]any{"layer": map[string]any{"key": "Bad Key", "start": 0, "end": 1}}), "layer.key"},
	} {
		r := b.mustDo(t, 422, "POST", proj+"/experiments", c.body)
		require.Equal(t, c.field, r.errField(), r.raw)
	}
	// Overlapping ranges of one layer are refused, naming the other.
	r := b.mustDo(t, 409, "POST", proj+"/experiments", exp("b", map[string]any{"layer": layer(4999, 6000)}))
	require.Equal(t, "layer_overlap", r.errCode())
	require.Equal(t, "layer", r.errField())
	require.Contains(t, errMessage(r), `experiment "a"`)
	b.mustDo(t, 404, "GET", proj+"/experiments/b", nil)
	b.mustDo(t, 201, "POST", proj+"/experiments", exp("b", map[string]any{"layer": layer(5000, 10000)}))
	b.mustDo(t, 201, "POST", proj+"/experiments", exp("other-layer", map[string]any{"layer": map[string]any{"key": "search", "start": 0, "end": 10000}}))
	// Updating keeps its own range, refuses another's.
	b.mustDo(t, 200, "PUT", proj+"/experiments/a", exp("a", map[string]any{"audience": aud, "layer": layer(0, 4000)}))
	r = b.mustDo(t, 409, "PUT", proj+"/experiments/a", exp("a", map[string]any{"layer": layer(0, 5001)}))
	require.Contains(t, errMessage(r), `experiment "b"`)
	r = b.mustDo(t, 422, "PUT", proj+"/experiments/a", exp("a", map[string]any{"audience": []any{clause("n", "lt", "x")}}))
	require.Equal(t, "audience[0].values[0]", r.errField())
	x = b.mustDo(t, 200, "GET", proj+"/experiments/a", nil).body
	require.EqualValues(t, 4000, x["layer"].(map[string]any)["end"], "a refused update changes nothing")
	require.Len(t, x["audience"], 2)

	// Running, the audience and layer are served.
	b.mustDo(t, 200, "POST", proj+"/experiments/a/start", nil)
	served := servedFlag(t, b, "production", "color")
	require.NotNil(t, served.Experiment)
	require.Equal(t, &eval.Layer{Key: "checkout", Start: 0, End: 4000}, served.Experiment.Layer)
	require.Len(t, served.Experiment.Audience, 2)
	ev := evaluate(t, b, 200, "color", map[string]any{"targetingKey": "u2", "country": "CA"})
	require.Equal(t, "DEFAULT", ev["reason"], "not in the beta segment: outside the audience")

	// A stopped experiment's range is free; restarting it re-checks.
	b.mustDo(t, 200, "POST", proj+"/experiments/a/stop", map[string]any{})
	b.mustDo(t, 200, "PUT", proj+"/experiments/b", exp("b", map[string]any{"layer": layer(0, 10000)}))
	r = b.mustDo(t, 409, "POST", proj+"/experiments/a/start", nil)
	require.Equal(t, "layer_overlap", r.errCode())
	require.Contains(t, errMessage(r), `experiment "b"`)

	// Viewers cannot create.
	b.as(t, "viewer").mustDo(t, 403, "POST", proj+"/experiments", exp("v", nil))
}

func TestTargetingGuards(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createBoolFlag(t, "base")
	b.createBoolFlag(t, "dependent")
	b.mustDo(t, 200, "PUT", targetingPath("dependent"), map[string]any{"prerequisites": []any{map[string]any{"flag": "base", "variants": []string{"on"}}}})

	// A prerequisite flag cannot be archived while a live flag needs it.
	r := b.mustDo(t, 409, "POST", proj+"/flags/base/archive", nil)
	require.Equal(t, "in_use", r.errCode())
	require.Contains(t, errMessage(r), `"dependent" in production`)
	require.Nil(t, b.mustDo(t, 200, "GET", proj+"/flags/base", nil).body["archived_at"])
	b.mustDo(t, 200, "POST", proj+"/flags/dependent/archive", nil)
	b.mustDo(t, 200, "POST", proj+"/flags/base/archive", nil)
	// Restoring a flag whose prerequisite is archived is refused.
	r = b.mustDo(t, 422, "POST", proj+"/flags/dependent/restore", nil)
	require.Contains(t, errMessage(r), `unknown flag "base"`)
	b.mustDo(t, 200, "POST", proj+"/flags/base/restore", nil)
	b.mustDo(t, 200, "POST", proj+"/flags/dependent/restore", nil)

	// Variants used by rules, prerequisites and experiments.
	createExperimentFixtures(t, b)
	colorVersion := func() float64 { return b.mustDo(t, 200, "GET", proj+"/flags/color", nil).body["version"].(float64) }
	variants := func(keys ...string) []map[string]any {
		out := make([]map[string]any, len(keys))
		for i, k := range keys {
			out[i] = map[string]any{"key": k, "value": k}
		}
		return out
	}
	b.mustDo(t, 200, "PUT", targetingPath("color"), map[string]any{"rules": []any{
		rule("blue-fans", "blue", clause("likes", "in", "blue")),
		map[string]any{"id": "split", "clauses": []any{clause("plan", "in", "pro")},
			"rollout": []any{map[string]any{"variant": "red", "weight": 0}, map[string]any{"variant": "blue", "weight": 0},
				map[string]any{"variant": "green", "weight": 10000}}},
	}})
	r = b.mustDo(t, 409, "PATCH", proj+"/flags/color", map[string]any{"version": colorVersion(), "variants": variants("red", "green")})
	require.Equal(t, "in_use", r.errCode())
	require.Equal(t, "variants", r.errField())
	require.Contains(t, errMessage(r), `rule "blue-fans"`)
	// Renaming is removing: refused the same way.
	r = b.mustDo(t, 409, "PATCH", proj+"/flags/color", map[string]any{"version": colorVersion(), "variants": variants("red", "navy", "green")})
	require.Contains(t, errMessage(r), `variant "blue"`)
	r = b.mustDo(t, 409, "PATCH", proj+"/flags/color", map[string]any{"version": colorVersion(), "variants": variants("red", "blue")})
	require.Contains(t, errMessage(r), `rule "split"`, "green has weight in a rule rollout")

	// Removing a zero-weight variant and adding one reshape rule rollouts.
	b.mustDo(t, 200, "PUT", targetingPath("color"), map[string]any{"rules": []any{
		rule("blue-fans", "blue", clause("likes", "in", "blue")),
		map[string]any{"id": "split", "clauses": []any{clause("plan", "in", "pro")},
			"rollout": []any{map[string]any{"variant": "red", "weight": 0}, map[string]any{"variant": "blue", "weight": 10000},
				map[string]any{"variant": "green", "weight": 0}}},
	}})
	b.mustDo(t, 200, "PATCH", proj+"/flags/color", map[string]any{"version": colorVersion(), "variants": variants("red", "blue", "purple")})
	tg := b.mustDo(t, 200, "GET", targetingPath("color"), nil).body
	require.Equal(t, []any{map[string]any{"variant": "red", "weight": float64(0)}, map[string]any{"variant": "blue", "weight": float64(10000)},
		map[string]any{"variant": "purple", "weight": float64(0)}}, tg["rules"].([]any)[1].(map[string]any)["rollout"])
	ev := evaluate(t, b, 200, "color", map[string]any{"targetingKey": "u", "plan": "pro"})
	require.Equal(t, "blue", ev["variant"])
	require.Equal(t, "split", ev["rule_id"])

	// A prerequisite variant.
	b.mustDo(t, 200, "PUT", targetingPath("dependent"), map[string]any{"prerequisites": []any{map[string]any{"flag": "color", "variants": []string{"purple"}}}})
	r = b.mustDo(t, 409, "PATCH", proj+"/flags/color", map[string]any{"version": colorVersion(), "variants": variants("red", "blue")})
	require.Contains(t, errMessage(r), `prerequisite variant of flag "dependent"`)
	b.mustDo(t, 200, "PUT", targetingPath("dependent"), map[string]any{"prerequisites": []any{}})

	// An experiment arm (a draft's weights).
	b.mustDo(t, 201, "POST", proj+"/experiments", map[string]any{"key": "x", "flag": "color", "environment": "production",
		"primary_metrics": []string{"rev"}})
	r = b.mustDo(t, 409, "PATCH", proj+"/flags/color", map[string]any{"version": colorVersion(), "variants": variants("red", "blue")})
	require.Contains(t, errMessage(r), `experiment "x"`)
	b.mustDo(t, 204, "DELETE", proj+"/experiments/x", nil)
	b.mustDo(t, 200, "PATCH", proj+"/flags/color", map[string]any{"version": colorVersion(), "variants": variants("red", "blue")})
}

func TestTargetingChangesAreLogged(t *testing.T) {
	t.Parallel()
	b := setup(t)
	editor := b.as(t, "editor")
	b.createBoolFlag(t, "checkout")
	r1 := rule("ca", "on", clause("country", "in", "CA"))
	editor.mustDo(t, 200, "PUT", targetingPath("checkout"), map[string]any{"rules": []any{r1}})
	editor.mustDo(t, 200, "PUT", targetingPath("checkout"), map[string]any{"rules": []any{}})
	b.createBoolFlag(t, "base")
	editor.mustDo(t, 200, "PUT", targetingPath("checkout"), map[string]any{"prerequisites": []any{map[string]any{"flag": "base", "variants": []string{"on"}}}})
	editor.mustDo(t, 201, "POST", prodSegs, map[string]any{"key": "beta", "included": []string{"u1"}})
	editor.mustDo(t, 200, "PUT", prodSegs+"/beta", map[string]any{"included": []string{"u1", "u2"}})
	editor.mustDo(t, 204, "DELETE", prodSegs+"/beta", nil)
	// A refused change logs nothing.
	editor.mustDo(t, 422, "PUT", targetingPath("checkout"), map[string]any{"rules": []any{rule("x", "nope", clause("a", "in", "b"))}})

	events := func(query string) []map[string]any {
		var out []map[string]any
		for _, e := range b.mustDo(t, 200, "GET", proj+"/events?"+query, nil).items() {
			out = append(out, e.(map[string]any))
		}
		return out
	}
	decode := func(v any) map[string]any {
		m, _ := v.(map[string]any)
		return m
	}
	rc := events("type=rules_changed")
	require.Len(t, rc, 2)
	require.Equal(t, "checkout", rc[0]["flag"])
	require.Equal(t, "production", rc[0]["environment"])
	require.Equal(t, "api", rc[0]["source"])
	require.Contains(t, rc[0]["actor"], "editor-")
	require.Equal(t, []any{}, decode(rc[1]["before"])["rules"])
	require.Equal(t, "ca", decode(rc[1]["after"])["rules"].([]any)[0].(map[string]any)["id"])
	require.Equal(t, decode(rc[1]["after"]), decode(rc[0]["before"]), "newest first; one change's after is the next one's before")
	require.Equal(t, []any{}, decode(rc[0]["after"])["rules"])

	pc := events("type=prerequisites_changed&flag=checkout")
	require.Len(t, pc, 1)
	require.Equal(t, "base", decode(pc[0]["after"])["prerequisites"].([]any)[0].(map[string]any)["flag"])

	created, updated, deleted := events("type=segment_created"), events("type=segment_updated"), events("type=segment_deleted")
	require.Len(t, created, 1)
	require.Len(t, updated, 1)
	require.Len(t, deleted, 1)
	require.Nil(t, created[0]["before"])
	require.Equal(t, "beta", decode(created[0]["after"])["segment"])
	require.Equal(t, "", created[0]["flag"])
	require.Equal(t, []any{"u1"}, decode(updated[0]["before"])["included"])
	require.Equal(t, []any{"u1", "u2"}, decode(updated[0]["after"])["included"])
	require.Equal(t, []any{"u1", "u2"}, decode(deleted[0]["before"])["included"])
	require.Nil(t, deleted[0]["after"])
	require.Len(t, events("environment=development&type=segment_created"), 0)

	// The events API accepts every event type the triggers write.
	raw, err := json.Marshal(events("type=segment_updated"))
	require.NoError(t, err)
	require.Contains(t, string(raw), `"environment":"production"`)
}

// TestLayerRangesStayDisjointUnderConcurrentSaves: saves of one
// environment are serialised, so of many concurrent experiments asking
// for overlapping ranges of one layer exactly one gets its range.
func TestLayerRangesStayDisjointUnderConcurrentSaves(t *testing.T) {
	t.Parallel()
	b := setup(t)
	createExperimentFixtures(t, b)
	const n = 6
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := b.do(t, "POST", proj+"/experiments", map[string]any{"key": fmt.Sprint("x", i), "flag": "color",
				"environment": "production", "primary_metrics": []string{"rev"},
				"layer": map[string]any{"key": "checkout", "start": i * 100, "end": 5000 + i*100}})
			statuses <- r.status
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	require.Equal(t, map[int]int{201: 1, 409: n - 1}, count, b.logs.String())
}

// TestConcurrentSegmentSavesLoseNoUpdate: of concurrent saves of one
// segment version, exactly one wins; the others get a version conflict.
func TestConcurrentSegmentSavesLoseNoUpdate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mustDo(t, 201, "POST", prodSegs, map[string]any{"key": "beta"})
	const n = 6
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- b.do(t, "PUT", prodSegs+"/beta", map[string]any{"included": []string{fmt.Sprint("u", i)}, "version": 1}).status
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	require.Equal(t, map[int]int{200: 1, 409: n - 1}, count, b.logs.String())
	sg := b.mustDo(t, 200, "GET", prodSegs+"/beta", nil).body
	require.EqualValues(t, 2, sg["version"])
	require.Len(t, sg["included"], 1)
}
