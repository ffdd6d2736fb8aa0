package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/secret"
	"github.com/waypost/waypost/internal/webhooksig"
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

// TestNotificationWebhooks: an admin adds, edits, test-sends and removes
// a project's webhooks; bad input names the field; editors cannot.
func TestNotificationWebhooks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	box, err := secret.New("api-test-secret-key-0123456789abcdef")
	require.NoError(t, err)
	b.st.UseSecrets(box)
	admin := b.as(t, "admin")
	r := admin.do(t, "POST", rp+"/notification-webhooks", map[string]any{"url": "ftp://x", "secret": "0123456789abcdef"})
	require.Equal(t, 422, r.status)
	require.Equal(t, "url", r.errField())
	r = admin.do(t, "POST", rp+"/notification-webhooks", map[string]any{"url": "https://hooks.example.com/x", "secret": "short"})
	require.Equal(t, "secret", r.errField())
	editor := b.as(t, "editor")
	editor.mustDo(t, 403, "GET", rp+"/notification-webhooks", nil)

	// A receiver that checks the signature and remembers what it got.
	const secret1, secret2 = "first-secret-0123456789", "second-secret-0123456789"
	var mu sync.Mutex
	var got []http.Header
	var bodies []map[string]any
	status := 200
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		secs, _ := strconv.ParseInt(r.Header.Get(webhooksig.HeaderTimestamp), 10, 64)
		mu.Lock()
		defer mu.Unlock()
		for _, s := range []string{secret1, secret2} {
			if webhooksig.Verify(s, time.Unix(secs, 0), body, r.Header.Get(webhooksig.HeaderSignature)) {
				r.Header.Set("Verified-With", s)
			}
		}
		got = append(got, r.Header.Clone())
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		bodies = append(bodies, m)
		w.WriteHeader(status)
	}))
	defer hook.Close()

	w := admin.mustDo(t, 201, "POST", rp+"/notification-webhooks", map[string]any{"url": "https://hooks.example.com/x", "secret": secret1}).body
	id := fmt.Sprint(w["id"])
	require.NotContains(t, w, "secret")
	// Edit: a bad URL names the field and changes nothing.
	r = admin.do(t, "PATCH", rp+"/notification-webhooks/"+id, map[string]any{"url": "not a url"})
	require.Equal(t, 422, r.status, r.raw)
	require.Equal(t, "url", r.errField())
	r = admin.do(t, "PATCH", rp+"/notification-webhooks/"+id, map[string]any{"secret": "short"})
	require.Equal(t, "secret", r.errField())
	require.Equal(t, "url", admin.do(t, "PATCH", rp+"/notification-webhooks/"+id, map[string]any{}).errField())
	editor.mustDo(t, 403, "PATCH", rp+"/notification-webhooks/"+id, map[string]any{"url": hook.URL})
	admin.mustDo(t, 404, "PATCH", rp+"/notification-webhooks/99999", map[string]any{"url": hook.URL})
	// The URL changes, the secret stays: the test is signed with it.
	w = admin.mustDo(t, 200, "PATCH", rp+"/notification-webhooks/"+id, map[string]any{"url": hook.URL}).body
	require.Equal(t, hook.URL, w["url"])
	list := admin.mustDo(t, 200, "GET", rp+"/notification-webhooks", nil).items()
	require.Len(t, list, 1)
	require.Equal(t, hook.URL, list[0].(map[string]any)["url"])

	editor.mustDo(t, 403, "POST", rp+"/notification-webhooks/"+id+"/test", nil)
	res := admin.mustDo(t, 200, "POST", rp+"/notification-webhooks/"+id+"/test", nil).body
	require.EqualValues(t, 200, res["status"])
	mu.Lock()
	require.Len(t, got, 1)
	require.Equal(t, secret1, got[0].Get("Verified-With"), "signed with the webhook's secret")
	require.Equal(t, "safe_rollout.test", got[0].Get("X-Waypost-Event"))
	require.Equal(t, res["delivery"], got[0].Get("X-Waypost-Delivery"))
	require.Equal(t, "test", bodies[0]["event"])
	require.Contains(t, bodies[0]["text"], "Test notification")
	mu.Unlock()

	// A new secret signs the next test; a receiver answering 500 is a 502.
	admin.mustDo(t, 200, "PATCH", rp+"/notification-webhooks/"+id, map[string]any{"secret": secret2})
	mu.Lock()
	status = 500
	mu.Unlock()
	r = admin.do(t, "POST", rp+"/notification-webhooks/"+id+"/test", nil)
	require.Equal(t, 502, r.status, r.raw)
	require.Equal(t, "webhook_refused", r.errCode())
	mu.Lock()
	require.Len(t, got, 2)
	require.Equal(t, secret2, got[1].Get("Verified-With"))
	mu.Unlock()
	// Unreachable: 502 too.
	hook.Close()
	r = admin.do(t, "POST", rp+"/notification-webhooks/"+id+"/test", nil)
	require.Equal(t, 502, r.status, r.raw)
	require.Equal(t, "unreachable", r.errCode())

	admin.mustDo(t, 204, "DELETE", rp+"/notification-webhooks/"+id, nil)
	admin.mustDo(t, 404, "POST", rp+"/notification-webhooks/"+id+"/test", nil)
	require.Empty(t, admin.mustDo(t, 200, "GET", rp+"/notification-webhooks", nil).items())
}

// TestSafeRolloutEditStages: a draft's stages can be changed freely (its
// experiment follows the first stage), a running one's not at all, a
// paused one's only after the stages already served; bad stages name the
// field, a stale version is a conflict, and a refused edit writes nothing.
func TestSafeRolloutEditStages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rolloutFlag(t, b)
	ed := b.as(t, "editor")
	path := rp + "/safe-rollouts/ship-blue"
	stage := func(p float64, d, n int) map[string]any {
		return map[string]any{"percent": p, "min_duration_seconds": d, "min_sample": n}
	}
	r := ed.mustDo(t, 201, "POST", rp+"/safe-rollouts", rolloutBody(nil)).body
	v := r["version"]

	for name, c := range map[string]struct {
		body  map[string]any
		field string
	}{
		"not increasing":    {map[string]any{"version": v, "stages": []any{stage(10, 0, 0), stage(10, 0, 0), stage(100, 0, 0)}}, "stages[1].percent"},
		"0%":                {map[string]any{"version": v, "stages": []any{stage(0, 0, 0), stage(100, 0, 0)}}, "stages[0].percent"},
		"above 100%":        {map[string]any{"version": v, "stages": []any{stage(10, 0, 0), stage(101, 0, 0)}}, "stages[1].percent"},
		"negative sample":   {map[string]any{"version": v, "stages": []any{stage(10, 0, -1), stage(100, 0, 0)}}, "stages[0].min_sample"},
		"negative duration": {map[string]any{"version": v, "stages": []any{stage(10, -5, 0), stage(100, 0, 0)}}, "stages[0].min_duration_seconds"},
		"no version":        {map[string]any{"stages": []any{stage(10, 0, 0), stage(100, 0, 0)}}, "version"},
		"no stages":         {map[string]any{"version": v}, "stages"},
	} {
		t.Run(name, func(t *testing.T) {
			r := ed.do(t, "PATCH", path, c.body)
			require.Equal(t, 422, r.status, r.raw)
			require.Equal(t, c.field, r.errField(), r.raw)
		})
	}
	b.as(t, "viewer").mustDo(t, 403, "PATCH", path, map[string]any{"version": v, "stages": []any{stage(10, 0, 0), stage(100, 0, 0)}})
	require.Len(t, b.mustDo(t, 200, "GET", path, nil).body["stages"], 5, "nothing written")

	// A draft: anything; the rollout starts at the new first stage.
	r = ed.mustDo(t, 200, "PATCH", path, map[string]any{"version": v,
		"stages": []any{stage(10, 60, 50), stage(30, 600, 500), stage(100, 0, 0)}}).body
	require.Len(t, r["stages"], 3)
	require.EqualValues(t, 600, r["stages"].([]any)[1].(map[string]any)["min_duration_seconds"])
	stale := ed.do(t, "PATCH", path, map[string]any{"version": v, "stages": []any{stage(20, 0, 0), stage(100, 0, 0)}})
	require.Equal(t, 409, stale.status, stale.raw)
	require.Equal(t, "version", stale.errField())
	ed.mustDo(t, 200, "POST", path+"/start", nil)
	weights := state(t, b.mustDo(t, 200, "GET", rp+"/flags/color", nil).body, "production")["rollout"].([]any)
	require.EqualValues(t, 1000, weights[1].(map[string]any)["weight"], "10% blue: the edited first stage")

	// Running: refused, naming the state.
	r = ed.mustDo(t, 200, "GET", path, nil).body
	run := ed.do(t, "PATCH", path, map[string]any{"version": r["version"], "stages": []any{stage(10, 0, 0), stage(100, 0, 0)}})
	require.Equal(t, 409, run.status, run.raw)
	require.Equal(t, "state", run.errField())

	// Paused at stage 2 (30%): stages 1 and 2 keep their percent, the rest
	// and every minimum can change.
	ed.mustDo(t, 200, "POST", path+"/advance", nil)
	r = ed.mustDo(t, 200, "POST", path+"/pause", nil).body
	require.EqualValues(t, 1, r["current_stage"])
	for name, c := range map[string]struct {
		stages []any
		field  string
	}{
		"served stage changed":  {[]any{stage(10, 0, 0), stage(40, 0, 0), stage(100, 0, 0)}, "stages[1].percent"},
		"first stage changed":   {[]any{stage(5, 0, 0), stage(30, 0, 0), stage(100, 0, 0)}, "stages[0].percent"},
		"nothing after current": {[]any{stage(10, 0, 0), stage(100, 0, 0)}, "stages"},
	} {
		t.Run(name, func(t *testing.T) {
			r := ed.do(t, "PATCH", path, map[string]any{"version": r["version"], "stages": c.stages})
			require.Equal(t, 422, r.status, r.raw)
			require.Equal(t, c.field, r.errField(), r.raw)
		})
	}
	r = ed.mustDo(t, 200, "PATCH", path, map[string]any{"version": r["version"],
		"stages": []any{stage(10, 60, 50), stage(30, 7200, 2000), stage(60, 3600, 1000), stage(100, 0, 0)}}).body
	require.Len(t, r["stages"], 4)
	require.EqualValues(t, 7200, r["stages"].([]any)[1].(map[string]any)["min_duration_seconds"])
	require.Equal(t, "paused", r["state"])
	ed.mustDo(t, 200, "POST", path+"/resume", nil)
	r = ed.mustDo(t, 200, "POST", path+"/advance", nil).body
	require.EqualValues(t, 60, r["percent"], "the edited next stage")

	// Both edits are in the flag-event log with the editor and the stages
	// before and after; the refused ones are not.
	evs := b.mustDo(t, 200, "GET", rp+"/events?type=safe_rollout_stages_changed", nil).items()
	require.Len(t, evs, 2)
	last := evs[0].(map[string]any)
	require.Contains(t, last["actor"], "editor")
	require.Len(t, last["before"].(map[string]any)["stages"], 3)
	require.Len(t, last["after"].(map[string]any)["stages"], 4)
	require.Equal(t, "paused", last["after"].(map[string]any)["state"])

	// Ended: refused.
	r = ed.mustDo(t, 200, "POST", path+"/rollback", nil).body
	end := ed.do(t, "PATCH", path, map[string]any{"version": r["version"], "stages": []any{stage(10, 0, 0), stage(100, 0, 0)}})
	require.Equal(t, 409, end.status, end.raw)
	require.Equal(t, "state", end.errField())
}

// TestSafeRolloutAdvanceWhilePausedIsLoggedAsAdvance: advancing a paused
// rollout (it stays paused) is logged as an advance, not a second pause.
func TestSafeRolloutAdvanceWhilePausedIsLoggedAsAdvance(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rolloutFlag(t, b)
	ed := b.as(t, "editor")
	path := rp + "/safe-rollouts/ship-blue"
	ed.mustDo(t, 201, "POST", rp+"/safe-rollouts", rolloutBody(nil))
	ed.mustDo(t, 200, "POST", path+"/start", nil)
	ed.mustDo(t, 200, "POST", path+"/pause", nil)
	r := ed.mustDo(t, 200, "POST", path+"/advance", nil).body
	require.Equal(t, "paused", r["state"])
	require.EqualValues(t, 5, r["percent"])
	require.Len(t, b.mustDo(t, 200, "GET", rp+"/events?type=safe_rollout_paused", nil).items(), 1)
	adv := b.mustDo(t, 200, "GET", rp+"/events?type=safe_rollout_advanced", nil).items()
	require.Len(t, adv, 1)
	require.EqualValues(t, 5, adv[0].(map[string]any)["after"].(map[string]any)["percent"])
}

// TestSafeRolloutAudience: a rollout limited to country in [CA]. At its
// 50% stage Canadians split between the control and the new variant,
// inside the experiment; everyone else keeps the control variant (not the
// flag's off variant) and is not in the experiment. A rollback serves the
// control variant to everyone. A bad audience is a 422 naming the clause,
// and a paused rollout's audience cannot change; a draft's can.
func TestSafeRolloutAudience(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mustDo(t, 201, "POST", rp+"/metrics", map[string]any{"key": "rev", "type": "revenue", "sql": builtinMetricSQL})
	// Off variant red; blue is what is served now (the control).
	b.mustDo(t, 201, "POST", rp+"/flags", map[string]any{"key": "tint", "kind": "string", "variants": []map[string]any{
		{"key": "red", "value": "red"}, {"key": "blue", "value": "blue"}, {"key": "green", "value": "green"}}})
	b.mustDo(t, 200, "PATCH", rp+"/flags/tint/environments/production", map[string]any{"enabled": true, "version": 1, "off_variant": "red",
		"rollout": []map[string]any{{"variant": "red", "weight": 0}, {"variant": "blue", "weight": 10000}, {"variant": "green", "weight": 0}}})
	body := func(mutate func(map[string]any)) map[string]any {
		return rolloutBody(func(m map[string]any) {
			m["key"], m["flag"], m["control_variant"], m["new_variant"] = "tint-green", "tint", "blue", "green"
			m["stages"] = []map[string]any{{"percent": 50, "min_duration_seconds": 3600, "min_sample": 100}, {"percent": 100}}
			m["audience"] = []any{clause("country", "in", "CA")}
			if mutate != nil {
				mutate(m)
			}
		})
	}
	for name, c := range map[string]struct {
		audience any
		field    string
	}{
		"bad semver":       {[]any{clause("country", "in", "CA"), clause("appVersion", "semver_gte", "2.0.0", "2.x")}, "audience[1].values[1]"},
		"unknown operator": {[]any{map[string]any{"attribute": "country", "op": "near", "values": []any{"CA"}}}, "audience[0].op"},
		"unknown segment":  {[]any{clause("country", "in", "CA"), clause("", "in_segment", "nope")}, "audience[1].values[0]"},
		"too many clauses": {func() []any {
			var a []any
			for range 33 {
				a = append(a, clause("country", "in", "CA"))
			}
			return a
		}(), "audience"},
		"not a clause list": {"CA", ""},
	} {
		t.Run(name, func(t *testing.T) {
			r := b.do(t, "POST", rp+"/safe-rollouts", body(func(m map[string]any) { m["audience"] = c.audience }))
			require.True(t, r.status == 400 || r.status == 422, r.raw)
			if c.field != "" {
				require.Equal(t, 422, r.status, r.raw)
				require.Equal(t, c.field, r.errField(), r.raw)
			}
		})
	}
	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(), "SELECT (SELECT count(*) FROM safe_rollouts) + (SELECT count(*) FROM experiments)").Scan(&n))
	require.Zero(t, n, "nothing written")

	ed := b.as(t, "editor")
	created := ed.mustDo(t, 201, "POST", rp+"/safe-rollouts", body(func(m map[string]any) { m["start"] = true })).body
	require.Equal(t, "running", created["state"])
	require.Equal(t, []any{map[string]any{"attribute": "country", "op": "in", "values": []any{"CA"}}}, created["audience"])
	got := b.mustDo(t, 200, "GET", rp+"/safe-rollouts/tint-green", nil).body
	require.Equal(t, created["audience"], got["audience"])
	list := b.mustDo(t, 200, "GET", rp+"/safe-rollouts?flag=tint", nil).items()
	require.Equal(t, created["audience"], list[0].(map[string]any)["audience"])

	eval := func(user, country string) map[string]any {
		return b.mustDo(t, 200, "POST", rp+"/environments/production/evaluate", map[string]any{"flag": "tint",
			"context": map[string]any{"targetingKey": user, "country": country}}).body
	}
	green := 0
	for i := range 200 {
		ca := eval(fmt.Sprintf("user-%d", i), "CA")
		require.Equal(t, "tint-green", ca["experiment_key"], "a Canadian is in the rollout")
		require.Contains(t, []any{"blue", "green"}, ca["value"])
		if ca["value"] == "green" {
			green++
		}
		us := eval(fmt.Sprintf("user-%d", i), "US")
		require.Equal(t, "blue", us["value"], "outside the audience: the control variant, not the off variant")
		require.Nil(t, us["experiment_key"], "outside the audience: not in the experiment (not exposed)")
	}
	require.Greater(t, green, 60, "about half of the Canadians get the new variant")
	require.Less(t, green, 140, "about half of the Canadians get the new variant")
	anon := b.mustDo(t, 200, "POST", rp+"/environments/production/evaluate", map[string]any{"flag": "tint", "context": map[string]any{"country": "CA"}}).body
	require.Equal(t, "blue", anon["value"], "no targeting key: the control variant")

	// A paused rollout's audience cannot change (its stages can).
	paused := ed.mustDo(t, 200, "POST", rp+"/safe-rollouts/tint-green/pause", nil).body
	r := ed.do(t, "PATCH", rp+"/safe-rollouts/tint-green", map[string]any{"version": paused["version"], "stages": paused["stages"],
		"audience": []any{clause("country", "in", "CA", "US")}})
	require.Equal(t, 422, r.status, r.raw)
	require.Equal(t, "audience", r.errField())
	ed.mustDo(t, 200, "PATCH", rp+"/safe-rollouts/tint-green", map[string]any{"version": paused["version"], "stages": paused["stages"],
		"audience": paused["audience"]})

	// A rollback serves the control variant to everyone.
	ed.mustDo(t, 200, "POST", rp+"/safe-rollouts/tint-green/rollback", nil)
	for i := range 50 {
		for _, country := range []string{"CA", "US"} {
			e := eval(fmt.Sprintf("user-%d", i), country)
			require.Equal(t, "blue", e["value"], "rolled back: control for %s", country)
			require.Nil(t, e["experiment_key"])
		}
	}

	// A draft's audience can change (or be cleared) with its stages.
	d := ed.mustDo(t, 201, "POST", rp+"/safe-rollouts", body(func(m map[string]any) { m["key"] = "tint-green-2" })).body
	r = ed.do(t, "PATCH", rp+"/safe-rollouts/tint-green-2", map[string]any{"version": d["version"], "stages": d["stages"],
		"audience": []any{clause("appVersion", "semver_lt", "soon")}})
	require.Equal(t, 422, r.status, r.raw)
	require.Equal(t, "audience[0].values[0]", r.errField())
	e := ed.mustDo(t, 200, "PATCH", rp+"/safe-rollouts/tint-green-2", map[string]any{"version": d["version"], "stages": d["stages"],
		"audience": []any{clause("country", "in", "CA", "MX")}}).body
	require.Equal(t, []any{map[string]any{"attribute": "country", "op": "in", "values": []any{"CA", "MX"}}}, e["audience"])
	e = ed.mustDo(t, 200, "PATCH", rp+"/safe-rollouts/tint-green-2", map[string]any{"version": e["version"], "stages": d["stages"]}).body
	require.Len(t, e["audience"], 1, "no audience field: kept")
	e = ed.mustDo(t, 200, "PATCH", rp+"/safe-rollouts/tint-green-2", map[string]any{"version": e["version"], "stages": d["stages"], "audience": []any{}}).body
	require.Equal(t, []any{}, e["audience"], "cleared: everybody")
}
