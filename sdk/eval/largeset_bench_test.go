package eval_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/waypost/waypost/sdk/eval"
)

// largeSet is the 5,000-flag environment of the provider's large-set
// benchmark: two rules of three clauses per flag, a fifth of the flags
// testing one of 20 segments of 100 ids, one testing a 100,000-id segment.
func largeSet(revision int64) *eval.FlagSet {
	clause := func(attr, op string, values ...string) eval.Clause {
		c := eval.Clause{Attribute: attr, Op: op}
		for _, v := range values {
			c.Values = append(c.Values, json.RawMessage(v))
		}
		return c
	}
	set := &eval.FlagSet{Project: "big", Environment: "production", Revision: revision}
	for i := 0; i < 20; i++ {
		ids := make([]string, 100)
		for j := range ids {
			ids[j] = fmt.Sprintf("user-%d-%d", i, j)
		}
		set.Segments = append(set.Segments, eval.Segment{Key: "seg-" + strconv.Itoa(i), Included: ids, Version: 1})
	}
	huge := make([]string, 100_000)
	for j := range huge {
		huge[j] = "member-" + strconv.Itoa(j)
	}
	set.Segments = append(set.Segments, eval.Segment{Key: "huge", Included: huge, Version: 1})
	for i := 0; i < 5000; i++ {
		f := eval.Flag{Key: fmt.Sprintf("flag-%05d", i), Kind: eval.KindBoolean, Enabled: true, OffVariant: "off",
			Salt: "salt-" + strconv.Itoa(i), Version: 1,
			Variants: []eval.Variant{{Key: "off", Value: json.RawMessage("false")}, {Key: "on", Value: json.RawMessage("true")}},
			Rollout:  []eval.WeightedVariant{{Variant: "off", Weight: 5000}, {Variant: "on", Weight: 5000}},
			Rules: []eval.Rule{
				{ID: "r1", Variant: "on", Clauses: []eval.Clause{
					clause("country", eval.OpIn, `"CA"`, `"US"`, `"MX"`),
					clause("appVersion", eval.OpSemverGTE, `"2.`+strconv.Itoa(i%10)+`.0"`),
					clause("age", eval.OpGTE, strconv.Itoa(18+i%5)),
				}},
				{ID: "r2", Variant: "off", Clauses: []eval.Clause{
					clause("plan", eval.OpIn, `"free"`),
					clause("email", eval.OpEndsWith, `"@example.com"`),
					clause("beta", eval.OpExists),
				}},
			}}
		switch {
		case i == 0:
			f.Rules = append(f.Rules, eval.Rule{ID: "huge", Variant: "on", Clauses: []eval.Clause{clause("", eval.OpInSegment, `"huge"`)}})
		case i%5 == 0:
			f.Rules = append(f.Rules, eval.Rule{ID: "seg", Variant: "on", Clauses: []eval.Clause{clause("", eval.OpInSegment, `"seg-`+strconv.Itoa(i%20)+`"`)}})
		}
		set.Flags = append(set.Flags, f)
	}
	return set
}

// BenchmarkCompileLargeSet: a whole 5,000-flag set from scratch (a
// provider's or SDK's first load).
func BenchmarkCompileLargeSet(b *testing.B) {
	set := largeSet(1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := eval.Compile(set); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompileFromOneFlag: the next revision of that set with one
// flag toggled, compiled from the previous snapshot (a patch arriving).
func BenchmarkCompileFromOneFlag(b *testing.B) {
	set := largeSet(1)
	prev, err := eval.Compile(set)
	if err != nil {
		b.Fatal(err)
	}
	next := *set
	next.Revision++
	next.Flags = append([]eval.Flag(nil), set.Flags...)
	next.Flags[1234].Enabled = false
	next.Flags[1234].Version++
	b.ReportAllocs()
	for b.Loop() {
		if _, err := eval.CompileFrom(prev, &next); err != nil {
			b.Fatal(err)
		}
	}
}
