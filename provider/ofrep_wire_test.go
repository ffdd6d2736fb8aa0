package provider_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/provider"
)

// The eventStreams URL never comes from the request's Host header.
func TestOFREPEventStreamURLIgnoresHost(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	h.createFlag("quote")
	client, _ := h.sdkKey("client")
	plain := h.startProvider("")
	public := h.startProvider("", func(c *provider.Config) { c.PublicURL = "https://flags.example.com" })

	bulk := func(base string) map[string]any {
		req, _ := http.NewRequest("POST", base+"/ofrep/v1/evaluate/flags", strings.NewReader(`{"context":{"targetingKey":"u"}}`))
		req.Host = "attacker.example"
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("Authorization", "Bearer "+client)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		require.Equal(t, 200, res.StatusCode)
		var body map[string]any
		require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
		return body["eventStreams"].([]any)[0].(map[string]any)
	}
	es := bulk(plain.url)
	require.NotContains(t, es, "url")
	uri := es["endpoint"].(map[string]any)["requestUri"].(string)
	require.True(t, strings.HasPrefix(uri, "/ofrep/v1/events?sdk_key="), uri)
	require.NotContains(t, uri, "attacker")
	es = bulk(public.url)
	require.Equal(t, "https://flags.example.com/ofrep/v1/events?sdk_key="+client, es["url"])
}

// If-None-Match is read as RFC 9110 says: lists, weak validators, "*",
// several header lines; anything else gets the full answer.
func TestIfNoneMatchFollowsRFC9110(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	h.createFlag("quote")
	client, _ := h.sdkKey("client")
	server, _ := h.sdkKey("server")
	prov := h.startProvider("")
	bulk := prov.url + "/ofrep/v1/evaluate/flags"
	const body = `{"context":{"targetingKey":"u1"}}`
	_, hdr, _, _ := ofrepPost(t, bulk, client, body)
	etag := hdr.Get("ETag")
	for header, want := range map[string]int{
		etag:                         304,
		"W/" + etag:                  304,
		`"other", ` + etag:           304,
		`"a,b" ,W/` + etag + `, "c"`: 304,
		"*":                          304,
		`"other"`:                    200,
		strings.Trim(etag, `"`):      200, // unquoted: not an entity tag
		`"other", garbage ` + etag:   200, // malformed from "garbage" on
		"":                           200,
	} {
		status, _, _, raw := ofrepPost(t, bulk, client, body, "If-None-Match", header)
		require.Equal(t, want, status, "If-None-Match: %s", header)
		if want == 304 {
			require.Empty(t, raw)
		}
	}
	// Several field lines combine, as on /v1/flags.
	req, _ := http.NewRequest("GET", prov.url+"/v1/flags", nil)
	req.Header.Set("Authorization", "Bearer "+server)
	req.Header.Add("If-None-Match", `"nope"`)
	req.Header.Add("If-None-Match", `W/"`+itoa(h.revision())+`"`)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	require.Equal(t, 304, res.StatusCode)
}

// flagConfigEtag (ADR-0008) names the revision a refetchEvaluation
// announced: a differing one forbids a 304, a newer one is waited for,
// and one that never arrives is a 503 with Retry-After.
func TestOFREPFlagConfigEtag(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	h.createFlag("quote")
	client, _ := h.sdkKey("client")
	prov := h.startProvider("", func(c *provider.Config) { c.ConfigWait = 300 * time.Millisecond })
	bulk := prov.url + "/ofrep/v1/evaluate/flags"
	const body = `{"context":{"targetingKey":"u1"}}`
	_, hdr, _, _ := ofrepPost(t, bulk, client, body)
	etag, rev := hdr.Get("ETag"), h.revision()

	status, _, _, _ := ofrepPost(t, bulk+"?flagConfigEtag="+itoa(rev), client, body, "If-None-Match", etag)
	require.Equal(t, 304, status, "the announced revision is the one the client holds")
	status, _, _, _ = ofrepPost(t, bulk+`?flagConfigEtag="`+itoa(rev-1)+`"`, client, body, "If-None-Match", etag)
	require.Equal(t, 200, status, "a differing flagConfigEtag is never answered 304")
	status, _, _, _ = ofrepPost(t, bulk+"?flagConfigEtag=not-ours", client, body, "If-None-Match", etag)
	require.Equal(t, 304, status, "a flagConfigEtag that is not ours is ignored")

	status, hdr, got, _ := ofrepPost(t, bulk+"?flagConfigEtag="+itoa(rev+1000), client, body, "If-None-Match", etag)
	require.Equal(t, 503, status, "a revision this provider never gets")
	require.Equal(t, "1", hdr.Get("Retry-After"))
	require.Contains(t, got["errorDetails"], itoa(rev+1000))

	// A revision that arrives while the request waits is served.
	patient := h.startProvider("", func(c *provider.Config) { c.ConfigWait = time.Minute })
	bulk = patient.url + "/ofrep/v1/evaluate/flags"
	type answer struct {
		status int
		etag   string
	}
	done := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("POST", bulk+"?flagConfigEtag="+itoa(rev+1), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+client)
		req.Header.Set("If-None-Match", etag)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- answer{}
			return
		}
		_ = res.Body.Close()
		done <- answer{res.StatusCode, res.Header.Get("ETag")}
	}()
	h.toggle("quote", true)
	a := <-done
	require.Equal(t, 200, a.status)
	require.True(t, strings.HasPrefix(a.etag, `"`+itoa(rev+1)+"-"), a.etag)
}

// The OFREP change stream sends nothing on connect (the client has just
// fetched), replays one refetch to a Last-Event-ID behind, and closes a
// revoked key's stream without a named "error" event.
func TestOFREPEventStreamLifecycle(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	h.createFlag("quote")
	client, keyID := h.sdkKey("client")
	prov := h.startProvider("", func(c *provider.Config) { c.HeartbeatInterval = 50 * time.Millisecond })
	url := prov.url + "/ofrep/v1/events?sdk_key=" + client
	rev := h.revision()

	fresh, _ := openStream(t, url, "", "")
	ev := fresh.next(t, true)
	require.Equal(t, "comment", ev.name, "no refetchEvaluation on connect: the first thing is a heartbeat")
	behind, _ := openStream(t, url, "", itoa(rev-1))
	ev = behind.next(t, false)
	require.Equal(t, itoa(rev), ev.id)
	require.JSONEq(t, `{"type":"refetchEvaluation","etag":"`+itoa(rev)+`"}`, ev.data)

	h.toggle("quote", true)
	ev = fresh.waitRevision(t, h.revision())
	require.Equal(t, "message", ev.name)

	_, err := h.st.RevokeSDKKey(context.Background(), "default", "production", keyID)
	require.NoError(t, err)
	timeout := time.After(15 * time.Second)
	for closed := false; !closed; {
		select {
		case ev, ok := <-fresh.events:
			if !ok {
				closed = true
				break
			}
			require.Equal(t, "comment", ev.name, "nothing but heartbeats before the close, got %+v", ev)
		case <-timeout:
			t.Fatal("the revoked key's stream stayed open")
		}
	}
	_, status := openStream(t, url, "", "")
	require.Equal(t, 401, status)
}
