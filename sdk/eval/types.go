package eval

import "encoding/json"

// Kind is the value type of a flag.
type Kind string

// Flag kinds.
const (
	KindBoolean Kind = "boolean"
	KindString  Kind = "string"
	KindNumber  Kind = "number"
	KindJSON    Kind = "json"
)

// FlagSet is one environment's flags as emitted by the Waypost provider.
type FlagSet struct {
	Project     string `json:"project"`
	Environment string `json:"environment"`
	Revision    int64  `json:"revision"`
	Flags       []Flag `json:"flags"`
	// Segments are the environment's segments, shipped once per set and
	// referenced by key from in_segment clauses. Absent in older sets.
	Segments []Segment `json:"segments,omitempty"`
}

// Flag is one feature flag in wire format.
type Flag struct {
	Key        string            `json:"key"`
	Kind       Kind              `json:"kind"`
	Variants   []Variant         `json:"variants"`
	Enabled    bool              `json:"enabled"`
	OffVariant string            `json:"offVariant"`
	Rollout    []WeightedVariant `json:"rollout"`
	Salt       string            `json:"salt"`
	// Assignments maps a user id to a variant key. It may be absent.
	Assignments map[string]string `json:"assignments,omitempty"`
	Version     int64             `json:"version"`
	// Experiment is present only while an experiment runs.
	Experiment *Experiment `json:"experiment,omitempty"`
	// Prerequisites must all serve one of their named variants, or the
	// flag serves its off variant. Absent in older sets.
	Prerequisites []Prerequisite `json:"prerequisites,omitempty"`
	// Rules are tried in order after assignments; the first match decides.
	// Absent in older sets.
	Rules []Rule `json:"rules,omitempty"`
}

// Prerequisite names another flag of the set and the variants it must
// serve (to the same context) for the dependent flag to be evaluated.
type Prerequisite struct {
	Flag     string   `json:"flag"`
	Variants []string `json:"variants"`
}

// Rule is one targeting rule: when all its clauses match, it serves
// Variant, or, when Rollout is set, a percentage rollout bucketed by
// BucketBy (the targeting key when empty).
type Rule struct {
	ID       string            `json:"id"`
	Clauses  []Clause          `json:"clauses"`
	Variant  string            `json:"variant,omitempty"`
	Rollout  []WeightedVariant `json:"rollout,omitempty"`
	BucketBy string            `json:"bucketBy,omitempty"`
}

// Clause is one condition "attribute op values", optionally negated.
// Values are JSON scalars whose type the operator dictates.
type Clause struct {
	Attribute string            `json:"attribute,omitempty"`
	Op        string            `json:"op"`
	Values    []json.RawMessage `json:"values,omitempty"`
	Negate    bool              `json:"negate,omitempty"`
}

// Segment is a reusable set of contexts: targeting keys in Excluded never
// belong, then keys in Included always belong, then a context belongs when
// any of Rules matches (a segment rule serves nothing: only its clauses
// count).
type Segment struct {
	Key      string   `json:"key"`
	Included []string `json:"included,omitempty"`
	Excluded []string `json:"excluded,omitempty"`
	Rules    []Rule   `json:"rules,omitempty"`
	Version  int64    `json:"version,omitempty"`
}

// Variant is a named value of a flag. Value is JSON: a bool, string or
// number for the scalar kinds, any JSON value for kind json.
type Variant struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// WeightedVariant is one rollout entry: a variant key and its weight in
// basis points (0..10000).
type WeightedVariant struct {
	Variant string `json:"variant"`
	Weight  int    `json:"weight"`
}

// Experiment marks a flag as the subject of a running experiment. Traffic
// is the share of users, in basis points, that enter the experiment.
type Experiment struct {
	Key     string `json:"key"`
	Traffic int    `json:"traffic"`
	// Audience: only contexts matching every clause may enter. Absent or
	// empty: everybody with a targeting key may enter.
	Audience []Clause `json:"audience,omitempty"`
	// Layer makes experiments mutually exclusive: a context enters only
	// when its layer bucket falls in [Start, End).
	Layer *Layer `json:"layer,omitempty"`
	// Fallback is the variant served to a context that does not enter the
	// experiment (no targeting key, outside the audience, the layer range
	// or the traffic). Absent: the off variant. A safe rollout sets it to
	// its control variant, so that users outside its audience keep what
	// they were served.
	Fallback string `json:"fallback,omitempty"`
}

// Layer is an experiment's slice of a layer-wide bucket range. Every
// experiment of a layer hashes with the same seed ("layer." + Key), and
// the layer's experiments own disjoint ranges, so a context is in at most
// one of them.
type Layer struct {
	Key   string `json:"key"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// clone returns a deep copy of f.
func (f Flag) clone() Flag {
	c := f
	c.Variants = make([]Variant, len(f.Variants))
	for i, v := range f.Variants {
		c.Variants[i] = Variant{Key: v.Key, Value: append(json.RawMessage(nil), v.Value...)}
	}
	c.Rollout = append([]WeightedVariant(nil), f.Rollout...)
	if f.Assignments != nil {
		c.Assignments = make(map[string]string, len(f.Assignments))
		for k, v := range f.Assignments {
			c.Assignments[k] = v
		}
	}
	if f.Experiment != nil {
		e := *f.Experiment
		e.Audience = cloneClauses(e.Audience)
		if e.Layer != nil {
			l := *e.Layer
			e.Layer = &l
		}
		c.Experiment = &e
	}
	if f.Prerequisites != nil {
		c.Prerequisites = make([]Prerequisite, len(f.Prerequisites))
		for i, p := range f.Prerequisites {
			c.Prerequisites[i] = Prerequisite{Flag: p.Flag, Variants: append([]string(nil), p.Variants...)}
		}
	}
	c.Rules = cloneRules(f.Rules)
	return c
}

func cloneRules(rules []Rule) []Rule {
	if rules == nil {
		return nil
	}
	out := make([]Rule, len(rules))
	for i, r := range rules {
		r.Clauses = cloneClauses(r.Clauses)
		r.Rollout = append([]WeightedVariant(nil), r.Rollout...)
		out[i] = r
	}
	return out
}

func cloneClauses(cs []Clause) []Clause {
	if cs == nil {
		return nil
	}
	out := make([]Clause, len(cs))
	for i, c := range cs {
		vals := make([]json.RawMessage, len(c.Values))
		for j, v := range c.Values {
			vals[j] = append(json.RawMessage(nil), v...)
		}
		c.Values = vals
		out[i] = c
	}
	return out
}
