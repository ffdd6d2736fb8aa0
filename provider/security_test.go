package provider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/provider"
)

func postWebhook(t *testing.T, url string, body []byte, ts time.Time, sig string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/internal/webhook", bytes.NewReader(body))
	req.Header.Set("X-Waypost-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("X-Waypost-Signature", sig)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	return res.StatusCode
}

func TestWebhookSecurity(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	h.createFlag("quote")
	key, _ := h.sdkKey("server")
	prov := h.startProvider("", func(c *provider.Config) { c.DisableNotify = true })
	s, _ := openStream(t, prov.url+"/v1/stream", key, "")
	s.next(t, false)
	held := prov.p.Revision(h.prodID())

	// A well-formed payload for a newer revision, forged in various ways.
	payload, err := provider.BuildWebhookPayload(context.Background(), h.pool, h.prodID())
	require.NoError(t, err)
	payload.Revision, payload.FlagSet.Revision = held+100, held+100
	payload.FlagSet.Flags[0].Enabled = true
	body, err := json.Marshal(payload)
	require.NoError(t, err)
	now := time.Now()

	require.Equal(t, 401, postWebhook(t, prov.url, body, now, provider.Sign("wrong-secret-wrong-secret", now, body)), "bad signature")
	require.Equal(t, 401, postWebhook(t, prov.url, body, now, ""), "missing signature")
	old := now.Add(-6 * time.Minute)
	require.Equal(t, 401, postWebhook(t, prov.url, body, old, provider.Sign(secret, old, body)), "stale timestamp")
	tampered := bytes.Replace(body, []byte(`"enabled":true`), []byte(`"enabled":false`), 1)
	require.Equal(t, 401, postWebhook(t, prov.url, tampered, now, provider.Sign(secret, now, body)), "body changed after signing")
	require.Equal(t, held, prov.p.Revision(h.prodID()), "nothing forged was applied")

	// An older revision, correctly signed, is ignored.
	stale, err := provider.BuildWebhookPayload(context.Background(), h.pool, h.prodID())
	require.NoError(t, err)
	stale.Revision, stale.FlagSet.Revision = held-1, held-1
	sb, _ := json.Marshal(stale)
	require.Equal(t, 200, postWebhook(t, prov.url, sb, now, provider.Sign(secret, now, sb)))
	require.Equal(t, held, prov.p.Revision(h.prodID()))

	// The genuine one applies, once; its replay is refused.
	sig := provider.Sign(secret, now, body)
	require.Equal(t, 200, postWebhook(t, prov.url, body, now, sig))
	require.Equal(t, held+100, prov.p.Revision(h.prodID()))
	require.True(t, flagEnabled(t, s.waitRevision(t, held+100), "quote"))
	require.Equal(t, 409, postWebhook(t, prov.url, body, now, sig), "replay")

	for series, want := range map[string]float64{
		`waypost_provider_webhooks_total{result="bad_signature"}`:        3,
		`waypost_provider_webhooks_total{result="stale_timestamp"}`:      1,
		`waypost_provider_webhooks_total{result="ignored_old_revision"}`: 1,
		`waypost_provider_webhooks_total{result="replay"}`:               1,
		`waypost_provider_webhooks_total{result="applied"}`:              1,
	} {
		require.Equal(t, want, metricValue(t, prov.url, series), series)
	}
}

func TestStreamAuthAndRevocation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	h.createFlag("quote")
	key, keyID := h.sdkKey("server")
	client, _ := h.sdkKey("client")
	prov := h.startProvider("")

	_, status := openStream(t, prov.url+"/v1/stream", "wps_not-a-real-key", "")
	require.Equal(t, 401, status)
	_, status = openStream(t, prov.url+"/v1/stream", "", "")
	require.Equal(t, 401, status)
	_, status = openStream(t, prov.url+"/v1/stream", client, "")
	require.Equal(t, 403, status, "client keys never get full definitions")
	res, err := http.Get(prov.url + "/v1/stream?sdk_key=" + key) // EventSource style
	require.NoError(t, err)
	require.Equal(t, 200, res.StatusCode)
	_ = res.Body.Close()

	s, _ := openStream(t, prov.url+"/v1/stream", key, "")
	s.next(t, false)
	_, err = h.st.RevokeSDKKey(context.Background(), "default", "production", keyID)
	require.NoError(t, err)
	ev := s.next(t, false)
	require.Equal(t, "error", ev.name)
	require.JSONEq(t, `{"code":"key_revoked"}`, ev.data)
	_, open := <-s.events
	require.False(t, open, "the stream is closed after key_revoked")
	_, status = openStream(t, prov.url+"/v1/stream", key, "")
	require.Equal(t, 401, status)
}

func TestStreamLastEventIDAndHeartbeat(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	h.createFlag("quote")
	key, _ := h.sdkKey("server")
	prov := h.startProvider("", func(c *provider.Config) { c.HeartbeatInterval = 50 * time.Millisecond })
	rev := itoa(h.revision())

	// Already current: no put is resent; pings flow; the next change is a patch.
	s, _ := openStream(t, prov.url+"/v1/stream", key, rev)
	ev := s.next(t, true)
	require.Equal(t, "comment", ev.name, "first thing received is a heartbeat, not a resend")
	require.Equal(t, ": ping", ev.data)
	h.toggle("quote", true)
	ev = s.next(t, false)
	require.Equal(t, "patch", ev.name)
	require.Equal(t, itoa(h.revision()), ev.id)
	var patch struct {
		Revision, BaseRevision int64
		Deleted                []string
	}
	require.NoError(t, json.Unmarshal([]byte(ev.data), &patch))
	require.Equal(t, rev, itoa(patch.BaseRevision))

	// A client with an older id gets the whole set.
	s2, _ := openStream(t, prov.url+"/v1/stream", key, "1")
	require.Equal(t, "put", s2.next(t, false).name)

	// /v1/flags with ETag.
	req, _ := http.NewRequest("GET", prov.url+"/v1/flags", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	etag := res.Header.Get("ETag")
	require.Equal(t, `"`+itoa(h.revision())+`"`, etag)
	req.Header.Set("If-None-Match", etag)
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	require.Equal(t, 304, res.StatusCode)
}
