package provider_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/open-feature/go-sdk-contrib/providers/ofrep"
	"github.com/open-feature/go-sdk/openfeature"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/model"
)

func ofrepPost(t *testing.T, url, key, body string, headers ...string) (int, http.Header, map[string]any, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &m), string(raw))
	}
	return res.StatusCode, res.Header, m, string(raw)
}

func TestOFREPWithTheOpenFeatureGoClient(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	ctx := context.Background()
	h.createFlag("quote")
	_, err := h.st.CreateFlag(ctx, "default", model.CreateFlag{Key: "color", Kind: model.KindString,
		Variants: []model.Variant{{Key: "red", Value: json.RawMessage(`"#f00"`)}, {Key: "blue", Value: json.RawMessage(`"#00f"`)}}})
	require.NoError(t, err)
	on, v := true, int64(1)
	ws := []model.Weight{{Variant: "red", Weight: 5000}, {Variant: "blue", Weight: 5000}}
	_, err = h.st.UpdateState(ctx, "default", "color", "production", model.UpdateState{Version: &v, Enabled: &on, Rollout: &ws})
	require.NoError(t, err)
	_, err = h.st.SetAssignments(ctx, "default", "color", "production", model.SetAssignments{Assignments: []model.Assignment{{UserID: "vip", Variant: "blue"}}})
	require.NoError(t, err)
	h.toggle("quote", true)
	client, _ := h.sdkKey("client")
	prov := h.startProvider("")
	require.Eventually(t, func() bool { return prov.p.Revision(h.prodID()) == h.revision() }, 10e9, 1e7)

	// The real OpenFeature OFREP provider (go-sdk-contrib/providers/ofrep).
	ofp := ofrep.NewProvider(prov.url, ofrep.WithBearerToken(client))
	require.NoError(t, openfeature.SetNamedProviderAndWait(t.Name(), ofp))
	c := openfeature.NewClient(t.Name())
	evalCtx := openfeature.NewEvaluationContext("vip", nil)
	d, err := c.StringValueDetails(ctx, "color", "none", evalCtx)
	require.NoError(t, err)
	require.Equal(t, "#00f", d.Value)
	require.Equal(t, openfeature.TargetingMatchReason, d.Reason)
	require.Equal(t, "blue", d.Variant)
	b, err := c.BooleanValueDetails(ctx, "quote", false, openfeature.NewEvaluationContext("someone", nil))
	require.NoError(t, err)
	require.True(t, b.Value)
	require.Equal(t, openfeature.StaticReason, b.Reason)
	split, err := c.StringValueDetails(ctx, "color", "none", openfeature.NewEvaluationContext("user-7", nil))
	require.NoError(t, err)
	require.Equal(t, openfeature.SplitReason, split.Reason)
	require.Contains(t, []string{"#f00", "#00f"}, split.Value)
	missing, err := c.BooleanValueDetails(ctx, "nope", true, evalCtx)
	require.Error(t, err)
	require.True(t, missing.Value, "the caller's default")
	require.Equal(t, openfeature.FlagNotFoundCode, missing.ErrorCode)
	// No targeting key: an anonymous evaluation, as in every SDK: the off
	// variant, reason DEFAULT (docs/evaluation.md), not an error.
	noKey, err := c.StringValueDetails(ctx, "color", "none", openfeature.NewEvaluationContext("", nil))
	require.NoError(t, err)
	require.Equal(t, "#f00", noKey.Value)
	require.Equal(t, openfeature.DefaultReason, noKey.Reason)
	_, err = c.IntValueDetails(ctx, "color", 3, evalCtx)
	require.Error(t, err, "a string flag asked as int is a type mismatch on the client")
}

func TestOFREPErrorsAndETag(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	h.createFlag("quote")
	client, _ := h.sdkKey("client")
	prov := h.startProvider("")
	one := prov.url + "/ofrep/v1/evaluate/flags/quote"

	status, _, body, _ := ofrepPost(t, one, client, `{"context":{"targetingKey":"u1"}}`)
	require.Equal(t, 200, status)
	require.Equal(t, map[string]any{"key": "quote", "value": false, "reason": "DISABLED", "variant": "off", "metadata": map[string]any{"version": 1.0}}, body)

	status, _, _, raw := ofrepPost(t, one, "wpc_unknown", `{}`)
	require.Equal(t, 401, status)
	require.Empty(t, raw, "OFREP 401 has no body")
	status, _, _, raw = ofrepPost(t, one, "", `{}`)
	require.Equal(t, 401, status)
	require.Empty(t, raw)

	status, _, body, _ = ofrepPost(t, one, client, `{"context":`)
	require.Equal(t, 400, status)
	require.Equal(t, "PARSE_ERROR", body["errorCode"])
	status, _, body, _ = ofrepPost(t, one, client, `{"context":[1,2]}`)
	require.Equal(t, 400, status)
	require.Equal(t, "INVALID_CONTEXT", body["errorCode"])
	status, _, body, _ = ofrepPost(t, one, client, `{"context":{"targetingKey":42}}`)
	require.Equal(t, 400, status)
	require.Equal(t, "INVALID_CONTEXT", body["errorCode"])
	status, _, body, _ = ofrepPost(t, one, client, `{"context":{"targetingKey":"`+strings.Repeat("x", 70<<10)+`"}}`)
	require.Equal(t, 400, status)
	require.Equal(t, "GENERAL", body["errorCode"])
	status, _, body, _ = ofrepPost(t, prov.url+"/ofrep/v1/evaluate/flags/nope", client, `{"context":{"targetingKey":"u1"}}`)
	require.Equal(t, 404, status)
	require.Equal(t, "FLAG_NOT_FOUND", body["errorCode"])
	require.Equal(t, "nope", body["key"])

	// A 50% rollout without a targeting key serves the off variant.
	v := int64(1)
	ws := []model.Weight{{Variant: "on", Weight: 5000}, {Variant: "off", Weight: 5000}}
	on := true
	_, err := h.st.UpdateState(context.Background(), "default", "quote", "production", model.UpdateState{Version: &v, Enabled: &on, Rollout: &ws})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return prov.p.Revision(h.prodID()) == h.revision() }, 10e9, 1e7)
	status, _, body, _ = ofrepPost(t, one, client, `{"context":{}}`)
	require.Equal(t, 200, status)
	require.Equal(t, "DEFAULT", body["reason"])
	require.Equal(t, "off", body["variant"])

	// Bulk: ETag per revision and user; 304 when unchanged; event stream advertised.
	bulk := prov.url + "/ofrep/v1/evaluate/flags"
	status, hdr, body, _ := ofrepPost(t, bulk, client, `{"context":{"targetingKey":"u1"}}`)
	require.Equal(t, 200, status)
	etag := hdr.Get("ETag")
	require.NotEmpty(t, etag)
	require.Len(t, body["flags"], 1)
	streams := body["eventStreams"].([]any)
	require.Equal(t, "sse", streams[0].(map[string]any)["type"])
	status, _, _, raw = ofrepPost(t, bulk, client, `{"context":{"targetingKey":"u1"}}`, "If-None-Match", etag)
	require.Equal(t, 304, status)
	require.Empty(t, raw)
	status, hdr2, _, _ := ofrepPost(t, bulk, client, `{"context":{"targetingKey":"u2"}}`, "If-None-Match", etag)
	require.Equal(t, 200, status, "another user, another ETag")
	require.NotEqual(t, etag, hdr2.Get("ETag"))

	// The change stream tells browsers to re-fetch.
	uri := streams[0].(map[string]any)["endpoint"].(map[string]any)["requestUri"].(string)
	es, st := openStream(t, prov.url+uri, "", "")
	require.Equal(t, 200, st)
	h.toggle("quote", false)
	ev := es.waitRevision(t, h.revision())
	require.JSONEq(t, `{"type":"refetchEvaluation","etag":"`+itoa(h.revision())+`"}`, ev.data)
	status, _, _, _ = ofrepPost(t, bulk, client, `{"context":{"targetingKey":"u1"}}`, "If-None-Match", etag)
	require.Equal(t, 200, status, "after a change the old ETag no longer matches")

	// CORS for browsers.
	req, _ := http.NewRequest("OPTIONS", bulk, nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	require.Equal(t, "https://app.example", res.Header.Get("Access-Control-Allow-Origin"))
	require.Contains(t, res.Header.Get("Access-Control-Expose-Headers"), "ETag")
}
