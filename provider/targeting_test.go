package provider_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/sdk/eval"
)

// TestOFREPTargeting: a rule on an attribute and a segment, saved through
// the store, reaches the provider; OFREP with a client key evaluates the
// full context and answers values only (rule id in metadata), and the bulk
// ETag changes with the attributes.
func TestOFREPTargeting(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	h.createFlag("beta-ui")
	ctx := context.Background()
	_, err := h.st.CreateSegment(ctx, "default", "production", model.SaveSegment{Key: "staff", Included: []string{"u9"}})
	require.NoError(t, err)
	in := func(attr, op, v string) eval.Clause {
		return eval.Clause{Attribute: attr, Op: op, Values: []json.RawMessage{json.RawMessage(v)}}
	}
	_, err = h.st.UpdateTargeting(ctx, "default", "beta-ui", "production", model.UpdateTargeting{Rules: []eval.Rule{
		{ID: "canada-ios", Variant: "on", Clauses: []eval.Clause{in("country", eval.OpIn, `"CA"`), in("osVersion", eval.OpSemverGTE, `"17.2"`)}},
		{ID: "staff", Variant: "on", Clauses: []eval.Clause{{Op: eval.OpInSegment, Values: []json.RawMessage{json.RawMessage(`"staff"`)}}}},
	}})
	require.NoError(t, err)
	h.toggle("beta-ui", true)
	client, _ := h.sdkKey("client")
	prov := h.startProvider("")
	one := prov.url + "/ofrep/v1/evaluate/flags/beta-ui"

	_, _, body, raw := ofrepPost(t, one, client, `{"context":{"targetingKey":"u1","country":"CA","osVersion":"17.4.1"}}`)
	require.Equal(t, "TARGETING_MATCH", body["reason"], string(raw))
	require.Equal(t, true, body["value"])
	require.Equal(t, "canada-ios", body["metadata"].(map[string]any)["ruleId"])
	require.NotContains(t, string(raw), "clauses", "client keys get values, never rules")

	_, _, body, _ = ofrepPost(t, one, client, `{"context":{"targetingKey":"u9"}}`)
	require.Equal(t, "staff", body["metadata"].(map[string]any)["ruleId"])

	_, _, body, _ = ofrepPost(t, one, client, `{"context":{"targetingKey":"u1","country":"CA","osVersion":"17.1"}}`)
	require.Equal(t, "DEFAULT", body["reason"], "no rule matched: the default rule serves")

	bulk := prov.url + "/ofrep/v1/evaluate/flags"
	_, h1, _, _ := ofrepPost(t, bulk, client, `{"context":{"targetingKey":"u1","country":"CA"}}`)
	_, h2, _, _ := ofrepPost(t, bulk, client, `{"context":{"targetingKey":"u1","country":"FR"}}`)
	require.NotEqual(t, h1.Get("ETag"), h2.Get("ETag"), "attributes are part of the ETag")
}
