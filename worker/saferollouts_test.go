package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/eventsdb"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/secret"
	"github.com/waypost/waypost/internal/store"
	"github.com/waypost/waypost/internal/webhooksig"
	"github.com/waypost/waypost/provider"
	waypost "github.com/waypost/waypost/sdk"
	"github.com/waypost/waypost/worker"
)

const (
	rolloutWebhookSecret  = "test-webhook-secret-0123456789-0123456789"
	notificationSecret    = "notification-secret-0123456789"
	rolloutKey            = "checkout-v2"
	usersPerCheck         = 5000
	documentedMaxChecks   = 12 // docs/safe-rollouts.md
	errorRate, errorsLift = 0.20, 0.10
)

// received collects the notifications a project webhook got, checking
// their signatures.
type received struct {
	mu     sync.Mutex
	bodies []worker.Notification
	bad    int
}

func (rc *received) handler(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	secs, _ := strconv.ParseInt(r.Header.Get(webhooksig.HeaderTimestamp), 10, 64)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !webhooksig.Verify(notificationSecret, time.Unix(secs, 0), body, r.Header.Get(webhooksig.HeaderSignature)) {
		rc.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var n worker.Notification
	_ = json.Unmarshal(body, &n)
	rc.bodies = append(rc.bodies, n)
}

func (rc *received) events() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, b := range rc.bodies {
		out = append(out, b.Event)
	}
	return out
}

// rolloutWorker is a worker process: its own pool and store (with the
// webhook and notification hooks, as `waypost worker` sets them up) and a
// River client working provider webhooks and the safe-rollout jobs.
type rolloutWorker struct {
	st    *store.Store
	pools *eventsdb.Pools
}

func (h *harness) startRolloutWorker(every ...time.Duration) *rolloutWorker {
	h.t.Helper()
	return h.startRolloutWorkerOn(h.dsn, every...)
}

// startRolloutWorkerOn is startRolloutWorker reaching the database at dsn
// (through a pgProxy, say).
func (h *harness) startRolloutWorkerOn(dsn string, every ...time.Duration) *rolloutWorker {
	t := h.t
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dsn)
	require.NoError(t, err)
	st := store.New(pool)
	box, _ := secret.New(testSecretKey)
	st.UseSecrets(box)
	pools := eventsdb.NewPools(pool, 8)
	client, err := worker.NewClient(pool, testLogger(), true, provider.WebhookJobs(pool, rolloutWebhookSecret, testLogger()),
		worker.SafeRolloutJobs(st, pools, testLogger(), worker.SafeRolloutOptions{Every: append(every, -1)[0]}))
	require.NoError(t, err)
	provider.EnqueueWebhooksOnChange(st, client)
	worker.EnqueueNotificationsOnDecision(st, client)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, client.Start(ctx))
	t.Cleanup(func() {
		cancel()
		sctx, c2 := context.WithTimeout(context.Background(), 10*time.Second)
		defer c2()
		_ = client.Stop(sctx)
		pools.Close()
		pool.Close()
	})
	return &rolloutWorker{st: st, pools: pools}
}

// check runs check n as the check job does.
func (w *rolloutWorker) check(t *testing.T, id int64, n int) worker.CheckOutcome {
	t.Helper()
	// Analyse up to a little after now: the analysis end is truncated to
	// the second and the users of this check arrived just now.
	out, err := worker.RunSafeRolloutCheck(context.Background(), w.st, w.pools, testLogger(), time.Now().Add(2*time.Second), id, n, nil)
	require.NoError(t, err)
	return out
}

// rolloutEvents is a per-test events database with exposures and errors.
type rolloutEvents struct {
	conn *pgx.Conn
	n    int
}

func newRolloutEvents(t *testing.T, h *harness) *rolloutEvents {
	t.Helper()
	ctx := context.Background()
	dsn := dbtest.NewDatabase(t)
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	_, err = conn.Exec(ctx, `CREATE TABLE exposures (experiment_key text, user_id text, variant text, ts timestamptz);
	  CREATE TABLE errors (user_id text, ts timestamptz)`)
	require.NoError(t, err)
	h.must(201, "POST", "/connections", connectionBody(t, "events", dsn, `SELECT experiment_key, user_id, variant, ts AS "timestamp" FROM exposures`))
	return &rolloutEvents{conn: conn}
}

// arrive adds n synthetic users exposed now, share of them to the new
// variant "on"; a user has an error with probability pOff or pOn (seeded,
// so every run sees the same users).
func (e *rolloutEvents) arrive(t *testing.T, seed float64, n int, share, pOff, pOn float64) {
	t.Helper()
	ctx := context.Background()
	e.n++
	_, err := e.conn.Exec(ctx, `SELECT setseed($1)`, seed)
	require.NoError(t, err)
	_, err = e.conn.Exec(ctx, `WITH u AS MATERIALIZED (
	    SELECT $1::text || '-' || i AS user_id, CASE WHEN random() < $2 THEN 'on' ELSE 'off' END AS variant, random() AS r,
	           clock_timestamp() AS ts
	      FROM generate_series(1, $3::int) i),
	  x AS (INSERT INTO exposures SELECT $4, user_id, variant, ts FROM u)
	  INSERT INTO errors SELECT user_id, ts + interval '1 millisecond' FROM u
	   WHERE r < CASE WHEN variant = 'on' THEN $6::float8 ELSE $5::float8 END`,
		fmt.Sprintf("c%d", e.n), share, n, rolloutKey, pOff, pOn)
	require.NoError(t, err)
}

// setupRollout makes a boolean flag serving "off", an errors guardrail
// and a notification webhook, and starts a safe rollout of "on" at 20%.
func setupRollout(t *testing.T, h *harness, onRegression string) (int64, *received) {
	t.Helper()
	ctx := context.Background()
	h.must(201, "POST", "/flags", map[string]any{"key": "checkout", "kind": "boolean"})
	h.must(200, "PATCH", "/flags/checkout/environments/production", map[string]any{"enabled": true, "version": 1,
		"rollout": []map[string]any{{"variant": "off", "weight": 10000}, {"variant": "on", "weight": 0}}})
	h.must(201, "POST", "/metrics", map[string]any{"key": "errors", "type": "binomial", "direction": "lower",
		"connection": "events", "sql": `SELECT user_id, ts AS "timestamp" FROM errors`})
	rc := &received{}
	hook := httptest.NewServer(http.HandlerFunc(rc.handler))
	t.Cleanup(hook.Close)
	h.must(201, "POST", "/notification-webhooks", map[string]any{"url": hook.URL, "secret": notificationSecret})
	h.must(201, "POST", "/safe-rollouts", map[string]any{"key": rolloutKey, "flag": "checkout", "environment": "production",
		"control_variant": "off", "new_variant": "on", "on_regression": onRegression,
		"stages":     []map[string]any{{"percent": 20, "min_duration_seconds": 3600, "min_sample": 5000}, {"percent": 100}},
		"guardrails": []map[string]any{{"metric": "errors", "threshold": 0}}})
	var id int64
	require.NoError(t, h.pool.QueryRow(ctx, "SELECT id FROM safe_rollouts WHERE key = $1", rolloutKey).Scan(&id))
	return id, rc
}

func ofrepValue(t *testing.T, url, key, user string) any {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/ofrep/v1/evaluate/flags/checkout", strings.NewReader(`{"context":{"targetingKey":"`+user+`"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var m map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&m))
	return m["value"]
}

// onShare evaluates the flag for 200 users through the provider and
// returns how many got true.
func onShare(t *testing.T, url, key string) int {
	t.Helper()
	on := 0
	for i := range 200 {
		if ofrepValue(t, url, key, fmt.Sprintf("user-%d", i)) == true {
			on++
		}
	}
	return on
}

func startTestProvider(t *testing.T, h *harness) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + ln.Addr().String()
	pool, err := pgxpool.New(context.Background(), h.dsn)
	require.NoError(t, err)
	p, err := provider.New(provider.Config{Pool: pool, Log: testLogger(), WebhookSecret: rolloutWebhookSecret,
		WebhookURL: url + "/internal/webhook", HeartbeatInterval: time.Hour, CheckInterval: time.Hour})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.Run(ctx); close(done) }()
	srv := &http.Server{Handler: p.Handler()}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		cancel()
		<-done
		pool.Close()
	})
	require.Eventually(t, p.Ready, 10*time.Second, 10*time.Millisecond, "provider ready")
	return url
}

// TestSafeRolloutRollsBackAHarmfulVariant: synthetic users in a real
// events database, the new variant raising errors by 10% (20% -> 22%).
// Checks run the metric pipeline with the sequential test; the rollout
// rolls back within the documented number of checks, in one logged
// transaction with actor safe-rollout:<key>, the project webhook gets a
// signed regression notification once, and SDKs through a provider get
// the control value.
func TestSafeRolloutRollsBackAHarmfulVariant(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	ev := newRolloutEvents(t, h)
	w := h.startRolloutWorker()
	prov := startTestProvider(t, h)
	key, err := h.st.CreateSDKKey(ctx, "default", "production", model.CreateSDKKey{Name: "sdk", Kind: "server"})
	require.NoError(t, err)
	id, rc := setupRollout(t, h, "rollback")

	// A Go SDK streaming from the provider notes when every one of 200
	// users gets the control value again (evaluating locally, on its sync
	// goroutine, as soon as a new flag set arrives).
	var client *waypost.Client
	var sawControl atomic.Pointer[time.Time]
	client, err = waypost.New(ctx, waypost.Config{ProviderURL: prov, SDKKey: key.Secret,
		OnChange: func(waypost.ChangeEvent) {
			for i := range 200 {
				if client.Bool("checkout", fmt.Sprintf("user-%d", i), true) {
					return
				}
			}
			now := time.Now()
			sawControl.CompareAndSwap(nil, &now)
		}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })

	r := h.must(200, "POST", "/safe-rollouts/"+rolloutKey+"/start", nil).body
	require.Equal(t, "running", r["state"])
	require.EqualValues(t, 20, r["percent"])
	// The provider serves the new variant to about 20% of users.
	require.Eventually(t, func() bool { n := onShare(t, prov, key.Secret); return n > 15 && n < 70 }, 10*time.Second, 50*time.Millisecond)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, client.WaitForReady(wctx))
	require.Eventually(t, func() bool {
		for i := range 200 {
			if client.Bool("checkout", fmt.Sprintf("user-%d", i), false) {
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "the SDK serves the new variant to some users")
	require.Nil(t, sawControl.Load())

	var out worker.CheckOutcome
	checks := 0
	for checks = 1; checks <= 3*documentedMaxChecks; checks++ {
		ev.arrive(t, float64(checks)/100, usersPerCheck, 0.2, errorRate, errorRate*(1+errorsLift))
		out = w.check(t, id, checks)
		require.True(t, out.Applied, "check %d applied", checks)
		if out.Decision.Action != model.ActionHold {
			break
		}
	}
	decided := time.Now()
	nb, _ := json.Marshal(out.Decision.Numbers)
	t.Logf("decision after %d checks (%d users): %s %s", checks, checks*usersPerCheck, out.Decision.Reason, nb)
	require.Equal(t, model.ActionRollback, out.Decision.Action, out.Decision.Reason)
	require.LessOrEqual(t, checks, documentedMaxChecks, "rolled back within the documented number of checks")

	// SDKs connected to the provider see the control value. The figure
	// (acceptance: within 2 s) is logged, not asserted: from the decision's
	// transaction start (decision row created_at, an upper bound) and from
	// the check's return after its COMMIT (a lower bound).
	require.Eventually(t, func() bool { return sawControl.Load() != nil }, 10*time.Second, 5*time.Millisecond, "the SDK sees the control value")
	var txStart time.Time
	require.NoError(t, h.pool.QueryRow(ctx, `SELECT created_at FROM safe_rollout_decisions WHERE rollout_id = $1 AND check_number = $2`, id, checks).Scan(&txStart))
	t.Logf("decision to Go SDK (streaming from a provider) serving the control value to all 200 users: %s from the decision transaction's start, %s from the check's return",
		sawControl.Load().Sub(txStart).Round(time.Millisecond), sawControl.Load().Sub(decided).Round(time.Millisecond))
	require.Eventually(t, func() bool { return onShare(t, prov, key.Secret) == 0 }, 10*time.Second, 20*time.Millisecond)
	t.Logf("the provider served the control value to every user through OFREP %s after the check returned", time.Since(decided))

	got := h.must(200, "GET", "/safe-rollouts/"+rolloutKey, nil).body
	require.Equal(t, "rolled_back", got["state"])
	require.Contains(t, got["state_reason"], "regression")
	last := got["decisions"].([]any)[0].(map[string]any)
	require.Equal(t, "rollback", last["action"])
	require.Equal(t, true, last["automatic"])
	require.Equal(t, "safe-rollout:"+rolloutKey, last["actor"])
	require.EqualValues(t, checks, last["check_number"])
	g := last["numbers"].(map[string]any)["guardrails"].([]any)[0].(map[string]any)
	require.Equal(t, true, g["regression"])
	require.Greater(t, g["ci_low"].(float64), 0.0, "the interval lies entirely on the harmful side")

	// One transaction, logged: the rollout (100% control) and the events.
	var rollout string
	require.NoError(t, h.pool.QueryRow(ctx, `SELECT s.rollout::text FROM flag_states s JOIN flags f ON f.id = s.flag_id
	  JOIN environments e ON e.id = s.environment_id WHERE f.key = 'checkout' AND e.key = 'production'`).Scan(&rollout))
	require.JSONEq(t, `[{"variant":"off","weight":10000},{"variant":"on","weight":0}]`, rollout)
	var types []string
	require.NoError(t, h.pool.QueryRow(ctx, `SELECT array_agg(event_type ORDER BY id) FROM flag_events
	  WHERE actor = $1`, "safe-rollout:"+rolloutKey).Scan(&types))
	require.Contains(t, types, "safe_rollout_rolled_back")
	require.Contains(t, types, "rollout_changed")
	require.Contains(t, types, "experiment_stopped")
	var xid, sameTx int64
	require.NoError(t, h.pool.QueryRow(ctx, `SELECT count(DISTINCT xmin::text), count(*) FROM flag_events WHERE actor = $1`,
		"safe-rollout:"+rolloutKey).Scan(&sameTx, &xid))
	require.EqualValues(t, 1, sameTx, "every change of the rollback was written by one transaction")

	// The regression notification, signed, once (the start was a manager
	// action; this harness's manager enqueues no notifications).
	require.Eventually(t, func() bool { return len(rc.events()) >= 1 }, 30*time.Second, 20*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	require.Equal(t, []string{"rolled_back"}, rc.events())
	require.Zero(t, rc.bad)
	n := rc.bodies[0]
	require.True(t, n.Regression)
	require.Contains(t, n.Text, "Regression")
	require.Equal(t, rolloutKey, n.SafeRollout)
	require.Equal(t, "safe-rollout:"+rolloutKey, n.Actor)

	// A later check of the same rollout changes nothing.
	out = w.check(t, id, checks+1)
	require.False(t, out.Applied)
}

// TestSafeRolloutCheckAppliedOnce: two workers run the same check at the
// same time (and the check job is enqueued twice): one transition, one
// decision, one notification. A check that comes again after it was
// applied (a retried job) is a no-op.
func TestSafeRolloutCheckAppliedOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	ev := newRolloutEvents(t, h)
	w1, w2 := h.startRolloutWorker(), h.startRolloutWorker()
	id, rc := setupRollout(t, h, "rollback")
	// A short first stage, so a check advances (here: completes) at once.
	_, err := h.pool.Exec(ctx, `UPDATE safe_rollouts SET stages = '[{"percent": 20, "min_duration_seconds": 0, "min_sample": 10}, {"percent": 100}]' WHERE id = $1`, id)
	require.NoError(t, err)
	h.must(200, "POST", "/safe-rollouts/"+rolloutKey+"/start", nil)
	ev.arrive(t, 0.5, 2000, 0.2, errorRate, errorRate)

	var wg sync.WaitGroup
	outs := make([]worker.CheckOutcome, 4)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := w1
			if i%2 == 1 {
				w = w2
			}
			outs[i] = w.check(t, id, 1)
		}()
	}
	wg.Wait()
	applied := 0
	for _, o := range outs {
		if o.Applied {
			applied++
			require.Equal(t, model.ActionComplete, o.Decision.Action, o.Decision.Reason)
		}
	}
	require.Equal(t, 1, applied, "exactly one of the concurrent checks applied")
	var decisions, completes int
	require.NoError(t, h.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE action = 'complete') FROM safe_rollout_decisions
	  WHERE rollout_id = $1 AND check_number IS NOT NULL`, id).Scan(&decisions, &completes))
	require.Equal(t, 1, decisions)
	require.Equal(t, 1, completes)
	var phases int
	require.NoError(t, h.pool.QueryRow(ctx, `SELECT count(*) FROM experiment_phases p JOIN safe_rollouts r ON r.experiment_id = p.experiment_id WHERE r.id = $1`, id).Scan(&phases))
	require.Equal(t, 1, phases, "no stage applied twice")

	// The job enqueued twice is one job.
	inserter, err := worker.NewClient(h.pool, testLogger(), false, worker.SafeRolloutJobs(nil, nil, testLogger(), worker.SafeRolloutOptions{Every: -1}))
	require.NoError(t, err)
	a, err := inserter.Insert(ctx, worker.SafeRolloutCheckArgs{RolloutID: id, Check: 2}, &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	b, err := inserter.Insert(ctx, worker.SafeRolloutCheckArgs{RolloutID: id, Check: 2}, nil)
	require.NoError(t, err)
	require.True(t, b.UniqueSkippedAsDuplicate)
	require.Equal(t, a.Job.ID, b.Job.ID)

	// A repeated check 1 (a retry after the worker died past the commit).
	require.False(t, w1.check(t, id, 1).Applied)

	require.Eventually(t, func() bool { return len(rc.events()) >= 1 }, 30*time.Second, 20*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	require.Equal(t, []string{"completed"}, rc.events(), "one notification")
	var flagRollout string
	require.NoError(t, h.pool.QueryRow(ctx, `SELECT rollout::text FROM flag_states s JOIN flags f ON f.id = s.flag_id
	  JOIN environments e ON e.id = s.environment_id WHERE f.key = 'checkout' AND e.key = 'production'`).Scan(&flagRollout))
	require.JSONEq(t, `[{"variant":"off","weight":0},{"variant":"on","weight":10000}]`, flagRollout, "the new variant ships")
}

// TestSafeRolloutScheduleRunsDueChecks: the periodic job (on the elected
// leader) enqueues the next check of a running rollout once it is due, and
// the check job applies it; the next check is scheduled an interval later.
func TestSafeRolloutScheduleRunsDueChecks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	ev := newRolloutEvents(t, h)
	h.startRolloutWorker(200 * time.Millisecond)
	h.startRolloutWorker(200 * time.Millisecond)
	id, _ := setupRollout(t, h, "rollback")
	h.must(200, "POST", "/safe-rollouts/"+rolloutKey+"/start", nil)
	ev.arrive(t, 0.25, 1000, 0.2, errorRate, errorRate)
	var next time.Time
	require.NoError(t, h.pool.QueryRow(ctx, "SELECT next_check_at FROM safe_rollouts WHERE id = $1", id).Scan(&next))
	require.WithinDuration(t, time.Now().Add(15*time.Minute), next, time.Minute, "first check an interval after the start")
	_, err := h.pool.Exec(ctx, "UPDATE safe_rollouts SET next_check_at = now() WHERE id = $1", id)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		var checks int
		_ = h.pool.QueryRow(ctx, "SELECT checks FROM safe_rollouts WHERE id = $1", id).Scan(&checks)
		return checks == 1
	}, 60*time.Second, 50*time.Millisecond, "check 1 ran")
	time.Sleep(time.Second) // more scheduler ticks: nothing more is due
	var checks, decisions, jobs int
	require.NoError(t, h.pool.QueryRow(ctx, `SELECT r.checks, (SELECT count(*) FROM safe_rollout_decisions d WHERE d.rollout_id = r.id AND d.check_number IS NOT NULL),
	  (SELECT count(*) FROM river_job WHERE kind = 'safe_rollout_check') FROM safe_rollouts r WHERE r.id = $1`, id).Scan(&checks, &decisions, &jobs))
	require.Equal(t, 1, checks)
	require.Equal(t, 1, decisions)
	require.Equal(t, 1, jobs, "one check job across both workers")
	require.NoError(t, h.pool.QueryRow(ctx, "SELECT next_check_at FROM safe_rollouts WHERE id = $1", id).Scan(&next))
	require.True(t, next.After(time.Now().Add(14*time.Minute)), "next check an interval later")
}

// TestSafeRolloutCheckFailingMidwayAppliesNothing: a check whose
// transaction fails after the rollout update (here: the notification
// enqueue, as when the worker dies or the database restarts before the
// commit) leaves no trace; the retry applies it once, with one
// notification.
func TestSafeRolloutCheckFailingMidwayAppliesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	ev := newRolloutEvents(t, h)
	w := h.startRolloutWorker()
	fail := true
	w.st.OnDecision(func(context.Context, pgx.Tx, store.Notification) error {
		if fail {
			fail = false
			return fmt.Errorf("connection reset (simulated)")
		}
		return nil
	})
	id, rc := setupRollout(t, h, "rollback")
	_, err := h.pool.Exec(ctx, `UPDATE safe_rollouts SET stages = '[{"percent": 20, "min_duration_seconds": 0, "min_sample": 10}, {"percent": 100}]' WHERE id = $1`, id)
	require.NoError(t, err)
	h.must(200, "POST", "/safe-rollouts/"+rolloutKey+"/start", nil)
	ev.arrive(t, 0.75, 2000, 0.2, errorRate, errorRate)

	_, err = worker.RunSafeRolloutCheck(ctx, w.st, w.pools, testLogger(), time.Now().Add(2*time.Second), id, 1, nil)
	require.ErrorContains(t, err, "simulated")
	var state string
	var checks, decisions, running int
	require.NoError(t, h.pool.QueryRow(ctx, `SELECT r.state, r.checks, (SELECT count(*) FROM safe_rollout_decisions d WHERE d.rollout_id = r.id AND d.check_number IS NOT NULL),
	  (SELECT count(*) FROM experiments x WHERE x.id = r.experiment_id AND x.status = 'running') FROM safe_rollouts r WHERE r.id = $1`, id).Scan(&state, &checks, &decisions, &running))
	require.Equal(t, "running", state, "nothing of the failed check applied")
	require.Zero(t, checks)
	require.Zero(t, decisions)
	require.Equal(t, 1, running, "the experiment still runs")

	out := w.check(t, id, 1)
	require.True(t, out.Applied)
	require.Equal(t, model.ActionComplete, out.Decision.Action)
	require.Eventually(t, func() bool { return len(rc.events()) >= 1 }, 30*time.Second, 20*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	require.Equal(t, []string{"completed"}, rc.events())
}
