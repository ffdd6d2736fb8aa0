package provider

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/sdk/eval"
	"github.com/waypost/waypost/sdk/eval/evaltest"
)

// Large flag sets (evaltest.LargeSet): three environments of it, as a
// provider holding a big project would.

const largeFlags = evaltest.LargeFlags

func largeSet(env string, revision int64) *eval.FlagSet { return evaltest.LargeSet(env, revision) }

// withOneFlagToggled returns a copy of set at the next revision with one
// flag switched off.
func withOneFlagToggled(set *eval.FlagSet, i int) *eval.FlagSet {
	next := *set
	next.Revision++
	next.Flags = append([]eval.Flag(nil), set.Flags...)
	next.Flags[i].Enabled = !next.Flags[i].Enabled
	next.Flags[i].Version++
	return &next
}

// A one-flag change to a 5,000-flag set sends a patch carrying that flag
// alone: its size is the flag's, not the set's; a segment change sends
// the whole set (patches carry flags only).
func TestOneFlagChangeSendsAPatchOfThatFlag(t *testing.T) {
	set := largeSet("production", 10)
	prev, err := newEnvState(1, set, nil)
	require.NoError(t, err)
	next, err := newEnvState(1, withOneFlagToggled(set, 1234), prev)
	require.NoError(t, err)
	require.NotNil(t, next.patch)
	require.Equal(t, []string{"flag-01234"}, next.patch.keys)
	flagSize := len(next.flagJSON["flag-01234"])
	patch := next.patch.event.plain
	require.Less(t, len(patch), flagSize+200, "the patch is the flag plus a fixed envelope")
	require.Greater(t, len(next.put.plain), 1000*len(patch), "and nowhere near the set")
	var body patchBody
	_, data, _ := strings.Cut(string(patch), "\ndata: ")
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(data)), &body))
	require.Len(t, body.Flags, 1)
	require.False(t, body.Flags[0].Enabled)
	require.EqualValues(t, 10, body.BaseRevision)

	// gzip: the same patch as a segment of its own, still flag-sized.
	require.Less(t, len(next.patch.event.get(true)), flagSize+200)

	seg := *next.set
	seg.Revision++
	seg.Segments = append([]eval.Segment(nil), seg.Segments...)
	seg.Segments[0].Included = append([]string{"someone-new"}, seg.Segments[0].Included...)
	after, err := newEnvState(1, &seg, next)
	require.NoError(t, err)
	require.Nil(t, after.patch, "a segment change is sent as a put")
	require.True(t, bytes.Contains(after.put.plain, []byte("someone-new")))
}

// BenchmarkLargeSet measures what the provider spends on a 5,000-flag
// environment (rules, segments, a 100,000-id segment), per environment:
// reload (compile + encode from a decoded set, as after the database
// read), a one-flag change (the same, plus the patch), and compressing
// the put for gzip streams (once per revision). Sizes are reported as
// put-bytes, put-gzip-bytes and patch-bytes.
func BenchmarkLargeSet(b *testing.B) {
	sets := []*eval.FlagSet{largeSet("production", 10), largeSet("staging", 10), largeSet("development", 10)}
	b.Run("reload-3-environments", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			for j, set := range sets {
				if _, err := newEnvState(int64(j+1), set, nil); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	prev, err := newEnvState(1, sets[0], nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("one-flag-change", func(b *testing.B) {
		next := withOneFlagToggled(sets[0], 1234)
		var st *envState
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if st, err = newEnvState(1, next, prev); err != nil || st.patch == nil {
				b.Fatal("no patch", err)
			}
		}
		b.ReportMetric(float64(len(st.patch.event.plain)), "patch-bytes")
	})
	b.Run("gzip-put", func(b *testing.B) {
		var n int
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			n = len(deflateSegment(prev.put.plain))
		}
		b.ReportMetric(float64(len(prev.put.plain)), "put-bytes")
		b.ReportMetric(float64(n), "put-gzip-bytes")
	})
}

// The set's body, assembled from its flags' JSON, is byte for byte what
// encoding/json makes of the set (SDKs and ETags see no difference).
func TestSetBodyIsTheSetsJSON(t *testing.T) {
	small := &eval.FlagSet{Project: "p<&>\u2028", Environment: "e\"x", Revision: 3,
		Flags: []eval.Flag{{Key: "a<b>", Kind: eval.KindBoolean, Salt: "s", Variants: []eval.Variant{{Key: "off", Value: json.RawMessage("false")}, {Key: "on", Value: json.RawMessage("true")}}, OffVariant: "off", Rollout: []eval.WeightedVariant{{Variant: "off", Weight: 10000}, {Variant: "on", Weight: 0}}}}}
	for _, set := range []*eval.FlagSet{largeSet("production", 7), small, {Project: "p", Environment: "e", Revision: 1}, {Project: "p", Environment: "e", Revision: 1, Flags: []eval.Flag{}}} {
		st, err := newEnvState(1, set, nil)
		require.NoError(t, err)
		want, err := json.Marshal(set)
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, st.body), "%s\n%s", want[:min(len(want), 300)], st.body[:min(len(st.body), 300)])
	}
}

// A state built from the previous one (reusing its unchanged flags'
// compiled form and JSON) has the body encoding/json makes of the new set
// and evaluates it, also when flags moved, went away or came in.
func TestNextStateBodyIsTheSetsJSON(t *testing.T) {
	set := largeSet("production", 7)
	prev, err := newEnvState(1, set, nil)
	require.NoError(t, err)
	next := withOneFlagToggled(set, 3)
	next.Flags = append(next.Flags[1:4:4], next.Flags[5:]...) // flag 0 and 4 gone, order shifted
	added := next.Flags[0]
	added.Key, added.Enabled = "flag-new", false
	next.Flags = append([]eval.Flag{added}, next.Flags...)
	st, err := newEnvState(1, next, prev)
	require.NoError(t, err)
	want, err := json.Marshal(next)
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, st.body))
	require.ElementsMatch(t, []string{"flag-new", "flag-00003", "flag-00000", "flag-00004"}, st.patch.keys)
	require.Equal(t, "off", st.snap.Evaluate("flag-new", "u").Variant)
	require.Equal(t, "off", st.snap.Evaluate("flag-00003", "u").Variant)
	require.Equal(t, "FLAG_NOT_FOUND", st.snap.Evaluate("flag-00004", "u").ErrorCode)
}
