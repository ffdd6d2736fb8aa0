package provider_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/model"
)

// amendSchemas corrects OFREP's published schemas where they cannot be
// met by a correct server, or are looser than OpenFeature:
//   - evaluationSuccess picks the value type with oneOf, but an integer
//     value is both an integerFlag and a floatFlag, so every integer answer
//     fails oneOf: anyOf is what is meant;
//   - reason is free text with examples that lack OpenFeature's DEFAULT:
//     the enum of OpenFeature's reasons is checked instead;
//   - eventStream requires url, while ADR-0008's clients
//     (@openfeature/ofrep-core EventStream) also accept
//     endpoint.requestUri, resolved against the client's base URL: one of
//     the two is required.
func amendSchemas(published schemaSet) schemaSet {
	s := published.clone()
	success := s["evaluationSuccess"].(map[string]any)["allOf"].([]any)
	values := success[1].(map[string]any)
	values["anyOf"] = values["oneOf"]
	delete(values, "oneOf")
	reason := success[0].(map[string]any)["properties"].(map[string]any)["reason"].(map[string]any)
	reason["enum"] = []any{"STATIC", "TARGETING_MATCH", "SPLIT", "DISABLED", "DEFAULT", "CACHED", "UNKNOWN", "STALE", "ERROR"}
	es := s["eventStream"].(map[string]any)
	es["required"] = []any{"type"}
	es["properties"].(map[string]any)["endpoint"] = map[string]any{"type": "object", "required": []any{"requestUri"},
		"properties": map[string]any{"origin": map[string]any{"type": "string"}, "requestUri": map[string]any{"type": "string"}}}
	es["anyOf"] = []any{map[string]any{"required": []any{"url"}}, map[string]any{"required": []any{"endpoint"}}}
	return s
}

func TestOFREPResponsesMatchTheSchema(t *testing.T) {
	t.Parallel()
	published := loadSchemas(t, "testdata/ofrep/schemas.json")
	schemas := amendSchemas(published)
	h := newHarness(t, false)
	ctx := context.Background()
	create := func(key string, kind model.Kind, values ...string) {
		vs := make([]model.Variant, len(values))
		for i, v := range values {
			vs[i] = model.Variant{Key: "v" + itoa(int64(i)), Value: json.RawMessage(v)}
		}
		_, err := h.st.CreateFlag(ctx, "default", model.CreateFlag{Key: key, Kind: kind, Variants: vs})
		require.NoError(t, err)
	}
	h.createFlag("toggle")
	h.toggle("toggle", true)
	create("color", model.KindString, `"#f00"`, `"#00f"`)
	create("limit", model.KindNumber, `3`, `5`)
	create("ratio", model.KindNumber, `0.25`, `0.5`)
	create("config", model.KindJSON, `{"title":"Hi","sizes":[1,2]}`, `{}`)
	create("legacy", model.KindJSON, `{}`, `{"x":1}`)
	on, v := true, int64(1)
	ws := []model.Weight{{Variant: "v0", Weight: 5000}, {Variant: "v1", Weight: 5000}}
	_, err := h.st.UpdateState(ctx, "default", "color", "production", model.UpdateState{Version: &v, Enabled: &on, Rollout: &ws})
	require.NoError(t, err)
	// A json flag saved with an array before objects were required
	// (the constraint added in 013 is NOT VALID: such rows may exist).
	_, err = h.pool.Exec(ctx, `ALTER TABLE flags DROP CONSTRAINT flags_json_variants_are_objects`)
	require.NoError(t, err)
	_, err = h.pool.Exec(ctx, `UPDATE flags SET variants = '[{"key":"v0","name":"v0","value":[1,2,3]},{"key":"v1","name":"v1","value":{}}]' WHERE key = 'legacy'`)
	require.NoError(t, err)
	client, _ := h.sdkKey("client")
	prov := h.startProvider("")
	require.Eventually(t, func() bool { return prov.p.Revision(h.prodID()) == h.revision() }, 10*time.Second, 10*time.Millisecond)

	valid := func(schema string, status, wantStatus int, raw string) {
		t.Helper()
		require.Equal(t, wantStatus, status, raw)
		require.Empty(t, schemas.validate(schema, []byte(raw)), "%s: %s", schema, raw)
	}
	one := func(key string) string { return prov.url + "/ofrep/v1/evaluate/flags/" + key }
	for _, key := range []string{"toggle", "color", "limit", "ratio", "config"} {
		for _, body := range []string{`{"context":{"targetingKey":"user-1"}}`, `{"context":{}}`, `{}`, ``} {
			status, _, _, raw := ofrepPost(t, one(key), client, body)
			valid("serverEvaluationSuccess", status, 200, raw)
		}
	}
	status, _, _, raw := ofrepPost(t, one("limit"), client, `{"context":{"targetingKey":"u"}}`)
	require.Contains(t, published.validate("serverEvaluationSuccess", []byte(raw)), "$: matches 2 of oneOf, want exactly 1",
		"the published oneOf rejects every integer value (%d %s)", status, raw)
	status, _, _, raw = ofrepPost(t, one("nope"), client, `{"context":{"targetingKey":"u"}}`)
	valid("flagNotFound", status, 404, raw)
	for _, bad := range []string{`{"context":`, `{"context":[1]}`, `{"context":{"targetingKey":7}}`, `[`} {
		status, _, _, raw = ofrepPost(t, one("toggle"), client, bad)
		valid("evaluationFailure", status, 400, raw)
	}
	status, _, _, raw = ofrepPost(t, one("legacy"), client, `{"context":{"targetingKey":"u"}}`)
	valid("generalErrorResponse", status, 500, raw)
	require.Contains(t, raw, "not a JSON object")

	bulk := prov.url + "/ofrep/v1/evaluate/flags"
	status, _, body, raw := ofrepPost(t, bulk, client, `{"context":{"targetingKey":"user-1"}}`)
	valid("bulkEvaluationSuccess", status, 200, raw)
	require.Len(t, body["flags"], 6)
	require.Contains(t, raw, `{"key":"legacy","errorCode":"GENERAL"`, "the legacy flag is an error entry, not a value the schema rejects")
	status, _, _, raw = ofrepPost(t, bulk, client, `{"context":{}}`)
	valid("bulkEvaluationSuccess", status, 200, raw)
	status, _, _, raw = ofrepPost(t, bulk, client, `{"context":"x"}`)
	valid("bulkEvaluationFailure", status, 400, raw)

	// The change stream's messages.
	uri := body["eventStreams"].([]any)[0].(map[string]any)["endpoint"].(map[string]any)["requestUri"].(string)
	es, st := openStream(t, prov.url+uri, "", "")
	require.Equal(t, 200, st)
	h.toggle("toggle", false)
	ev := es.waitRevision(t, h.revision())
	require.Equal(t, "message", ev.name)
	require.Empty(t, schemas.validate("sseEvent", []byte(ev.data)), ev.data)
}

// A missing targeting key means the same in OFREP as in local evaluation
// (docs/evaluation.md, rule 5): the off variant, reason DEFAULT, for
// every shared vector case with an empty user id; disabled flags answer
// DISABLED whoever asks.
func TestOFREPAnonymousMatchesTheVectors(t *testing.T) {
	t.Parallel()
	vectors := loadVectors(t)
	prov, client, _ := vectorProvider(t, vectors, "main")

	checked := 0
	for _, c := range vectors.Cases {
		if c.FlagSet != "main" || c.TargetingKey != "" || c.Expected.ErrorCode != "" {
			continue // OFREP has no typed getters: type mismatches are the client's
		}
		for _, body := range []string{`{"context":{}}`, `{"context":{"targetingKey":""}}`} {
			status, _, got, raw := ofrepPost(t, prov.url+"/ofrep/v1/evaluate/flags/"+c.Flag, client, body)
			if strings.Contains(raw, "not a JSON object") {
				continue // vectors keep legacy non-object json values; OFREP cannot carry them
			}
			require.Equal(t, http.StatusOK, status, "%s %s: %s", c.Flag, body, raw)
			require.Equal(t, c.Expected.Reason, got["reason"], "%s %s", c.Flag, body)
			require.Equal(t, c.Expected.Variant, got["variant"], "%s %s", c.Flag, body)
			wantValue, _ := json.Marshal(got["value"])
			require.JSONEq(t, string(c.Expected.Value), string(wantValue), "%s %s", c.Flag, body)
			checked++
		}
	}
	require.Greater(t, checked, 10, "the vectors hold anonymous cases of every kind")
}
