package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/analysis"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/worker"
)

// A refresh job can be asked about (queued, then succeeded with its
// results); a window chooses what is analysed; a draft's refresh needs a
// window start and is labelled a preview.
func TestRefreshJobStatusWindowsAndDraftPreview(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	envID := builtinDraft(t, h, "d")

	// Historic exposures under the draft's key, one a minute.
	base := time.Now().UTC().Add(-36 * time.Hour).Truncate(time.Minute)
	ingestExposures(t, h, envID, "d", base, 100)

	// Refused: a draft without a window, a bad window, a phase it lacks.
	r := h.must(422, "POST", "/experiments/d/refresh", nil)
	require.Equal(t, "invalid", r.errCode())
	require.Contains(t, r.errMessage(), "is a draft")
	require.Contains(t, r.errMessage(), "preview historic data")
	for _, w := range []map[string]any{{"start": base, "end": base.Add(-time.Hour)}, {"start": base, "phase": 1},
		{"start": time.Now().Add(time.Hour)}} {
		require.Equal(t, "invalid", h.must(422, "POST", "/experiments/d/refresh", w).errCode(), "%v", w)
	}

	// Queued until a worker runs it.
	job := h.must(202, "POST", "/experiments/d/refresh", map[string]any{"start": base.Add(-time.Hour)}).body
	path := fmt.Sprintf("/experiments/d/refreshes/%.0f", job["job_id"].(float64))
	st := h.must(200, "GET", path, nil).body
	require.Equal(t, "queued", st["state"])
	require.Nil(t, st["refresh"])
	h.must(404, "GET", "/experiments/d/refreshes/987654321", nil)
	require.Equal(t, "invalid", h.must(422, "GET", "/experiments/d/refreshes/zero", nil).errCode())

	h.startWorker(worker.ExperimentOptions{})
	waitState := func(path string) map[string]any {
		var st map[string]any
		require.Eventually(t, func() bool {
			st = h.must(200, "GET", path, nil).body
			return st["state"] == "succeeded" || st["state"] == "failed"
		}, 60*time.Second, 50*time.Millisecond)
		require.Equal(t, "succeeded", st["state"], "%v", st)
		return st
	}
	users := func(st map[string]any) (map[string]any, analysis.Results) {
		ref := st["refresh"].(map[string]any)
		var res analysis.Results
		b, _ := json.Marshal(ref["results"])
		require.NoError(t, json.Unmarshal(b, &res))
		return ref, res
	}
	ref, res := users(waitState(path))
	in := ref["inputs"].(map[string]any)
	require.Equal(t, true, in["preview"], "a draft's refresh is a preview")
	require.Equal(t, "explicit", in["window"])
	require.NotNil(t, ref["duration_ms"])
	require.Equal(t, map[string]int64{"off": 50, "on": 50}, res.Users)
	done := waitState(path)
	require.Equal(t, map[string]any{"done": float64(1), "total": float64(1)}, done["progress"], "every metric done")
	require.NotNil(t, done["duration_ms"])
	require.NotNil(t, done["results"], "the status carries the results")

	// An explicit end: only the first 40 minutes (40 users).
	job = h.waitIdle(t, "d", map[string]any{"start": base.Add(-time.Hour), "end": base.Add(39*time.Minute + 30*time.Second)})
	_, res = users(waitState(fmt.Sprintf("/experiments/d/refreshes/%.0f", job["job_id"].(float64))))
	require.Equal(t, map[string]int64{"off": 20, "on": 20}, res.Users)

	// History entries link to their refresh.
	page := h.must(200, "GET", "/experiments/d/results", nil).body
	for _, e := range page["history"].([]any) {
		u := e.(map[string]any)["url"].(string)
		require.Contains(t, u, "/api/v1/projects/default/experiments/d/refreshes/")
	}

	// Once running, a refresh analyses the current phase (not a preview);
	// phase 2 does not exist yet.
	h.must(200, "POST", "/experiments/d/start", nil)
	require.Equal(t, "invalid", h.must(422, "POST", "/experiments/d/refresh", map[string]any{"phase": 2}).errCode())
	job = h.waitIdle(t, "d", map[string]any{"phase": 1})
	ref, res = users(waitState(fmt.Sprintf("/experiments/d/refreshes/%.0f", job["job_id"].(float64))))
	in = ref["inputs"].(map[string]any)
	require.Nil(t, in["preview"])
	require.EqualValues(t, 1, in["phase"])
	require.Equal(t, map[string]int64{"off": 0, "on": 0}, res.Users, "the historic exposures predate phase 1")
}

// Results are per phase: with two phases, a refresh without a phase or
// window analyses the latest phase's users only; {"phase": 1} the first's.
func TestRefreshAnalysesTheLatestPhaseByDefault(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	h.startWorker(worker.ExperimentOptions{})
	envID := builtinDraft(t, h, "ph")
	h.must(200, "POST", "/experiments/ph/start", nil)
	h.must(200, "POST", "/experiments/ph/phases", map[string]any{"traffic": 5000})

	// 100 exposures, one a minute; phase 1 holds the first 60, phase 2
	// (open) the last 40.
	base := time.Now().UTC().Add(-36 * time.Hour).Truncate(time.Minute)
	change := base.Add(59*time.Minute + 30*time.Second)
	_, err := h.pool.Exec(ctx, `WITH x AS (UPDATE experiments SET started_at = $1 WHERE key = 'ph' RETURNING id)
	  UPDATE experiment_phases p SET started_at = CASE p.number WHEN 1 THEN $1 ELSE $2 END,
	         ended_at = CASE p.number WHEN 1 THEN $2 END
	    FROM x WHERE p.experiment_id = x.id`, base.Add(-time.Hour), change)
	require.NoError(t, err)
	ingestExposures(t, h, envID, "ph", base, 100)

	usersOf := func(entry, page map[string]any) (map[string]any, map[string]int64) {
		require.Equal(t, "succeeded", entry["status"], "%v", entry["error"])
		latest := page["latest"].(map[string]any)
		var res analysis.Results
		b, _ := json.Marshal(latest["results"])
		require.NoError(t, json.Unmarshal(b, &res))
		return latest["inputs"].(map[string]any), res.Users
	}
	in, users := usersOf(h.refresh("ph"))
	require.EqualValues(t, 2, in["phase"], "the current phase by default")
	require.Equal(t, "phase", in["window"])
	require.Equal(t, map[string]int64{"off": 20, "on": 20}, users, "only phase 2's users")
	in, users = usersOf(h.refresh("ph", map[string]any{"phase": 1}))
	require.EqualValues(t, 1, in["phase"])
	require.Equal(t, map[string]int64{"off": 30, "on": 30}, users, "only phase 1's users")
}

// A running refresh says how many of its metrics are done.
func TestRefreshStatusShowsProgressWhileRunning(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	h.must(201, "POST", "/flags", map[string]any{"key": "f"})
	h.must(201, "POST", "/metrics", map[string]any{"key": "purchase", "type": "count",
		"sql": `SELECT user_id, "timestamp" FROM events_metric WHERE metric = 'purchase'`})
	h.must(201, "POST", "/experiments", map[string]any{"key": "p", "flag": "f", "environment": "production",
		"primary_metrics": []string{"purchase"}})
	var expID int64
	require.NoError(t, h.pool.QueryRow(ctx, "SELECT id FROM experiments WHERE key = 'p'").Scan(&expID))
	job := int64(424242)
	id, err := h.st.BeginRefresh(ctx, expID, &job, map[string]any{})
	require.NoError(t, err)
	require.NoError(t, h.st.RefreshProgress(ctx, id, 2, 5))
	st := h.must(200, "GET", "/experiments/p/refreshes/424242", nil).body
	require.Equal(t, "running", st["state"])
	require.Equal(t, map[string]any{"done": float64(2), "total": float64(5)}, st["progress"])
	require.NotNil(t, st["duration_ms"], "how long it has run so far")
	require.Nil(t, st["results"])
}

// waitIdle enqueues a refresh with body once no identical job is queued.
func (h *harness) waitIdle(t *testing.T, exp string, body map[string]any) map[string]any {
	var job map[string]any
	require.Eventually(t, func() bool {
		job = h.must(202, "POST", "/experiments/"+exp+"/refresh", body).body
		return job["duplicate"] == false
	}, 30*time.Second, 50*time.Millisecond)
	return job
}

// productionFlag makes boolean flag f, on in production, and returns
// production's id (for IngestEvents into the built-in store).
func productionFlag(t *testing.T, h *harness) int64 {
	t.Helper()
	var envID int64
	require.NoError(t, h.pool.QueryRow(context.Background(), "SELECT id FROM environments WHERE key = 'production'").Scan(&envID))
	h.must(201, "POST", "/flags", map[string]any{"key": "f"})
	h.must(200, "PATCH", "/flags/f/environments/production", map[string]any{"enabled": true})
	return envID
}

// builtinDraft is productionFlag with a draft experiment key on f whose
// primary metric is the count of built-in "purchase" events.
func builtinDraft(t *testing.T, h *harness, key string) int64 {
	t.Helper()
	envID := productionFlag(t, h)
	h.must(201, "POST", "/metrics", map[string]any{"key": "purchase", "type": "count",
		"sql": `SELECT user_id, "timestamp" FROM events_metric WHERE metric = 'purchase'`})
	h.must(201, "POST", "/experiments", map[string]any{"key": key, "flag": "f", "environment": "production",
		"primary_metrics": []string{"purchase"}})
	return envID
}

// ingestExposures stores n exposures to experiment exp in the built-in
// store, one a minute from base: users u0, u1, ... alternately off and on.
func ingestExposures(t *testing.T, h *harness, envID int64, exp string, base time.Time, n int) {
	t.Helper()
	var events []model.Event
	for i := 0; i < n; i++ {
		ts := base.Add(time.Duration(i) * time.Minute)
		events = append(events, model.Event{Type: "exposure", IdempotencyKey: fmt.Sprintf("x%d", i), ExperimentKey: exp,
			UserID: fmt.Sprintf("u%d", i), Variant: []string{"off", "on"}[i%2], Timestamp: &ts})
	}
	_, err := h.st.IngestEvents(context.Background(), envID, events)
	require.NoError(t, err)
}
