package api_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestProjectsAndEnvironments(t *testing.T) {
	t.Parallel()
	b := setup(t)

	r := b.mustDo(t, 200, "GET", "/api/v1/projects", nil)
	require.Len(t, r.items(), 1, "a fresh install has the default project")
	require.Equal(t, "default", r.items()[0].(map[string]any)["key"])
	envs := b.mustDo(t, 200, "GET", "/api/v1/projects/default/environments", nil).items()
	require.Len(t, envs, 2)
	require.Equal(t, "production", envs[0].(map[string]any)["key"])
	require.Equal(t, "development", envs[1].(map[string]any)["key"])

	p := b.mustDo(t, 201, "POST", "/api/v1/projects", map[string]any{"key": "shop", "name": "Shop"}).body
	require.Equal(t, "Shop", p["name"])
	require.Len(t, b.mustDo(t, 200, "GET", "/api/v1/projects/shop/environments", nil).items(), 2, "new projects get production and development")
	require.Equal(t, "duplicate", b.mustDo(t, 409, "POST", "/api/v1/projects", map[string]any{"key": "shop"}).errCode())
	require.Equal(t, "key", b.mustDo(t, 422, "POST", "/api/v1/projects", map[string]any{"key": "Shop!"}).errField())

	require.Equal(t, "Shop 2", b.mustDo(t, 200, "PATCH", "/api/v1/projects/shop", map[string]any{"name": "Shop 2"}).body["name"])
	require.Equal(t, "Shop 2", b.mustDo(t, 200, "GET", "/api/v1/projects/shop", nil).body["name"])
	require.Equal(t, "name", b.mustDo(t, 422, "PATCH", "/api/v1/projects/shop", map[string]any{"name": "  "}).errField())
	b.mustDo(t, 404, "PATCH", "/api/v1/projects/nope", map[string]any{"name": "x"})
	b.mustDo(t, 404, "GET", "/api/v1/projects/nope/environments", nil)

	// An environment added later gets a state for every existing flag.
	b.createBoolFlag(t, "checkout")
	e := b.mustDo(t, 201, "POST", "/api/v1/projects/default/environments", map[string]any{"key": "staging", "name": "Staging"}).body
	require.Equal(t, "staging", e["key"])
	f := b.mustDo(t, 200, "GET", "/api/v1/projects/default/flags/checkout", nil).body
	require.Equal(t, false, state(t, f, "staging")["enabled"])
	b.mustDo(t, 409, "POST", "/api/v1/projects/default/environments", map[string]any{"key": "staging"})
	b.mustDo(t, 404, "POST", "/api/v1/projects/nope/environments", map[string]any{"key": "qa"})
	require.Equal(t, "Stage", b.mustDo(t, 200, "PATCH", "/api/v1/projects/default/environments/staging", map[string]any{"name": "Stage"}).body["name"])
	b.mustDo(t, 404, "PATCH", "/api/v1/projects/default/environments/nope", map[string]any{"name": "x"})
}

func TestCreateAndGetFlag(t *testing.T) {
	t.Parallel()
	b := setup(t)

	f := b.createBoolFlag(t, "new-quote")
	require.Equal(t, "boolean", f["kind"])
	require.EqualValues(t, 1, f["version"])
	require.Len(t, f["variants"], 2)
	prod := state(t, f, "production")
	require.Equal(t, false, prod["enabled"], "new flags are off")
	require.Equal(t, "off", prod["off_variant"])
	require.Equal(t, []any{map[string]any{"variant": "off", "weight": 0.0}, map[string]any{"variant": "on", "weight": 10000.0}}, prod["rollout"])

	mv := b.mustDo(t, 201, "POST", "/api/v1/projects/default/flags", map[string]any{
		"key": "button-color", "kind": "string", "description": "Checkout button", "tags": []string{"checkout", "ui"},
		"variants": []map[string]any{{"key": "blue", "value": "#00f"}, {"key": "green", "name": "Green", "value": "#0f0"}},
	}).body
	require.Equal(t, "string", mv["kind"])
	require.Equal(t, "blue", state(t, mv, "development")["off_variant"])
	require.Equal(t, "blue", mv["variants"].([]any)[0].(map[string]any)["name"], "name defaults to key")

	got := b.mustDo(t, 200, "GET", "/api/v1/projects/default/flags/button-color", nil).body
	require.Equal(t, []any{"checkout", "ui"}, got["tags"])
	require.Len(t, got["environments"], 2)

	// Failures.
	require.Equal(t, "duplicate", b.mustDo(t, 409, "POST", "/api/v1/projects/default/flags", map[string]any{"key": "new-quote"}).errCode())
	require.Equal(t, "key", b.mustDo(t, 422, "POST", "/api/v1/projects/default/flags", map[string]any{"key": "New Quote"}).errField())
	require.Equal(t, "kind", b.mustDo(t, 422, "POST", "/api/v1/projects/default/flags", map[string]any{"key": "k", "kind": "float"}).errField())
	require.Equal(t, "variants[1].value", b.mustDo(t, 422, "POST", "/api/v1/projects/default/flags", map[string]any{
		"key": "n", "kind": "number", "variants": []map[string]any{{"key": "a", "value": 1}, {"key": "b", "value": "2"}}}).errField())
	require.Equal(t, "variants[1].key", b.mustDo(t, 422, "POST", "/api/v1/projects/default/flags", map[string]any{
		"key": "d", "kind": "string", "variants": []map[string]any{{"key": "a", "value": "x"}, {"key": "a", "value": "y"}}}).errField())
	require.Equal(t, "variants", b.mustDo(t, 422, "POST", "/api/v1/projects/default/flags", map[string]any{
		"key": "b", "kind": "boolean", "variants": []map[string]any{{"key": "yes", "value": true}, {"key": "no", "value": false}}}).errField())
	require.Equal(t, "variants", b.mustDo(t, 422, "POST", "/api/v1/projects/default/flags", map[string]any{"key": "s", "kind": "string"}).errField())
	require.Equal(t, "tags[0]", b.mustDo(t, 422, "POST", "/api/v1/projects/default/flags", map[string]any{"key": "t", "tags": []string{"Bad Tag"}}).errField())
	b.mustDo(t, 404, "POST", "/api/v1/projects/nope/flags", map[string]any{"key": "x"})
	b.mustDo(t, 404, "GET", "/api/v1/projects/default/flags/missing", nil)
	b.mustDo(t, 404, "GET", "/api/v1/projects/default/flags/"+url.PathEscape("x' OR 1=1 --"), nil)
}

func TestMalformedRequestsAre400(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cases := map[string]string{
		"malformed":     `{"key": `,
		"not an object": `[1,2]`,
		"unknown field": `{"key":"a","colour":"red"}`,
		"wrong type":    `{"key": 5}`,
		"trailing data": `{"key":"a"} {"key":"b"}`,
		"empty":         ``,
	}
	for name, body := range cases {
		r := b.do(t, "POST", "/api/v1/projects/default/flags", body)
		require.Equal(t, 400, r.status, "%s: %s", name, r.raw)
		require.NotEmpty(t, r.errCode(), name)
	}
	r := b.do(t, "POST", "/api/v1/projects/default/flags", `{"key":"a"}`, "Content-Type", "text/plain")
	require.Equal(t, 415, r.status)
	r = b.do(t, "POST", "/api/v1/projects/default/flags", `{"key":"a","name":"`+strings.Repeat("x", 3<<20)+`"}`)
	require.Equal(t, 400, r.status, "oversized body")
	require.Equal(t, "unknown_field", b.mustDo(t, 400, "POST", "/api/v1/projects/default/flags", `{"key":"a","colour":"red"}`).errCode())
	require.Equal(t, "colour", b.mustDo(t, 400, "POST", "/api/v1/projects/default/flags", `{"key":"a","colour":"red"}`).errField())
	// Nothing was half-written.
	require.Empty(t, b.mustDo(t, 200, "GET", "/api/v1/projects/default/flags", nil).items())
	b.mustDo(t, 404, "GET", "/api/v1/nothing-here", nil)
	b.mustDo(t, 405, "PUT", "/api/v1/projects", nil)
}

func TestListFlagsFiltersAndPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := 0; i < 7; i++ {
		tags := []string{"even"}
		if i%2 == 1 {
			tags = []string{"odd"}
		}
		b.mustDo(t, 201, "POST", "/api/v1/projects/default/flags", map[string]any{"key": fmt.Sprintf("flag-%d", i), "tags": tags,
			"description": map[bool]string{true: "about checkout", false: ""}[i == 3]})
	}
	var keys []string
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		r := b.mustDo(t, 200, "GET", "/api/v1/projects/default/flags?limit=3&cursor="+cursor, nil)
		for _, it := range r.items() {
			keys = append(keys, it.(map[string]any)["key"].(string))
		}
		cursor = r.body["next_cursor"].(string)
		if cursor == "" {
			break
		}
	}
	require.Equal(t, []string{"flag-0", "flag-1", "flag-2", "flag-3", "flag-4", "flag-5", "flag-6"}, keys)
	require.Len(t, b.mustDo(t, 200, "GET", "/api/v1/projects/default/flags?tag=odd", nil).items(), 3)
	require.Len(t, b.mustDo(t, 200, "GET", "/api/v1/projects/default/flags?q=checkout", nil).items(), 1)
	require.Len(t, b.mustDo(t, 200, "GET", "/api/v1/projects/default/flags?q=FLAG-5", nil).items(), 1)

	b.mustDo(t, 200, "POST", "/api/v1/projects/default/flags/flag-2/archive", nil)
	require.Len(t, b.mustDo(t, 200, "GET", "/api/v1/projects/default/flags", nil).items(), 6)
	arch := b.mustDo(t, 200, "GET", "/api/v1/projects/default/flags?archived=true", nil).items()
	require.Len(t, arch, 1)
	require.NotNil(t, arch[0].(map[string]any)["archived_at"])
	restored := b.mustDo(t, 200, "POST", "/api/v1/projects/default/flags/flag-2/restore", nil).body
	require.Nil(t, restored["archived_at"])
	require.Len(t, b.mustDo(t, 200, "GET", "/api/v1/projects/default/flags", nil).items(), 7)
	b.mustDo(t, 404, "POST", "/api/v1/projects/default/flags/missing/archive", nil)

	require.Equal(t, "limit", b.mustDo(t, 422, "GET", "/api/v1/projects/default/flags?limit=0", nil).errField())
	require.Equal(t, "limit", b.mustDo(t, 422, "GET", "/api/v1/projects/default/flags?limit=abc", nil).errField())
	require.Equal(t, "archived", b.mustDo(t, 422, "GET", "/api/v1/projects/default/flags?archived=maybe", nil).errField())
	require.Equal(t, "unknown_parameter", b.mustDo(t, 400, "GET", "/api/v1/projects/default/flags?sort=name", nil).errCode())
}

func TestUpdateFlag(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mustDo(t, 201, "POST", "/api/v1/projects/default/flags", map[string]any{"key": "color", "kind": "string",
		"variants": []map[string]any{{"key": "red", "value": "r"}, {"key": "blue", "value": "b"}}})

	u := b.mustDo(t, 200, "PATCH", "/api/v1/projects/default/flags/color", map[string]any{"version": 1, "name": "Colour", "tags": []string{"ui"}}).body
	require.Equal(t, "Colour", u["name"])
	require.EqualValues(t, 2, u["version"])

	// Stale version: 409 with the current flag.
	c := b.mustDo(t, 409, "PATCH", "/api/v1/projects/default/flags/color", map[string]any{"version": 1, "name": "Lost"})
	require.Equal(t, "version_conflict", c.errCode())
	require.EqualValues(t, 2, c.body["error"].(map[string]any)["current"].(map[string]any)["version"])
	require.Equal(t, "version", b.mustDo(t, 422, "PATCH", "/api/v1/projects/default/flags/color", map[string]any{"name": "No version"}).errField())

	// Adding a variant gives it weight 0 everywhere; removing a served one is refused.
	u = b.mustDo(t, 200, "PATCH", "/api/v1/projects/default/flags/color", map[string]any{"version": 2,
		"variants": []map[string]any{{"key": "red", "value": "r"}, {"key": "blue", "value": "b"}, {"key": "green", "value": "g"}}}).body
	require.Len(t, state(t, u, "production")["rollout"], 3)
	require.EqualValues(t, 0, state(t, u, "production")["rollout"].([]any)[2].(map[string]any)["weight"])
	r := b.mustDo(t, 422, "PATCH", "/api/v1/projects/default/flags/color", map[string]any{"version": 3,
		"variants": []map[string]any{{"key": "blue", "value": "b"}, {"key": "green", "value": "g"}}})
	require.Equal(t, "variants", r.errField())
	require.Contains(t, r.body["error"].(map[string]any)["message"], "red")
	u = b.mustDo(t, 200, "PATCH", "/api/v1/projects/default/flags/color", map[string]any{"version": 3,
		"variants": []map[string]any{{"key": "red", "value": "r"}, {"key": "blue", "value": "b"}}}).body
	require.Len(t, state(t, u, "development")["rollout"], 2)
	require.Equal(t, "variants[0].value", b.mustDo(t, 422, "PATCH", "/api/v1/projects/default/flags/color", map[string]any{"version": 4,
		"variants": []map[string]any{{"key": "red", "value": 1}}}).errField())
	b.mustDo(t, 404, "PATCH", "/api/v1/projects/default/flags/missing", map[string]any{"version": 1})
}

func TestFlagStateChanges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createBoolFlag(t, "beta")
	path := "/api/v1/projects/default/flags/beta/environments/production"

	s := b.mustDo(t, 200, "PATCH", path, map[string]any{"enabled": true}).body
	require.Equal(t, true, s["enabled"])
	require.EqualValues(t, 2, s["version"])

	s = b.mustDo(t, 200, "PATCH", path, map[string]any{"version": 2,
		"rollout": []map[string]any{{"variant": "on", "weight": 2500}, {"variant": "off", "weight": 7500}}}).body
	require.Equal(t, []any{map[string]any{"variant": "off", "weight": 7500.0}, map[string]any{"variant": "on", "weight": 2500.0}}, s["rollout"],
		"weights are stored in variant order")
	// Other environments are untouched.
	f := b.mustDo(t, 200, "GET", "/api/v1/projects/default/flags/beta", nil).body
	require.Equal(t, false, state(t, f, "development")["enabled"])

	c := b.mustDo(t, 409, "PATCH", path, map[string]any{"version": 2, "off_variant": "on"})
	require.Equal(t, "version_conflict", c.errCode())
	require.EqualValues(t, 3, c.body["error"].(map[string]any)["current"].(map[string]any)["version"])

	require.Equal(t, "rollout", b.mustDo(t, 422, "PATCH", path, map[string]any{"version": 3,
		"rollout": []map[string]any{{"variant": "on", "weight": 2500}}}).errField())
	require.Equal(t, "rollout[0].variant", b.mustDo(t, 422, "PATCH", path, map[string]any{"version": 3,
		"rollout": []map[string]any{{"variant": "maybe", "weight": 10000}}}).errField())
	require.Equal(t, "rollout[0].weight", b.mustDo(t, 422, "PATCH", path, map[string]any{"version": 3,
		"rollout": []map[string]any{{"variant": "on", "weight": -1}, {"variant": "off", "weight": 10001}}}).errField())
	require.Equal(t, "off_variant", b.mustDo(t, 422, "PATCH", path, map[string]any{"version": 3, "off_variant": "nope"}).errField())
	require.Equal(t, "version", b.mustDo(t, 422, "PATCH", path, map[string]any{"off_variant": "on"}).errField())
	b.mustDo(t, 422, "PATCH", path, map[string]any{})
	b.mustDo(t, 404, "PATCH", "/api/v1/projects/default/flags/beta/environments/nope", map[string]any{"enabled": true})
	b.mustDo(t, 404, "PATCH", "/api/v1/projects/default/flags/nope/environments/production", map[string]any{"enabled": true})

	// Toggle, rollout and off variant together, in one transaction.
	s = b.mustDo(t, 200, "PATCH", path, map[string]any{"version": 3, "enabled": false, "off_variant": "on",
		"rollout": []map[string]any{{"variant": "on", "weight": 10000}}}).body
	require.Equal(t, false, s["enabled"])
	require.Equal(t, "on", s["off_variant"])
	require.EqualValues(t, 4, s["version"], "one update, one version")
}

func TestAssignments(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createBoolFlag(t, "beta")
	path := "/api/v1/projects/default/flags/beta/environments/production/assignments"

	r := b.mustDo(t, 200, "POST", path, map[string]any{"assignments": []map[string]any{{"user_id": "alice", "variant": "on"}}})
	require.EqualValues(t, 1, r.body["changed"])
	batch := []map[string]any{}
	for i := 0; i < 120; i++ {
		batch = append(batch, map[string]any{"user_id": fmt.Sprintf("user-%03d", i), "variant": "off"})
	}
	batch = append(batch, map[string]any{"user_id": "alice", "variant": "on"}) // unchanged: not counted
	require.EqualValues(t, 120, b.mustDo(t, 200, "POST", path, map[string]any{"assignments": batch}).body["changed"])
	require.EqualValues(t, 1, b.mustDo(t, 200, "POST", path, map[string]any{"assignments": []map[string]any{{"user_id": "alice", "variant": "off"}}}).body["changed"])

	var users []string
	cursor := ""
	for {
		p := b.mustDo(t, 200, "GET", path+"?limit=50&cursor="+url.QueryEscape(cursor), nil)
		for _, it := range p.items() {
			users = append(users, it.(map[string]any)["user_id"].(string))
		}
		if cursor = p.body["next_cursor"].(string); cursor == "" {
			break
		}
	}
	require.Len(t, users, 121)
	require.Equal(t, "alice", users[0])
	f := b.mustDo(t, 200, "GET", "/api/v1/projects/default/flags/beta", nil).body
	require.EqualValues(t, 121, state(t, f, "production")["assignment_count"])
	require.EqualValues(t, 0, state(t, f, "development")["assignment_count"])

	require.EqualValues(t, 2, b.mustDo(t, 200, "POST", path+"/remove", map[string]any{"user_ids": []string{"alice", "user-000", "nobody"}}).body["changed"])
	f = b.mustDo(t, 200, "GET", "/api/v1/projects/default/flags/beta", nil).body
	require.EqualValues(t, 119, state(t, f, "production")["assignment_count"])

	// Failures, and nothing half-written: a batch with one bad entry changes nothing.
	bad := []map[string]any{{"user_id": "bob", "variant": "on"}, {"user_id": "carol", "variant": "maybe"}}
	require.Equal(t, "assignments[1].variant", b.mustDo(t, 422, "POST", path, map[string]any{"assignments": bad}).errField())
	require.Equal(t, "assignments[1].user_id", b.mustDo(t, 422, "POST", path, map[string]any{"assignments": []map[string]any{
		{"user_id": "dup", "variant": "on"}, {"user_id": "dup", "variant": "on"}}}).errField())
	require.Equal(t, "assignments[0].user_id", b.mustDo(t, 422, "POST", path, map[string]any{"assignments": []map[string]any{{"user_id": "", "variant": "on"}}}).errField())
	require.Equal(t, "assignments", b.mustDo(t, 422, "POST", path, map[string]any{"assignments": []map[string]any{}}).errField())
	require.Equal(t, "user_ids", b.mustDo(t, 422, "POST", path+"/remove", map[string]any{"user_ids": []string{}}).errField())
	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(), "SELECT count(*) FROM custom_assignments WHERE user_id = 'bob'").Scan(&n))
	require.Zero(t, n)
	b.mustDo(t, 404, "GET", "/api/v1/projects/default/flags/nope/environments/production/assignments", nil)
	require.Equal(t, "limit", b.mustDo(t, 422, "GET", path+"?limit=501", nil).errField())
}

func TestSDKKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	path := "/api/v1/projects/default/environments/production/sdk-keys"

	k := b.mustDo(t, 201, "POST", path, map[string]any{"name": "Backend", "kind": "server"})
	secret := k.body["secret"].(string)
	require.True(t, strings.HasPrefix(secret, "wps_"))
	require.Len(t, secret, 4+43)
	require.Equal(t, secret[:12], k.body["prefix"])
	require.Equal(t, "no-store", k.header.Get("Cache-Control"))
	c := b.mustDo(t, 201, "POST", path, map[string]any{"name": "Browser", "kind": "client"}).body
	require.True(t, strings.HasPrefix(c["secret"].(string), "wpc_"))

	list := b.mustDo(t, 200, "GET", path, nil)
	require.Len(t, list.items(), 2)
	require.NotContains(t, list.raw, secret, "the secret is shown only once")
	require.NotContains(t, list.raw, "secret")
	var stored []byte
	require.NoError(t, b.pool.QueryRow(context.Background(), "SELECT key_hash FROM sdk_keys WHERE name = 'Backend'").Scan(&stored))
	require.NotContains(t, string(stored), secret, "only a hash is stored")
	require.Len(t, stored, 32)
	require.Empty(t, b.mustDo(t, 200, "GET", "/api/v1/projects/default/environments/development/sdk-keys", nil).items())

	id := fmt.Sprint(k.body["id"])
	rv := b.mustDo(t, 200, "DELETE", path+"/"+id, nil).body
	require.NotNil(t, rv["revoked_at"])
	b.mustDo(t, 200, "DELETE", path+"/"+id, nil) // idempotent
	b.mustDo(t, 404, "DELETE", "/api/v1/projects/default/environments/development/sdk-keys/"+id, nil)
	b.mustDo(t, 404, "DELETE", path+"/999999", nil)
	b.mustDo(t, 404, "DELETE", path+"/abc", nil)
	require.Equal(t, "kind", b.mustDo(t, 422, "POST", path, map[string]any{"name": "x", "kind": "admin"}).errField())
	require.Equal(t, "name", b.mustDo(t, 422, "POST", path, map[string]any{"kind": "server"}).errField())
	b.mustDo(t, 404, "POST", "/api/v1/projects/default/environments/nope/sdk-keys", map[string]any{"name": "x", "kind": "server"})
}
