package api_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/authtest"
)

// runningExperiment makes flag "color" (red/blue) on in production with a
// running 50/50 experiment "x" on it.
func runningExperiment(t *testing.T, b *testBundle) {
	t.Helper()
	p := "/api/v1/projects/default"
	b.mustDo(t, 201, "POST", p+"/metrics", map[string]any{"key": "rev", "type": "revenue", "sql": builtinMetricSQL})
	b.mustDo(t, 201, "POST", p+"/flags", map[string]any{"key": "color", "kind": "string", "variants": []map[string]any{
		{"key": "red", "value": "red"}, {"key": "blue", "value": "blue"}}})
	b.mustDo(t, 200, "PATCH", p+"/flags/color/environments/production", map[string]any{"enabled": true})
	b.mustDo(t, 201, "POST", p+"/experiments", map[string]any{"key": "x", "flag": "color", "environment": "production",
		"primary_metrics": []string{"rev"}, "weights": []map[string]any{{"variant": "red", "weight": 5000}, {"variant": "blue", "weight": 5000}}})
	x := b.mustDo(t, 200, "POST", p+"/experiments/x/start", nil).body
	require.Len(t, x["phases"], 1)
}

func flagState(t *testing.T, b *testBundle) map[string]any {
	t.Helper()
	return state(t, b.mustDo(t, 200, "GET", "/api/v1/projects/default/flags/color", nil).body, "production")
}

func phases(t *testing.T, b *testBundle) []map[string]any {
	t.Helper()
	x := b.mustDo(t, 200, "GET", "/api/v1/projects/default/experiments/x", nil).body
	var out []map[string]any
	for _, p := range x["phases"].([]any) {
		out = append(out, p.(map[string]any))
	}
	return out
}

func split(red, blue int) []map[string]any {
	return []map[string]any{{"variant": "red", "weight": red}, {"variant": "blue", "weight": blue}}
}

func requireExperimentRunning(t *testing.T, r response) {
	t.Helper()
	require.Equal(t, 409, r.status, r.raw)
	require.Equal(t, "experiment_running", r.errCode(), r.raw)
	require.Contains(t, r.raw, `experiment \"x\"`)
}

func TestRolloutChangeWhileRunningIsRefusedOrANewPhase(t *testing.T) {
	t.Parallel()
	b := setup(t)
	runningExperiment(t, b)
	p := "/api/v1/projects/default"
	st := flagState(t, b)

	// 50/50 -> 20/80 silently would break the experiment: refused, nothing written.
	r := b.do(t, "PATCH", p+"/flags/color/environments/production", map[string]any{"version": st["version"], "rollout": split(2000, 8000)})
	requireExperimentRunning(t, r)
	require.Contains(t, r.raw, "confirm a new phase")
	require.Equal(t, st["version"], flagState(t, b)["version"])
	require.Len(t, phases(t, b), 1)

	// Confirmed: phase 1 ends, phase 2 has the new split, the flag serves it.
	alice := b.withToken(authtest.User(t, b.st, "alice@example.com", false, "default", "editor"))
	alice.mustDo(t, 200, "PATCH", p+"/flags/color/environments/production", map[string]any{"version": st["version"],
		"rollout": split(2000, 8000), "new_experiment_phase": true})
	ph := phases(t, b)
	require.Len(t, ph, 2)
	require.Equal(t, "new_phase", ph[0]["end_reason"])
	require.Regexp(t, `^alice@example\.com \(token `, ph[0]["ended_by"])
	require.Nil(t, ph[1]["ended_at"])
	require.Equal(t, []any{map[string]any{"variant": "red", "weight": float64(2000)}, map[string]any{"variant": "blue", "weight": float64(8000)}}, ph[1]["weights"])
	require.Equal(t, ph[1]["weights"], flagState(t, b)["rollout"])
	x := b.mustDo(t, 200, "GET", p+"/experiments/x", nil).body
	require.Equal(t, ph[1]["weights"], x["weights"], "the experiment's plan follows its current phase")
	evs := b.mustDo(t, 200, "GET", p+"/events?type=experiment_phase_changed", nil).items()
	require.Len(t, evs, 1)
	require.Equal(t, ph[0]["ended_by"], evs[0].(map[string]any)["actor"])

	// A traffic change is a new phase too (the rollout stays).
	r = b.do(t, "POST", p+"/experiments/x/phases", map[string]any{"traffic": 0})
	require.Equal(t, 422, r.status, r.raw)
	require.Equal(t, "traffic", r.errField())
	x = b.mustDo(t, 200, "POST", p+"/experiments/x/phases", map[string]any{"traffic": 2500}).body
	ph = phases(t, b)
	require.Len(t, ph, 3)
	require.EqualValues(t, 2500, ph[2]["traffic"])
	require.EqualValues(t, 2500, x["traffic"])
	require.Equal(t, ph[1]["weights"], ph[2]["weights"])

	// Editing, deleting, renaming variants (a rollout rewrite) or a direct
	// SQL edit are refused while it runs.
	requireExperimentRunning(t, b.do(t, "PUT", p+"/experiments/x", map[string]any{"primary_metrics": []string{"rev"}}))
	requireExperimentRunning(t, b.do(t, "DELETE", p+"/experiments/x", nil))
	f := b.mustDo(t, 200, "GET", p+"/flags/color", nil).body
	requireExperimentRunning(t, b.do(t, "PATCH", p+"/flags/color", map[string]any{"version": f["version"], "variants": []map[string]any{
		{"key": "red", "value": "red"}, {"key": "blue", "value": "blue"}, {"key": "green", "value": "green"}}}))
	_, err := b.pool.Exec(context.Background(), `UPDATE flag_states SET rollout = '[{"variant":"red","weight":10000},{"variant":"blue","weight":0}]'
		WHERE flag_id = (SELECT id FROM flags WHERE key = 'color') AND environment_id = (SELECT id FROM environments WHERE key = 'production')`)
	require.ErrorContains(t, err, `experiment "x" is running`)

	// Once stopped, the rollout is free again.
	b.mustDo(t, 200, "POST", p+"/experiments/x/stop", nil)
	st = flagState(t, b)
	b.mustDo(t, 200, "PATCH", p+"/flags/color/environments/production", map[string]any{"version": st["version"], "rollout": split(0, 10000)})
	require.Equal(t, "stopped", phases(t, b)[2]["end_reason"])
}

func TestKillSwitchInterruptsThePhase(t *testing.T) {
	t.Parallel()
	b := setup(t)
	runningExperiment(t, b)
	p := "/api/v1/projects/default"

	// Always allowed, immediately, no confirmation.
	oncall := b.withToken(authtest.User(t, b.st, "oncall@example.com", false, "default", "editor"))
	oncall.mustDo(t, 200, "PATCH", p+"/flags/color/environments/production", map[string]any{"enabled": false})
	x := b.mustDo(t, 200, "GET", p+"/experiments/x", nil).body
	require.Equal(t, "running", x["status"])
	require.Equal(t, false, x["flag_enabled"])
	ph := x["phases"].([]any)[0].(map[string]any)
	in, ok := ph["interrupted"].(map[string]any)
	require.True(t, ok, "phase not marked interrupted: %v", ph)
	require.Regexp(t, `^oncall@example\.com \(token `, in["by"])
	require.NotEmpty(t, in["at"])
	evs := b.mustDo(t, 200, "GET", p+"/events?type=experiment_interrupted", nil).items()
	require.Len(t, evs, 1)
	require.Equal(t, in["by"], evs[0].(map[string]any)["actor"])

	// Turning it back on keeps the mark (the phase's data is mixed).
	b.mustDo(t, 200, "PATCH", p+"/flags/color/environments/production", map[string]any{"enabled": true})
	require.NotNil(t, phases(t, b)[0]["interrupted"])
}

func TestArchiveRefusedWhileRunning(t *testing.T) {
	t.Parallel()
	b := setup(t)
	runningExperiment(t, b)
	p := "/api/v1/projects/default"
	r := b.do(t, "POST", p+"/flags/color/archive", nil)
	requireExperimentRunning(t, r)
	require.Contains(t, r.raw, "stop it before archiving")
	f := b.mustDo(t, 200, "GET", p+"/flags/color", nil).body
	require.Nil(t, f["archived_at"])
	b.mustDo(t, 200, "POST", p+"/experiments/x/stop", nil)
	b.mustDo(t, 200, "POST", p+"/flags/color/archive", nil)
}

func TestShipOnKilledFlagServesTheVariant(t *testing.T) {
	t.Parallel()
	b := setup(t)
	runningExperiment(t, b)
	p := "/api/v1/projects/default"
	b.mustDo(t, 200, "PATCH", p+"/flags/color/environments/production", map[string]any{"enabled": false})

	x := b.mustDo(t, 200, "POST", p+"/experiments/x/stop", map[string]any{"ship": "blue"}).body
	require.Equal(t, "stopped", x["status"])
	require.Equal(t, "blue", x["shipped_variant"])
	require.Equal(t, true, x["flag_enabled"])
	require.Contains(t, x["outcome"], `"blue" now ships to everyone in production`)
	require.Contains(t, x["outcome"], "turned on")
	st := flagState(t, b)
	require.Equal(t, true, st["enabled"])
	require.Equal(t, split2(0, 10000), st["rollout"])
	require.Equal(t, "shipped", x["phases"].([]any)[0].(map[string]any)["end_reason"])

	// Custom assignments still win over the rollout: the outcome says so.
	b.mustDo(t, 200, "POST", p+"/experiments/x/start", nil)
	b.mustDo(t, 200, "POST", p+"/flags/color/environments/production/assignments", map[string]any{"assignments": []map[string]any{{"user_id": "u1", "variant": "red"}}})
	x = b.mustDo(t, 200, "POST", p+"/experiments/x/stop", map[string]any{"ship": "red"}).body
	require.Contains(t, x["outcome"], "(the flag is on)")
	require.Contains(t, x["outcome"], "1 users with custom assignments keep their assigned variant")

	// A stopped experiment restarts as a new phase.
	x = b.mustDo(t, 200, "POST", p+"/experiments/x/start", nil).body
	require.Equal(t, "running", x["status"])
	require.Nil(t, x["shipped_variant"])
	require.Len(t, x["phases"], 3)
	x = b.mustDo(t, 200, "POST", p+"/experiments/x/stop", nil).body
	require.Contains(t, x["outcome"], "restored")
}

func split2(red, blue int) []any {
	return []any{map[string]any{"variant": "red", "weight": float64(red)}, map[string]any{"variant": "blue", "weight": float64(blue)}}
}

func TestAudienceChangeWhileRunningIsRefusedOrANewPhase(t *testing.T) {
	t.Parallel()
	b := setup(t)
	runningExperiment(t, b)
	p := "/api/v1/projects/default"
	b.mustDo(t, 201, "POST", p+"/environments/production/segments", map[string]any{"key": "beta", "included": []string{"u1"}})
	require.Equal(t, []any{}, phases(t, b)[0]["audience"], "phase 1 runs with the experiment's audience (everybody)")
	get := func() map[string]any { return b.mustDo(t, 200, "GET", p+"/experiments/x", nil).body }
	phaseEvents := func() []any { return b.mustDo(t, 200, "GET", p+"/events?type=experiment_phase_changed", nil).items() }
	before := get()
	beta := []any{clause("", "in_segment", "beta")}
	require.NotEqual(t, "DEFAULT", evaluate(t, b, 200, "color", map[string]any{"targetingKey": "u2"})["reason"], "everybody is in")

	// Editing the audience of the running experiment is refused, naming it
	// and the confirmed way; nothing is written.
	r := b.do(t, "PUT", p+"/experiments/x", map[string]any{"primary_metrics": []string{"rev"}, "audience": beta})
	requireExperimentRunning(t, r)
	require.Contains(t, errMessage(r), "weights, traffic and audience change only as a new phase (POST .../phases)")
	require.Equal(t, before, get())
	require.Empty(t, phaseEvents())

	// An invalid audience names the clause; nothing is written.
	for _, c := range []struct {
		audience []any
		field    string
	}{
		{[]any{clause("v", "nearly", 1)}, "audience[0].op"},
		{[]any{clause("country", "in", "CA"), clause("", "in_segment", "nope")}, "audience[1].values[0]"},
	} {
		r := b.do(t, "POST", p+"/experiments/x/phases", map[string]any{"audience": c.audience})
		require.Equal(t, 422, r.status, r.raw)
		require.Equal(t, "invalid", r.errCode(), r.raw)
		require.Equal(t, c.field, r.errField(), r.raw)
	}
	require.Equal(t, before, get())
	require.Empty(t, phaseEvents())

	// Confirmed: phase 1 ends with new_phase, phase 2 runs with the new
	// audience (same split and traffic), the experiment and the served
	// flag set follow, and the change is logged once.
	alice := b.withToken(authtest.User(t, b.st, "alice@example.com", false, "default", "editor"))
	x := alice.mustDo(t, 200, "POST", p+"/experiments/x/phases", map[string]any{"audience": beta}).body
	ph := phases(t, b)
	require.Len(t, ph, 2)
	require.Equal(t, "new_phase", ph[0]["end_reason"])
	require.Regexp(t, `^alice@example\.com \(token `, ph[0]["ended_by"])
	require.NotNil(t, ph[0]["ended_at"])
	require.Equal(t, []any{}, ph[0]["audience"], "the ended phase keeps the audience it ran with")
	require.Nil(t, ph[1]["ended_at"])
	require.Len(t, ph[1]["audience"], 1)
	require.Equal(t, "in_segment", ph[1]["audience"].([]any)[0].(map[string]any)["op"])
	require.Equal(t, ph[1]["audience"], x["audience"], "the experiment's audience follows its current phase")
	require.Equal(t, ph[0]["weights"], ph[1]["weights"])
	require.Equal(t, ph[0]["traffic"], ph[1]["traffic"])
	require.Equal(t, ph[1]["weights"], flagState(t, b)["rollout"])

	served := servedFlag(t, b, "production", "color")
	require.NotNil(t, served.Experiment)
	require.Len(t, served.Experiment.Audience, 1)
	require.Equal(t, "DEFAULT", evaluate(t, b, 200, "color", map[string]any{"targetingKey": "u2"})["reason"], "outside the new audience")

	evs := phaseEvents()
	require.Len(t, evs, 1)
	ev := evs[0].(map[string]any)
	require.Equal(t, ph[0]["ended_by"], ev["actor"])
	require.Equal(t, []any{}, ev["before"].(map[string]any)["audience"])
	require.Equal(t, ph[1]["audience"], ev["after"].(map[string]any)["audience"])

	// Without audience, a new phase keeps it.
	b.mustDo(t, 200, "POST", p+"/experiments/x/phases", map[string]any{"traffic": 5000})
	ph = phases(t, b)
	require.Len(t, ph, 3)
	require.Equal(t, ph[1]["audience"], ph[2]["audience"])
}
