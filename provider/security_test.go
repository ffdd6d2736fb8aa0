package provider_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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

func announce(t *testing.T, envID, revision int64) []byte {
	t.Helper()
	b, err := json.Marshal(provider.WebhookPayload{EnvironmentID: envID, Revision: revision})
	require.NoError(t, err)
	return b
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

	// A change the provider has not heard of (no NOTIFY, no worker).
	h.toggle("quote", true)
	body := announce(t, h.prodID(), h.revision())
	now := time.Now()

	require.Equal(t, 401, postWebhook(t, prov.url, body, now, provider.Sign("wrong-secret-wrong-secret-wrong-secret", now, body)), "bad signature")
	require.Equal(t, 401, postWebhook(t, prov.url, body, now, ""), "missing signature")
	old := now.Add(-6 * time.Minute)
	require.Equal(t, 401, postWebhook(t, prov.url, body, old, provider.Sign(secret, old, body)), "stale timestamp")
	tampered := announce(t, h.prodID(), h.revision()+1)
	require.Equal(t, 401, postWebhook(t, prov.url, tampered, now, provider.Sign(secret, now, body)), "body changed after signing")
	require.Equal(t, held, prov.p.Revision(h.prodID()), "nothing forged was applied")

	// An older revision, correctly signed, is ignored.
	sb := announce(t, h.prodID(), held-1)
	require.Equal(t, 200, postWebhook(t, prov.url, sb, now, provider.Sign(secret, now, sb)))
	require.Equal(t, held, prov.p.Revision(h.prodID()))

	// The genuine one is accepted, once, and the state comes from the
	// database; its replay is refused.
	sig := provider.Sign(secret, now, body)
	require.Equal(t, 202, postWebhook(t, prov.url, body, now, sig))
	require.True(t, flagEnabled(t, s.waitRevision(t, h.revision()), "quote"))
	require.Equal(t, 409, postWebhook(t, prov.url, body, now, sig), "replay")

	for series, want := range map[string]float64{
		`waypost_provider_webhooks_total{result="bad_signature"}`:        3,
		`waypost_provider_webhooks_total{result="stale_timestamp"}`:      1,
		`waypost_provider_webhooks_total{result="ignored_old_revision"}`: 1,
		`waypost_provider_webhooks_total{result="replay"}`:               1,
		`waypost_provider_webhooks_total{result="accepted"}`:             1,
	} {
		require.Equal(t, want, metricValue(t, prov.url, series), series)
	}
}

// Finding 3: one webhook signed with the secret and announcing revision
// 2^50 pinned the provider (attacker keys worked, real keys got 401, real
// changes stopped arriving). A webhook now only announces; the revision
// and the keys come from the database.
func TestWebhookFarAheadRevisionCannotPinTheProvider(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	h.createFlag("quote")
	key, _ := h.sdkKey("server")
	prov := h.startProvider("", func(c *provider.Config) { c.DisableNotify = true })
	held := prov.p.Revision(h.prodID())

	// The old webhook format, with a forged flag set and an attacker's key.
	attacker := "wps_attacker-attacker-attacker-attacker-attack"
	sum := sha256.Sum256([]byte(attacker))
	forged, err := json.Marshal(map[string]any{
		"environmentId": h.prodID(), "revision": int64(1) << 50,
		"flagSet": map[string]any{"project": "default", "environment": "production", "revision": int64(1) << 50, "flags": []any{}},
		"keys":    []any{map[string]any{"id": 999, "kind": "server", "sha256": hex.EncodeToString(sum[:])}},
	})
	require.NoError(t, err)
	now := time.Now()
	require.Equal(t, 202, postWebhook(t, prov.url, forged, now, provider.Sign(secret, now, forged)))

	// The provider read the database: same revision, real keys only.
	require.Never(t, func() bool { return prov.p.Revision(h.prodID()) != held }, 300*time.Millisecond, 20*time.Millisecond)
	_, status := openStream(t, prov.url+"/v1/stream", attacker, "")
	require.Equal(t, 401, status, "the attacker's key was not installed")
	s, status := openStream(t, prov.url+"/v1/stream", key, "")
	require.Equal(t, 200, status, "the real key still works")
	s.next(t, false)

	// A real change still arrives (by webhook announcement alone).
	h.toggle("quote", true)
	b := announce(t, h.prodID(), h.revision())
	now = time.Now()
	require.Equal(t, 202, postWebhook(t, prov.url, b, now, provider.Sign(secret, now, b)))
	require.True(t, flagEnabled(t, s.waitRevision(t, h.revision()), "quote"))
}

// Finding 7: a webhook refused with 422 (an invalid flag set) still
// installed its keys. A refused webhook changes nothing; and even an
// accepted one installs no keys of its own.
func TestRefusedWebhookChangesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	h.createFlag("quote")
	prov := h.startProvider("", func(c *provider.Config) { c.DisableNotify = true })
	held := prov.p.Revision(h.prodID())
	attacker := "wps_refused-refused-refused-refused-refused-ref"
	sum := sha256.Sum256([]byte(attacker))
	bad, err := json.Marshal(map[string]any{
		"environmentId": h.prodID(), "revision": held + 1,
		"flagSet": map[string]any{"project": "default", "environment": "production", "revision": held + 1,
			"flags": []any{map[string]any{"key": "broken", "kind": "boolean", "variants": []any{}}}},
		"keys": []any{map[string]any{"id": 999, "kind": "server", "sha256": hex.EncodeToString(sum[:])}},
	})
	require.NoError(t, err)
	now := time.Now()
	postWebhook(t, prov.url, bad, now, provider.Sign(secret, now, bad))
	nul := []byte(`{"environmentId":1,"revision":5,"note":"a\u0000b"}`)
	require.Equal(t, 400, postWebhook(t, prov.url, nul, now, provider.Sign(secret, now, nul)), "NUL refused")
	big := bytes.Repeat([]byte(" "), provider.MaxWebhookBody+1)
	require.Equal(t, 413, postWebhook(t, prov.url, big, now, provider.Sign(secret, now, big)), "over 64 KiB refused")

	time.Sleep(200 * time.Millisecond) // let any (wrong) reload happen
	_, status := openStream(t, prov.url+"/v1/stream", attacker, "")
	require.Equal(t, 401, status, "no key of a webhook is installed")
	require.Equal(t, held, prov.p.Revision(h.prodID()))
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
