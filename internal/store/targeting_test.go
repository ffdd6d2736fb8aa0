package store_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/store"
	"github.com/waypost/waypost/sdk/eval"
)

func clause(attr, op string, values ...string) eval.Clause {
	c := eval.Clause{Attribute: attr, Op: op}
	for _, v := range values {
		c.Values = append(c.Values, json.RawMessage(v))
	}
	return c
}

// TestTargetingSaveValidatesLogsAndBumps: rules and segments are compiled
// on the whole environment before commit (4xx naming rule and clause,
// nothing written), logged with before/after, and bump the revision.
func TestTargetingSaveValidatesLogsAndBumps(t *testing.T) {
	t.Parallel()
	pool, _ := dbtest.NewMigrated(t)
	st := store.New(pool)
	ctx := context.Background()
	for _, k := range []string{"parent", "child"} {
		in := model.CreateFlag{Key: k}
		require.NoError(t, in.Validate())
		_, err := st.CreateFlag(ctx, "default", in)
		require.NoError(t, err)
	}

	// A bad clause is refused with the rule and clause named; nothing is saved.
	before := revisions(t, st)
	_, err := st.UpdateTargeting(ctx, "default", "child", "production", model.UpdateTargeting{Rules: []eval.Rule{
		{ID: "ios", Variant: "on", Clauses: []eval.Clause{clause("os", eval.OpIn, `"iOS"`), clause("osVersion", eval.OpSemverGTE, `"v17"`)}},
	}})
	e, ok := errs.As(err)
	require.True(t, ok, "typed error, got %v", err)
	require.Equal(t, errs.KindInvalid, e.Kind)
	require.Equal(t, "rules[0].clauses[1].values[0]", e.Field)
	require.Contains(t, e.Message, `rule "ios"`)
	require.Equal(t, before, revisions(t, st), "a refused change must not bump the revision")

	// A rule on a segment that does not exist is refused.
	_, err = st.UpdateTargeting(ctx, "default", "child", "production", model.UpdateTargeting{Rules: []eval.Rule{
		{ID: "beta", Variant: "on", Clauses: []eval.Clause{clause("", eval.OpInSegment, `"beta"`)}}}})
	require.True(t, errs.IsKind(err, errs.KindInvalid), "%v", err)

	// Create the segment; now the rule saves, logs and bumps production only.
	_, err = st.CreateSegment(ctx, "default", "production", model.SaveSegment{Key: "beta", Included: []string{"user-1", "user-1"}})
	require.NoError(t, err)
	before = revisions(t, st)
	got, err := st.UpdateTargeting(ctx, "default", "child", "production", model.UpdateTargeting{
		Rules:         []eval.Rule{{ID: "beta", Variant: "on", Clauses: []eval.Clause{clause("", eval.OpInSegment, `"beta"`)}}},
		Prerequisites: []eval.Prerequisite{{Flag: "parent", Variants: []string{"on"}}},
	})
	require.NoError(t, err)
	require.Len(t, got.Rules, 1)
	after := revisions(t, st)
	require.Greater(t, after["production"], before["production"])
	require.Equal(t, before["development"], after["development"])

	// A prerequisite cycle is refused at save.
	_, err = st.UpdateTargeting(ctx, "default", "parent", "production", model.UpdateTargeting{
		Prerequisites: []eval.Prerequisite{{Flag: "child", Variants: []string{"on"}}}})
	e, ok = errs.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, errs.KindInvalid, e.Kind)
	require.Contains(t, e.Message, "cycle")

	// The segment cannot be deleted while a rule uses it: a conflict naming the flag.
	err = st.DeleteSegment(ctx, "default", "production", "beta")
	e, ok = errs.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, errs.KindConflict, e.Kind)
	require.Equal(t, "in_use", e.Code)
	require.Contains(t, e.Message, `flag "child"`)

	// The log has rules_changed / prerequisites_changed with before and after, and segment_created.
	var types []string
	rows, err := pool.Query(ctx, `SELECT event_type, before, after FROM flag_events WHERE event_type IN ('rules_changed','prerequisites_changed','segment_created') ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var typ string
		var b, a json.RawMessage
		require.NoError(t, rows.Scan(&typ, &b, &a))
		types = append(types, typ)
		if typ == "rules_changed" {
			require.JSONEq(t, `[]`, string(mustField(t, b, "rules")))
			require.Contains(t, string(a), `"in_segment"`)
		}
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"segment_created", "rules_changed", "prerequisites_changed"}, types)
}

func mustField(t *testing.T, raw json.RawMessage, name string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &m))
	return m[name]
}
