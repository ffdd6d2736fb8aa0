package worker_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/worker"
)

// deliveries counts the notifications a webhook receives by delivery id
// (X-Waypost-Delivery: decision-webhook), the key a receiver would
// deduplicate on.
type deliveries struct {
	mu     sync.Mutex
	byID   map[string]int
	events map[string]string
	// onFirst runs when the first notification arrives, before the answer.
	onFirst func()
	fired   bool
}

func (d *deliveries) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var n worker.Notification
	_ = json.Unmarshal(body, &n)
	d.mu.Lock()
	id := r.Header.Get("X-Waypost-Delivery")
	d.byID[id]++
	d.events[id] = n.Event
	first := !d.fired && d.onFirst != nil
	d.fired = true
	d.mu.Unlock()
	if first {
		d.onFirst()
	}
}

// onlyReceiver serves d as the only notification webhook (the one
// setupRollout made is removed).
func onlyReceiver(t *testing.T, h *harness, d *deliveries) {
	t.Helper()
	hook := httptest.NewServer(d)
	t.Cleanup(hook.Close)
	_, err := h.pool.Exec(context.Background(), "DELETE FROM notification_webhooks")
	require.NoError(t, err)
	h.must(201, "POST", "/notification-webhooks", map[string]any{"url": hook.URL, "secret": notificationSecret})
}

func (d *deliveries) snapshot() (map[string]int, []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	counts := map[string]int{}
	var evs []string
	for id, n := range d.byID {
		counts[id] = n
		evs = append(evs, d.events[id])
	}
	slices.Sort(evs)
	return counts, evs
}

// TestSafeRolloutSurvivesDatabaseRestarts: the worker reaches PostgreSQL
// through a proxy that the test cuts as a database restart would (every
// connection dropped, new ones refused for a second), at the worst points
// of a check's transaction: after the rollout's conditional update but
// before its decision row, after the whole transaction but before its
// COMMIT, and after the COMMIT ran but before the worker heard of it. The
// check is retried as the River job would be. Every stage is applied
// exactly once (one decision per check, one flag event and one experiment
// phase per stage), the rollout completes, and every decision is notified
// once, even though the database also goes away while the first
// notification is being answered.
func TestSafeRolloutSurvivesDatabaseRestarts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	ev := newRolloutEvents(t, h)
	proxy := newPGProxy(t, h.dsn, time.Second)
	w := h.startRolloutWorkerOn(proxy.dsn(h.dsn))

	id, _ := setupRollout(t, h, "rollback")
	// The database also goes away while the first notification is being
	// answered (so River cannot record the job as done at once), between
	// two checks: checking is held while a check runs.
	var checking sync.Mutex
	got := &deliveries{byID: map[string]int{}, events: map[string]string{}, onFirst: func() {
		checking.Lock()
		defer checking.Unlock()
		proxy.cut()
	}}
	onlyReceiver(t, h, got)
	_, err := h.pool.Exec(ctx, `UPDATE safe_rollouts SET stages = '[{"percent": 10, "min_duration_seconds": 0, "min_sample": 20},
	  {"percent": 25, "min_duration_seconds": 0, "min_sample": 20}, {"percent": 50, "min_duration_seconds": 0, "min_sample": 20},
	  {"percent": 100}]' WHERE id = $1`, id)
	require.NoError(t, err)
	h.must(200, "POST", "/safe-rollouts/"+rolloutKey+"/start", nil)

	// check runs check n until it returns without an error, as River
	// retries the job; it returns the outcome of the call that succeeded.
	check := func(n int) (worker.CheckOutcome, int) {
		for attempt := 1; ; attempt++ {
			out, err := worker.RunSafeRolloutCheck(ctx, w.st, w.pools, testLogger(), time.Now().Add(2*time.Second), id, n, nil)
			if err == nil {
				return out, attempt
			}
			if attempt == 1 {
				t.Logf("check %d, attempt 1: %v", n, err)
			}
			require.Less(t, attempt, 100, "the check succeeds once the database is back")
			time.Sleep(100 * time.Millisecond)
		}
	}
	cases := []struct {
		at      string
		where   cutPoint
		action  string
		applied bool // by the call that succeeded (false: by the one cut after its COMMIT)
	}{
		{"insert into safe_rollout_decisions", cutBefore, model.ActionAdvance, true},
		{"commit", cutBefore, model.ActionAdvance, true},
		{"commit", cutAfterReply, model.ActionComplete, false},
	}
	shares := []float64{0.10, 0.25, 0.50}
	for i, c := range cases {
		n := i + 1
		ev.arrive(t, float64(n)/10, 2000, shares[i], errorRate, errorRate)
		out, attempts := func() (worker.CheckOutcome, int) {
			checking.Lock()
			defer checking.Unlock()
			before := proxy.cuts.Load()
			proxy.decide.Store(inDecisionTx(c.at, c.where))
			defer proxy.decide.Store(nil)
			out, attempts := check(n)
			require.Equal(t, before+1, proxy.cuts.Load(), "check %d: the database went away once", n)
			return out, attempts
		}()
		t.Logf("check %d: succeeded at attempt %d (applied by it: %v, action %q)", n, attempts, out.Applied, out.Decision.Action)
		require.Greater(t, attempts, 1, "check %d failed at first", n)
		require.Equal(t, c.applied, out.Applied, "check %d", n)
		var checks, stage int
		var action string
		require.NoError(t, h.pool.QueryRow(ctx, `SELECT r.checks, r.current_stage, d.action FROM safe_rollouts r
		  JOIN safe_rollout_decisions d ON d.rollout_id = r.id AND d.check_number = $2 WHERE r.id = $1`, id, n).Scan(&checks, &stage, &action))
		require.Equal(t, n, checks, "check %d applied", n)
		require.Equal(t, c.action, action, "check %d", n)
		require.Equal(t, n, stage, "check %d: one stage further", n)
		// Run again (a duplicate job, a retry after the fact): a no-op.
		again, _ := check(n)
		require.False(t, again.Applied, "check %d applied once", n)
	}

	var state string
	var decisions, phases int
	require.NoError(t, h.pool.QueryRow(ctx, `SELECT r.state,
	    (SELECT count(*) FROM safe_rollout_decisions d WHERE d.rollout_id = r.id AND d.check_number IS NOT NULL),
	    (SELECT count(*) FROM experiment_phases p WHERE p.experiment_id = r.experiment_id)
	  FROM safe_rollouts r WHERE r.id = $1`, id).Scan(&state, &decisions, &phases))
	require.Equal(t, model.RolloutCompleted, state)
	require.Equal(t, 3, decisions, "one decision per check")
	require.Equal(t, 3, phases, "one experiment phase per stage (10%, 25%, 50%), none twice")
	var types []string
	require.NoError(t, h.pool.QueryRow(ctx, `SELECT array_agg(event_type ORDER BY id) FROM flag_events
	  WHERE actor = $1 AND event_type LIKE 'safe_rollout_%'`, "safe-rollout:"+rolloutKey).Scan(&types))
	require.Equal(t, []string{"safe_rollout_advanced", "safe_rollout_advanced", "safe_rollout_completed"}, types)
	var flagRollout string
	require.NoError(t, h.pool.QueryRow(ctx, `SELECT rollout::text FROM flag_states s JOIN flags f ON f.id = s.flag_id
	  JOIN environments e ON e.id = s.environment_id WHERE f.key = 'checkout' AND e.key = 'production'`).Scan(&flagRollout))
	require.JSONEq(t, `[{"variant":"off","weight":0},{"variant":"on","weight":10000}]`, flagRollout, "the new variant ships")

	// Notifications: one per decision, each delivered once. A cut can
	// also land on River's fetch after it committed (the job marked
	// running, the reply lost): that job waits for the rescuer, which
	// takes it once it has been running for worker.RescueStuckJobsAfter
	// (1 min) and runs every 30 s, hence the long bound (usually 1-2 s).
	if !assert.Eventually(t, func() bool { c, _ := got.snapshot(); return len(c) >= 3 }, 150*time.Second, 50*time.Millisecond) {
		c, _ := got.snapshot()
		t.Fatalf("deliveries %v; notification jobs:\n%s", c, notifyJobs(t, h))
	}
	// River's completer retries through the outages with a backoff (1 s,
	// 2 s, 4 s, then it requeues the batch): wait for every notification
	// job to be recorded as completed. A completed job is never run again,
	// so the counts taken after that are final.
	require.Eventually(t, func() bool {
		var pending int
		err := h.pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'safe_rollout_notify' AND state <> 'completed'`).Scan(&pending)
		return err == nil && pending == 0
	}, 60*time.Second, 50*time.Millisecond, "every notification job completed")
	counts, evs := got.snapshot()
	require.Equal(t, []string{"advanced", "advanced", "completed"}, evs)
	for id, n := range counts {
		require.Equal(t, 1, n, "delivery %s received once", id)
	}
	require.EqualValues(t, 4, proxy.cuts.Load(), "three checks cut, and the first notification")
	t.Logf("database cut %d times (1 s outages each); every stage applied once, %d notifications delivered once each", proxy.cuts.Load(), len(counts))
}

// notifyJobs describes the notification jobs (state, attempt, arguments,
// errors), for a failure message.
func notifyJobs(t *testing.T, h *harness) string {
	t.Helper()
	rows, err := h.pool.Query(context.Background(), `SELECT format('job %s %s attempt %s %s scheduled %s errors %s',
	    id, state, attempt, args, scheduled_at, coalesce(errors::text, '-')) FROM river_job WHERE kind = 'safe_rollout_notify' ORDER BY id`)
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return strings.Join(lines, "\n")
}
