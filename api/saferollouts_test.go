package api_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

const rp = "/api/v1/projects/default"

func rolloutBody(mutate func(map[string]any)) map[string]any {
	b := map[string]any{"key": "ship-blue", "flag": "color", "environment": "production",
		"control_variant": "red", "new_variant": "blue",
		"guardrails": []map[string]any{{"metric": "rev", "threshold": 0.01}}}
	if mutate != nil {
		mutate(b)
	}
	return b
}

func rolloutFlag(t *testing.T, b *testBundle) {
	t.Helper()
	b.mustDo(t, 201, "POST", rp+"/metrics", map[string]any{"key": "rev", "type": "revenue", "sql": builtinMetricSQL})
	b.mustDo(t, 201, "POST", rp+"/flags", map[string]any{"key": "color", "kind": "string", "variants": []map[string]any{
		{"key": "red", "value": "red"}, {"key": "blue", "value": "blue"}}})
	b.mustDo(t, 200, "PATCH", rp+"/flags/color/environments/production", map[string]any{"enabled": true, "version": 1,
		"rollout": []map[string]any{{"variant": "red", "weight": 10000}, {"variant": "blue", "weight": 0}}})
}

// TestSafeRolloutBadInput: every refused request is a 4xx naming the
// field, and nothing is written.
func TestSafeRolloutBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rolloutFlag(t, b)
	stages := func(ps ...float64) []map[string]any {
		var out []map[string]any
		for _, p := range ps {
			out = append(out, map[string]any{"percent": p, "min_duration_seconds": 60, "min_sample": 10})
		}
		return out
	}
	for name, c := range map[string]struct {
		mutate func(map[string]any)
		status int
		field  string
	}{
		"unknown guardrail metric": {func(m map[string]any) {
			m["guardrails"] = []map[string]any{{"metric": "rev"}, {"metric": "latency"}}
		}, 422, "guardrails[1].metric"},
		"no guardrail":             {func(m map[string]any) { m["guardrails"] = []map[string]any{} }, 422, "guardrails"},
		"guardrail listed twice":   {func(m map[string]any) { m["guardrails"] = []map[string]any{{"metric": "rev"}, {"metric": "rev"}} }, 422, "guardrails[1].metric"},
		"negative threshold":       {func(m map[string]any) { m["guardrails"] = []map[string]any{{"metric": "rev", "threshold": -0.1}} }, 422, "guardrails[0].threshold"},
		"bad direction":            {func(m map[string]any) { m["guardrails"] = []map[string]any{{"metric": "rev", "direction": "up"}} }, 422, "guardrails[0].direction"},
		"stages not increasing":    {func(m map[string]any) { m["stages"] = stages(5, 5, 100) }, 422, "stages[1].percent"},
		"stages decreasing":        {func(m map[string]any) { m["stages"] = stages(50, 10, 100) }, 422, "stages[1].percent"},
		"0% stage":                 {func(m map[string]any) { m["stages"] = stages(0, 50, 100) }, 422, "stages[0].percent"},
		"stage above 100%":         {func(m map[string]any) { m["stages"] = stages(50, 150) }, 422, "stages[1].percent"},
		"not ending at 100%":       {func(m map[string]any) { m["stages"] = stages(10, 50) }, 422, "stages[1].percent"},
		"no stages":                {func(m map[string]any) { m["stages"] = []map[string]any{} }, 422, "stages"},
		"unknown new variant":      {func(m map[string]any) { m["new_variant"] = "green" }, 422, "new_variant"},
		"same variants":            {func(m map[string]any) { m["new_variant"] = "red" }, 422, "new_variant"},
		"unknown flag":             {func(m map[string]any) { m["flag"] = "nope" }, 422, "flag"},
		"bad on_regression":        {func(m map[string]any) { m["on_regression"] = "panic" }, 422, "on_regression"},
		"check interval too short": {func(m map[string]any) { m["check_interval_seconds"] = 5 }, 422, "check_interval_seconds"},
		"bad confidence":           {func(m map[string]any) { m["confidence"] = 1.5 }, 422, "confidence"},
		"bad key":                  {func(m map[string]any) { m["key"] = "Not A Key" }, 422, "key"},
		"unknown field":            {func(m map[string]any) { m["stage"] = 1 }, 400, ""},
	} {
		t.Run(name, func(t *testing.T) {
			r := b.do(t, "POST", rp+"/safe-rollouts", rolloutBody(c.mutate))
			require.Equal(t, c.status, r.status, r.raw)
			if c.field != "" {
				require.Equal(t, c.field, r.errField(), r.raw)
			}
		})
	}
	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(), "SELECT (SELECT count(*) FROM safe_rollouts) + (SELECT count(*) FROM experiments)").Scan(&n))
	require.Zero(t, n, "nothing written")

	// A flag with a running experiment: 409 naming the flag.
	b.mustDo(t, 201, "POST", rp+"/experiments", map[string]any{"key": "x", "flag": "color", "environment": "production",
		"primary_metrics": []string{"rev"}})
	b.mustDo(t, 200, "POST", rp+"/experiments/x/start", nil)
	r := b.do(t, "POST", rp+"/safe-rollouts", rolloutBody(nil))
	require.Equal(t, 409, r.status, r.raw)
	require.Equal(t, "experiment_running", r.errCode())
	require.Equal(t, "flag", r.errField())
	// The key of an existing experiment is taken.
	b.mustDo(t, 200, "POST", rp+"/experiments/x/stop", nil)
	r = b.do(t, "POST", rp+"/safe-rollouts", rolloutBody(func(m map[string]any) { m["key"] = "x" }))
	require.Equal(t, 409, r.status, r.raw)
	require.Equal(t, "key", r.errField())
}

// TestSafeRolloutManualControls: start, pause, resume, advance and roll
// back through the API, each logged with its actor; the flag follows.
func TestSafeRolloutManualControls(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rolloutFlag(t, b)
	ed := b.as(t, "editor")
	viewer := b.as(t, "viewer")

	created := ed.mustDo(t, 201, "POST", rp+"/safe-rollouts", rolloutBody(nil)).body
	require.Equal(t, "draft", created["state"])
	require.Len(t, created["stages"], 5, "default stages 1, 5, 25, 50, 100")
	require.Equal(t, "rollback", created["on_regression"])
	viewer.mustDo(t, 403, "POST", rp+"/safe-rollouts/ship-blue/start", nil)

	rollout := func() []any {
		return state(t, b.mustDo(t, 200, "GET", rp+"/flags/color", nil).body, "production")["rollout"].([]any)
	}
	weight := func(i int) float64 { return rollout()[i].(map[string]any)["weight"].(float64) }

	r := ed.mustDo(t, 200, "POST", rp+"/safe-rollouts/ship-blue/start", nil).body
	require.Equal(t, "running", r["state"])
	require.EqualValues(t, 100, weight(1), "1% blue")
	// Starting twice: refused, naming the state.
	require.Equal(t, "state", ed.do(t, "POST", rp+"/safe-rollouts/ship-blue/start", nil).errField())

	r = ed.mustDo(t, 200, "POST", rp+"/safe-rollouts/ship-blue/pause", map[string]any{"reason": "looking at logs"}).body
	require.Equal(t, "paused", r["state"])
	require.Equal(t, "looking at logs", r["state_reason"])
	r = ed.mustDo(t, 200, "POST", rp+"/safe-rollouts/ship-blue/resume", nil).body
	require.Equal(t, "running", r["state"])
	r = ed.mustDo(t, 200, "POST", rp+"/safe-rollouts/ship-blue/advance", nil).body
	require.EqualValues(t, 1, r["current_stage"])
	require.EqualValues(t, 500, weight(1), "5% blue")

	// A running safe rollout is measured by its experiment: the rollout
	// cannot be changed behind its back.
	st := state(t, b.mustDo(t, 200, "GET", rp+"/flags/color", nil).body, "production")
	c := b.do(t, "PATCH", rp+"/flags/color/environments/production", map[string]any{"version": st["version"],
		"rollout": []map[string]any{{"variant": "red", "weight": 0}, {"variant": "blue", "weight": 10000}}})
	require.Equal(t, 409, c.status, c.raw)

	// Nor can its experiment be stopped or re-phased by hand.
	for _, c := range []response{
		b.do(t, "POST", rp+"/experiments/ship-blue/stop", nil),
		b.do(t, "POST", rp+"/experiments/ship-blue/phases", map[string]any{"traffic": 5000}),
		b.do(t, "PATCH", rp+"/flags/color/environments/production", map[string]any{"version": st["version"], "new_experiment_phase": true,
			"rollout": []map[string]any{{"variant": "red", "weight": 0}, {"variant": "blue", "weight": 10000}}}),
	} {
		require.Equal(t, 409, c.status, c.raw)
		require.Equal(t, "safe_rollout_running", c.errCode(), c.raw)
	}
	require.EqualValues(t, 500, weight(1), "still 5% blue")

	r = ed.mustDo(t, 200, "POST", rp+"/safe-rollouts/ship-blue/rollback", map[string]any{"reason": "support tickets"}).body
	require.Equal(t, "rolled_back", r["state"])
	require.EqualValues(t, 10000, weight(0), "everyone gets red")
	ds := r["decisions"].([]any)
	require.Len(t, ds, 5)
	last := ds[0].(map[string]any)
	require.Equal(t, "rollback", last["action"])
	require.Equal(t, false, last["automatic"])
	require.Equal(t, "support tickets", last["reason"])
	require.Contains(t, last["actor"], "editor")
	require.Nil(t, last["check_number"])

	ev := b.mustDo(t, 200, "GET", rp+"/events?type=safe_rollout_rolled_back", nil)
	require.Len(t, ev.items(), 1)
	list := b.mustDo(t, 200, "GET", rp+"/safe-rollouts?flag=color", nil)
	require.Len(t, list.items(), 1)
	require.Equal(t, "state", ed.do(t, "POST", rp+"/safe-rollouts/ship-blue/resume", nil).errField())
}

func TestNotificationWebhooks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.do(t, "POST", rp+"/notification-webhooks", map[string]any{"url": "ftp://x", "secret": "0123456789abcdef"})
	require.Equal(t, 422, r.status)
	require.Equal(t, "url", r.errField())
	r = b.do(t, "POST", rp+"/notification-webhooks", map[string]any{"url": "https://hooks.example.com/x", "secret": "short"})
	require.Equal(t, "secret", r.errField())
	b.as(t, "editor").mustDo(t, 403, "GET", rp+"/notification-webhooks", nil)
}
