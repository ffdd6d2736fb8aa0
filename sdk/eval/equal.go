package eval

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
)

// FlagsEqual reports whether a and b define the same flag, field by
// field, with an absent list or map equal to an empty one. Equal flags
// compile to the same evaluation, and when a is valid (Compile accepts
// it) they also encode to the same JSON: the lists encoding/json writes
// even when empty are never empty in a valid flag. Every field of Flag
// and of the types inside it is compared; a field added to them must be
// added here (TestFlagsEqualSeesEveryField fails until it is).
func FlagsEqual(a, b *Flag) bool {
	if a.Key != b.Key || a.Kind != b.Kind || a.Enabled != b.Enabled || a.OffVariant != b.OffVariant ||
		a.Salt != b.Salt || a.Version != b.Version ||
		!slices.EqualFunc(a.Variants, b.Variants, func(x, y Variant) bool { return x.Key == y.Key && bytes.Equal(x.Value, y.Value) }) ||
		!slices.Equal(a.Rollout, b.Rollout) || !maps.Equal(a.Assignments, b.Assignments) ||
		!slices.EqualFunc(a.Prerequisites, b.Prerequisites, func(x, y Prerequisite) bool { return x.Flag == y.Flag && slices.Equal(x.Variants, y.Variants) }) ||
		!sameRules(a.Rules, b.Rules) {
		return false
	}
	x, y := a.Experiment, b.Experiment
	if x == nil || y == nil {
		return x == y
	}
	if x.Key != y.Key || x.Traffic != y.Traffic || x.Fallback != y.Fallback || !sameClauses(x.Audience, y.Audience) {
		return false
	}
	if x.Layer == nil || y.Layer == nil {
		return x.Layer == y.Layer
	}
	return *x.Layer == *y.Layer
}

func sameRules(a, b []Rule) bool {
	return slices.EqualFunc(a, b, func(x, y Rule) bool {
		return x.ID == y.ID && x.Variant == y.Variant && x.BucketBy == y.BucketBy &&
			slices.Equal(x.Rollout, y.Rollout) && sameClauses(x.Clauses, y.Clauses)
	})
}

func sameClauses(a, b []Clause) bool {
	return slices.EqualFunc(a, b, func(x, y Clause) bool {
		return x.Attribute == y.Attribute && x.Op == y.Op && x.Negate == y.Negate &&
			slices.EqualFunc(x.Values, y.Values, func(v, w json.RawMessage) bool { return bytes.Equal(v, w) })
	})
}

// sameSegment reports whether two segment definitions are the same.
func sameSegment(a, b *Segment) bool {
	return a.Key == b.Key && a.Version == b.Version && slices.Equal(a.Included, b.Included) &&
		slices.Equal(a.Excluded, b.Excluded) && sameRules(a.Rules, b.Rules)
}
