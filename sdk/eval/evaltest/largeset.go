// Package evaltest holds flag sets for tests and benchmarks of the
// evaluator and of what serves it (the provider), so that both measure
// the same sets.
package evaltest

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/waypost/waypost/sdk/eval"
)

// LargeFlags is the number of flags in a LargeSet.
const LargeFlags = 5000

// LargeSet is one environment of a big project: 5,000 flags, each with
// two targeting rules of three clauses, a fifth of them targeting one of
// 20 segments of 100 ids, and one flag targeting a segment of 100,000 ids.
func LargeSet(env string, revision int64) *eval.FlagSet {
	clause := func(attr, op string, values ...string) eval.Clause {
		c := eval.Clause{Attribute: attr, Op: op}
		for _, v := range values {
			c.Values = append(c.Values, json.RawMessage(v))
		}
		return c
	}
	set := &eval.FlagSet{Project: "big", Environment: env, Revision: revision}
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
	for i := 0; i < LargeFlags; i++ {
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
