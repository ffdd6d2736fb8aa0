package api_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/authtest"
)

func TestFlagEventsLog(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner := b
	b = b.withToken(authtest.User(t, b.st, "jill@solarflair.example", false, "default", "editor"))

	b.mustDo(t, 201, "POST", "/api/v1/projects/default/flags", map[string]any{"key": "quote"})
	b.mustDo(t, 200, "PATCH", "/api/v1/projects/default/flags/quote/environments/production", map[string]any{"enabled": true})
	owner.mustDo(t, 200, "PATCH", "/api/v1/projects/default/flags/quote/environments/production", map[string]any{"version": 2,
		"rollout": []map[string]any{{"variant": "on", "weight": 5000}, {"variant": "off", "weight": 5000}}})
	b.mustDo(t, 200, "POST", "/api/v1/projects/default/flags/quote/environments/production/assignments",
		map[string]any{"assignments": []map[string]any{{"user_id": "jack", "variant": "on"}}})
	b.mustDo(t, 200, "POST", "/api/v1/projects/default/flags/quote/environments/production/assignments",
		map[string]any{"assignments": []map[string]any{{"user_id": "jack", "variant": "off"}}})
	b.mustDo(t, 200, "POST", "/api/v1/projects/default/flags/quote/environments/production/assignments/remove",
		map[string]any{"user_ids": []string{"jack"}})
	b.mustDo(t, 200, "PATCH", "/api/v1/projects/default/flags/quote", map[string]any{"version": 1, "description": "New quote form"})
	b.mustDo(t, 200, "POST", "/api/v1/projects/default/flags/quote/archive", nil)
	b.mustDo(t, 200, "POST", "/api/v1/projects/default/flags/quote/restore", nil)
	b.mustDo(t, 200, "PATCH", "/api/v1/projects/default/flags/quote/environments/production", map[string]any{"version": 3, "off_variant": "on"})

	// A change made with plain SQL is logged too, with the database role as actor.
	_, err := b.pool.Exec(ctx, `UPDATE flag_states SET enabled = false
	   WHERE flag_id = (SELECT id FROM flags WHERE key = 'quote')
	     AND environment_id = (SELECT id FROM environments WHERE key = 'production')`)
	require.NoError(t, err)

	r := b.mustDo(t, 200, "GET", "/api/v1/projects/default/events?flag=quote", nil)
	var types []string
	for _, it := range r.items() {
		types = append(types, it.(map[string]any)["type"].(string))
	}
	require.Equal(t, []string{"flag_toggled", "off_variant_changed", "flag_restored", "flag_archived", "flag_updated",
		"assignment_removed", "assignment_changed", "assignment_added", "rollout_changed", "flag_toggled", "flag_created"}, types,
		"newest first, one event per change")

	newest := r.items()[0].(map[string]any)
	require.Equal(t, "postgres", newest["actor"], "psql changes are logged as the database role")
	require.Equal(t, "sql", newest["source"])
	require.Equal(t, map[string]any{"enabled": true, "version": 4.0}, newest["before"])
	require.Equal(t, map[string]any{"enabled": false, "version": 5.0}, newest["after"])
	require.Equal(t, "production", newest["environment"])
	toggle := r.items()[9].(map[string]any)
	require.Regexp(t, `^jill@solarflair\.example \(token test \d+\)$`, toggle["actor"],
		"API changes are logged with the authenticated user and the token acting")
	require.Equal(t, "api", toggle["source"])
	require.Regexp(t, `^owner@waypost\.test \(token test \d+\)$`, r.items()[8].(map[string]any)["actor"], "each change has its own person")
	created := r.items()[10].(map[string]any)
	require.Nil(t, created["environment"])
	require.Nil(t, created["before"])
	require.Equal(t, "quote", created["after"].(map[string]any)["key"])

	// Filters.
	require.Len(t, b.mustDo(t, 200, "GET", "/api/v1/projects/default/events?type=flag_toggled", nil).items(), 2)
	require.Len(t, b.mustDo(t, 200, "GET", "/api/v1/projects/default/events?actor=postgres", nil).items(), 1)
	require.Len(t, b.mustDo(t, 200, "GET", "/api/v1/projects/default/events?environment=production", nil).items(), 7)
	require.Len(t, b.mustDo(t, 200, "GET", "/api/v1/projects/default/events?environment=development", nil).items(), 0)
	future := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	require.Len(t, b.mustDo(t, 200, "GET", "/api/v1/projects/default/events?since="+future, nil).items(), 0)
	require.Len(t, b.mustDo(t, 200, "GET", "/api/v1/projects/default/events?until="+future, nil).items(), 11)

	// Cursor pagination walks every event exactly once.
	seen := map[float64]bool{}
	cursor := ""
	for {
		p := b.mustDo(t, 200, "GET", "/api/v1/projects/default/events?limit=4&cursor="+cursor, nil)
		for _, it := range p.items() {
			id := it.(map[string]any)["id"].(float64)
			require.False(t, seen[id])
			seen[id] = true
		}
		if cursor = p.body["next_cursor"].(string); cursor == "" {
			break
		}
	}
	require.Len(t, seen, 11)

	require.Equal(t, "type", b.mustDo(t, 422, "GET", "/api/v1/projects/default/events?type=exploded", nil).errField())
	require.Equal(t, "since", b.mustDo(t, 422, "GET", "/api/v1/projects/default/events?since=yesterday", nil).errField())
	require.Equal(t, "cursor", b.mustDo(t, 422, "GET", "/api/v1/projects/default/events?cursor=-3", nil).errField())
	b.mustDo(t, 404, "GET", "/api/v1/projects/default/events?environment=nope", nil)
	owner.mustDo(t, 404, "GET", "/api/v1/projects/nope/events", nil)
	b.mustDo(t, 403, "GET", "/api/v1/projects/nope/events", nil) // not a member: no project is visible
}
