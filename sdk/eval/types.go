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
		c.Experiment = &e
	}
	return c
}
