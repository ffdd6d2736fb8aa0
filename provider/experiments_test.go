package provider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/model"
	waypost "github.com/waypost/waypost/sdk"
)

// setupExperiment creates an enabled boolean flag, a metric on the
// built-in store and a draft experiment with 50% traffic.
func setupExperiment(t *testing.T, h *harness, flag string, exps ...string) {
	t.Helper()
	ctx := context.Background()
	h.createFlag(flag)
	h.toggle(flag, true)
	_, err := h.st.SaveMetric(ctx, "default", "", model.SaveMetric{Key: "purchase-" + flag, Type: "binomial",
		SQL: `SELECT user_id, "timestamp" FROM events_metric WHERE metric = 'purchase'`}, true)
	require.NoError(t, err)
	for _, x := range exps {
		_, err := h.st.CreateExperiment(ctx, "default", model.SaveExperiment{Key: x, Flag: flag, Environment: "production",
			TrafficBP: 5000, PrimaryMetrics: []string{"purchase-" + flag}})
		require.NoError(t, err)
	}
}

func flagFromSet(t *testing.T, url, key, flag string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/v1/flags", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var set struct {
		Flags []map[string]any `json:"flags"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&set))
	for _, f := range set.Flags {
		if f["key"] == flag {
			return f
		}
	}
	t.Fatalf("flag %s not served", flag)
	return nil
}

func TestExperimentStartStopRolloutLogAndDelivery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, false)
	key, _ := h.sdkKey("server") // before the provider: it loads keys at start
	p := h.startProvider("")
	setupExperiment(t, h, "checkout", "exp1", "exp2")

	rev := h.revision()
	x, err := h.st.StartExperiment(ctx, "default", "exp1")
	require.NoError(t, err)
	require.Equal(t, "running", x.Status)
	require.Greater(t, h.revision(), rev)
	f, err := h.st.GetFlag(ctx, "default", "checkout")
	require.NoError(t, err)
	require.Equal(t, []model.Weight{{Variant: "off", Weight: 5000}, {Variant: "on", Weight: 5000}}, f.Environments[0].Rollout)

	// Both changes are logged by the triggers, in the same transaction
	// (now() is the transaction's start time).
	var n int
	require.NoError(t, h.pool.QueryRow(ctx, `
SELECT count(DISTINCT created_at) FROM flag_events WHERE flag_key = 'checkout'
   AND event_type IN ('experiment_started', 'rollout_changed')`).Scan(&n))
	require.Equal(t, 1, n)
	require.NoError(t, h.pool.QueryRow(ctx, `SELECT count(*) FROM flag_events WHERE flag_key = 'checkout'
   AND event_type IN ('experiment_started', 'rollout_changed')`).Scan(&n))
	require.Equal(t, 2, n)

	// One running experiment per flag and environment: the API says so,
	// and the database refuses it even from psql.
	_, err = h.st.StartExperiment(ctx, "default", "exp2")
	require.Error(t, err)
	require.Contains(t, err.Error(), "already has a running experiment")
	_, err = h.pool.Exec(ctx, "UPDATE experiments SET status = 'running', started_at = now() WHERE key = 'exp2'")
	require.ErrorContains(t, err, "experiments_one_running")

	// The provider serves the experiment in the flag set.
	require.Eventually(t, func() bool {
		e, _ := flagFromSet(t, p.url, key, "checkout")["experiment"].(map[string]any)
		return e != nil && e["key"] == "exp1" && e["traffic"] == float64(5000)
	}, 10*time.Second, 20*time.Millisecond)

	// The SDK's exposure hook fires only for users inside the experiment,
	// and the EventSender delivers them to the built-in store.
	sender, err := waypost.NewEventSender(waypost.EventSenderConfig{ProviderURL: p.url, SDKKey: key, FlushInterval: time.Hour})
	require.NoError(t, err)
	var mu sync.Mutex
	exposed := map[string]string{}
	client, err := waypost.New(ctx, waypost.Config{ProviderURL: p.url, SDKKey: key, OnExposure: func(e waypost.Exposure) {
		mu.Lock()
		exposed[e.UserID] = e.ExperimentKey
		mu.Unlock()
		sender.Exposure(e)
	}})
	require.NoError(t, err)
	defer client.Close()
	require.NoError(t, client.WaitForReady(ctx))
	inside := 0
	for i := 0; i < 400; i++ {
		_, r := client.BoolDetail("checkout", fmt.Sprintf("user-%d", i), false)
		if r.ExperimentKey != "" {
			inside++
		}
	}
	require.InDelta(t, 200, inside, 50, "about half the users are in a 50%% experiment")
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(exposed) == inside }, 5*time.Second, 10*time.Millisecond)
	for i := 0; i < 400; i++ {
		u := fmt.Sprintf("user-%d", i)
		_, r := client.BoolDetail("checkout", u, false)
		mu.Lock()
		_, fired := exposed[u]
		mu.Unlock()
		require.Equal(t, r.ExperimentKey != "", fired, "user %s: exposure iff inside", u)
	}
	require.NoError(t, sender.Close(ctx))
	require.EqualValues(t, inside, sender.Sent())
	require.NoError(t, h.pool.QueryRow(ctx, "SELECT count(*) FROM events_exposures WHERE experiment_key = 'exp1'").Scan(&n))
	require.Equal(t, inside, n)

	// Stop, shipping "on": 100% on, experiment gone from the flag set.
	ship := "on"
	x, err = h.st.StopExperiment(ctx, "default", "exp1", model.StopExperiment{Ship: &ship})
	require.NoError(t, err)
	require.Equal(t, "stopped", x.Status)
	f, err = h.st.GetFlag(ctx, "default", "checkout")
	require.NoError(t, err)
	require.Equal(t, []model.Weight{{Variant: "off", Weight: 0}, {Variant: "on", Weight: 10000}}, f.Environments[0].Rollout)
	require.NoError(t, h.pool.QueryRow(ctx, "SELECT count(*) FROM flag_events WHERE event_type = 'experiment_stopped'").Scan(&n))
	require.Equal(t, 1, n)
	require.Eventually(t, func() bool {
		_, has := flagFromSet(t, p.url, key, "checkout")["experiment"]
		return !has
	}, 10*time.Second, 20*time.Millisecond)

	// Now the second experiment may start; stopping without shipping
	// restores the rollout from before it.
	_, err = h.st.StartExperiment(ctx, "default", "exp2")
	require.NoError(t, err)
	_, err = h.st.StopExperiment(ctx, "default", "exp2", model.StopExperiment{})
	require.NoError(t, err)
	f, _ = h.st.GetFlag(ctx, "default", "checkout")
	require.Equal(t, 10000, f.Environments[0].Rollout[1].Weight)
}

func postEvents(t *testing.T, url, key string, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/v1/events", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out
}

func TestEventsIngestion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, false)
	key, _ := h.sdkKey("server") // keys before the provider: it loads them at start
	clientKey, _ := h.sdkKey("client")
	p := h.startProvider("")
	now := time.Now().UTC()
	ts := now.Add(-time.Minute).Format(time.RFC3339Nano)
	yesterday := now.Add(-24 * time.Hour).Format(time.RFC3339Nano)
	batch := fmt.Sprintf(`{"events":[
 {"type":"exposure","idempotencyKey":"k1","experimentKey":"exp","userId":"u1","variant":"on","timestamp":%q},
 {"type":"exposure","idempotencyKey":"k2","experimentKey":"exp","userId":"u2","variant":"off","timestamp":%q},
 {"type":"exposure","idempotencyKey":"k3","experimentKey":"exp","userId":"u3","variant":"on","timestamp":%q},
 {"type":"metric","idempotencyKey":"k4","metric":"purchase","userId":"u1","value":12.5,"timestamp":%q},
 {"type":"metric","idempotencyKey":"k5","metric":"purchase","userId":"u2","timestamp":%q}]}`, ts, ts, yesterday, ts, ts)

	code, _ := postEvents(t, p.url, "", batch)
	require.Equal(t, 401, code)
	code, body := postEvents(t, p.url, key, `{"events":[`)
	require.Equal(t, 400, code, "%v", body)
	code, body = postEvents(t, p.url, key, `{"events":[{"type":"exposure","experimentKey":"e","userId":"u","variant":"on","timestamp":"`+ts+`"}]}`)
	require.Equal(t, 422, code)
	require.Equal(t, "events[0].idempotencyKey", body["error"].(map[string]any)["field"])
	code, body = postEvents(t, p.url, key, `{"events":[{"type":"click","idempotencyKey":"x","userId":"u","timestamp":"`+ts+`"}]}`)
	require.Equal(t, 422, code)
	require.Equal(t, "events[0].type", body["error"].(map[string]any)["field"])
	code, body = postEvents(t, p.url, key, `{"events":[{"type":"exposure","idempotencyKey":"x","experimentKey":"e","userId":"u","variant":"on","timestamp":"2001-01-01T00:00:00Z"}]}`)
	require.Equal(t, 422, code)
	require.Equal(t, "events[0].timestamp", body["error"].(map[string]any)["field"])
	code, _ = postEvents(t, p.url, key, `{"events":[],"extra":1}`)
	require.Equal(t, 400, code)
	var many bytes.Buffer
	many.WriteString(`{"events":[`)
	for i := 0; i < 1001; i++ {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprintf(&many, `{"type":"metric","idempotencyKey":"m%d","metric":"x","userId":"u","timestamp":%q}`, i, ts)
	}
	many.WriteString("]}")
	code, body = postEvents(t, p.url, key, many.String())
	require.Equal(t, 422, code, "%v", body)
	code, _ = postEvents(t, p.url, key, `{"events":[{"type":"metric","idempotencyKey":"`+strings.Repeat("a", 2<<20)+`"}]}`)
	require.Equal(t, 413, code)

	// COPY path, then an at-least-once retry of the same batch.
	code, body = postEvents(t, p.url, key, batch)
	require.Equal(t, 202, code, "%v", body)
	require.Equal(t, map[string]any{"inserted": float64(5), "duplicates": float64(0)}, body)
	code, body = postEvents(t, p.url, clientKey, batch)
	require.Equal(t, 202, code, "client keys may send events too: %v", body)
	require.Equal(t, map[string]any{"inserted": float64(0), "duplicates": float64(5)}, body)
	var exposures, metrics int
	var value float64
	require.NoError(t, h.pool.QueryRow(ctx, "SELECT count(*) FROM events_exposures").Scan(&exposures))
	require.NoError(t, h.pool.QueryRow(ctx, "SELECT count(*), sum(value) FROM events_metric").Scan(&metrics, &value))
	require.Equal(t, 3, exposures)
	require.Equal(t, 2, metrics)
	require.Equal(t, 12.5, value)
	var parts int
	require.NoError(t, h.pool.QueryRow(ctx, `SELECT count(*) FROM pg_inherits WHERE inhparent = 'events_exposures'::regclass`).Scan(&parts))
	require.GreaterOrEqual(t, parts, 1)
	var pid int64
	require.NoError(t, h.pool.QueryRow(ctx, `SELECT project_id FROM events_exposures LIMIT 1`).Scan(&pid))
	require.Equal(t, int64(1), pid)
}
