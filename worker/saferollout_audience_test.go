package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/model"
	waypost "github.com/waypost/waypost/sdk"
	"github.com/waypost/waypost/sdk/eval"
)

// TestSafeRolloutAudienceThroughProvider: a safe rollout limited to
// country in [CA], seen by a Go SDK streaming from a provider. At the 50%
// stage Canadians split between the control (blue) and the new variant
// (green) and are exposed; everyone else gets blue, the control variant
// and not the flag's off variant (red), and is not exposed. A check counts
// the Canadians only. After a rollback everyone gets blue.
func TestSafeRolloutAudienceThroughProvider(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	ev := newRolloutEvents(t, h)
	w := h.startRolloutWorker()
	prov := startTestProvider(t, h)
	key, err := h.st.CreateSDKKey(ctx, "default", "production", model.CreateSDKKey{Name: "sdk", Kind: "server"})
	require.NoError(t, err)

	h.must(201, "POST", "/flags", map[string]any{"key": "tint", "kind": "string", "variants": []map[string]any{
		{"key": "red", "value": "red"}, {"key": "blue", "value": "blue"}, {"key": "green", "value": "green"}}})
	h.must(200, "PATCH", "/flags/tint/environments/production", map[string]any{"enabled": true, "version": 1, "off_variant": "red",
		"rollout": []map[string]any{{"variant": "red", "weight": 0}, {"variant": "blue", "weight": 10000}, {"variant": "green", "weight": 0}}})
	h.must(201, "POST", "/metrics", map[string]any{"key": "errors", "type": "binomial", "direction": "lower",
		"connection": "events", "sql": `SELECT user_id, ts AS "timestamp" FROM errors`})
	h.must(201, "POST", "/safe-rollouts", map[string]any{"key": rolloutKey, "flag": "tint", "environment": "production",
		"control_variant": "blue", "new_variant": "green",
		"audience":   []map[string]any{{"attribute": "country", "op": "in", "values": []string{"CA"}}},
		"stages":     []map[string]any{{"percent": 50, "min_duration_seconds": 3600, "min_sample": 5000}, {"percent": 100}},
		"guardrails": []map[string]any{{"metric": "errors", "threshold": 0}}})
	var id int64
	require.NoError(t, h.pool.QueryRow(ctx, "SELECT id FROM safe_rollouts WHERE key = $1", rolloutKey).Scan(&id))

	var mu sync.Mutex
	var exposures []waypost.Exposure
	client, err := waypost.New(ctx, waypost.Config{ProviderURL: prov, SDKKey: key.Secret,
		OnExposure: func(x waypost.Exposure) { mu.Lock(); exposures = append(exposures, x); mu.Unlock() }})
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, client.WaitForReady(wctx))

	h.must(200, "POST", "/safe-rollouts/"+rolloutKey+"/start", nil)
	get := func(user, country string) (string, eval.Result) {
		return client.StringContextDetail("tint", &eval.Context{TargetingKey: user, Attributes: map[string]any{"country": country}}, "none")
	}
	require.Eventually(t, func() bool { _, r := get("probe", "CA"); return r.ExperimentKey == rolloutKey }, 10*time.Second, 10*time.Millisecond,
		"the SDK hears of the started rollout")

	green := 0
	for i := range 300 {
		v, r := get(fmt.Sprintf("ca-%d", i), "CA")
		require.Equal(t, rolloutKey, r.ExperimentKey, "a Canadian is in the rollout")
		require.Contains(t, []string{"blue", "green"}, v)
		if v == "green" {
			green++
		}
		v, r = get(fmt.Sprintf("us-%d", i), "US")
		require.Equal(t, "blue", v, "outside the audience: the control variant, not the off variant")
		require.Empty(t, r.ExperimentKey, "outside the audience: not in the experiment")
		v, _ = get(fmt.Sprintf("xx-%d", i), "")
		require.Equal(t, "blue", v, "no country: outside the audience")
	}
	require.InDelta(t, 150, green, 45, "about half of the Canadians get green")

	// Only Canadians were exposed; a check counts them and nobody else.
	require.NoError(t, client.Close())
	mu.Lock()
	var got []waypost.Exposure
	for _, x := range exposures {
		if x.UserID != "probe" { // delivered asynchronously, maybe before the others
			got = append(got, x)
		}
	}
	mu.Unlock()
	require.Equal(t, 300, len(got), "one exposure per Canadian")
	for _, x := range got {
		require.True(t, strings.HasPrefix(x.UserID, "ca-"), "exposed: %s", x.UserID)
		_, err := ev.conn.Exec(ctx, `INSERT INTO exposures VALUES ($1, $2, $3, now())`, x.ExperimentKey, x.UserID, x.Variant)
		require.NoError(t, err)
	}
	out := w.check(t, id, 1)
	require.True(t, out.Applied)
	require.Equal(t, model.ActionHold, out.Decision.Action, out.Decision.Reason)
	require.EqualValues(t, 300-green, out.Decision.Numbers.UsersControl)
	require.EqualValues(t, green, out.Decision.Numbers.UsersNew)

	// A rollback serves the control variant to everyone (OFREP).
	h.must(200, "POST", "/safe-rollouts/"+rolloutKey+"/rollback", nil)
	require.Eventually(t, func() bool {
		for i := range 50 {
			for _, c := range []string{"CA", "US"} {
				if tintOFREP(t, prov, key.Secret, fmt.Sprintf("ca-%d", i), c) != "blue" {
					return false
				}
			}
		}
		return true
	}, 10*time.Second, 20*time.Millisecond, "rolled back: blue for everyone")
}

// tintOFREP evaluates flag tint for user in country through the provider.
func tintOFREP(t *testing.T, url, key, user, country string) any {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/ofrep/v1/evaluate/flags/tint",
		strings.NewReader(fmt.Sprintf(`{"context":{"targetingKey":%q,"country":%q}}`, user, country)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var m map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&m))
	return m["value"]
}
