package model

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/sdk/eval"
)

// MaxSegmentBodyBytes bounds a segment request body: two lists of up to
// eval.MaxSegmentKeys ids must fit.
const MaxSegmentBodyBytes = 16 << 20

// FlagTargeting is a flag's rules and prerequisites in one environment, in
// the wire format of docs/evaluation.md.
type FlagTargeting struct {
	Rules         []eval.Rule         `json:"rules"`
	Prerequisites []eval.Prerequisite `json:"prerequisites"`
	// Version is the flag state's version (shared with enabled/rollout).
	Version int64 `json:"version"`
}

// UpdateTargeting is the body of PUT .../flags/{flag}/environments/{env}/targeting.
// It replaces the rules and prerequisites; Version, when set, must be the
// state's current version.
type UpdateTargeting struct {
	Rules         []eval.Rule         `json:"rules"`
	Prerequisites []eval.Prerequisite `json:"prerequisites"`
	Version       *int64              `json:"version,omitempty"`
}

// Validate normalises nil lists to empty ones. The rules themselves are
// checked by the store with the SDK compiler, on the whole environment,
// so prerequisite cycles and segment references are caught too.
func (r *UpdateTargeting) Validate() error {
	if r.Rules == nil {
		r.Rules = []eval.Rule{}
	}
	if r.Prerequisites == nil {
		r.Prerequisites = []eval.Prerequisite{}
	}
	if len(r.Rules) > eval.MaxRules {
		return errs.Invalid("rules", "at most %d rules", eval.MaxRules)
	}
	return nil
}

// Segment is a segment as the API returns it.
type Segment struct {
	Key         string      `json:"key"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Included    []string    `json:"included"`
	Excluded    []string    `json:"excluded"`
	Rules       []eval.Rule `json:"rules"`
	Version     int64       `json:"version"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
}

// SegmentSummary is a segment in a list: list sizes instead of the lists.
type SegmentSummary struct {
	Key           string      `json:"key"`
	Name          string      `json:"name"`
	Description   string      `json:"description"`
	IncludedCount int         `json:"included_count"`
	ExcludedCount int         `json:"excluded_count"`
	Rules         []eval.Rule `json:"rules"`
	Version       int64       `json:"version"`
	UpdatedAt     time.Time   `json:"updated_at"`
}

// SaveSegment is the body of POST .../segments (Key required) and PUT
// .../segments/{segment} (Key ignored; Version, when set, must match).
type SaveSegment struct {
	Key         string      `json:"key"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Included    []string    `json:"included"`
	Excluded    []string    `json:"excluded"`
	Rules       []eval.Rule `json:"rules"`
	Version     *int64      `json:"version,omitempty"`
}

// Validate checks the key, name and id lists; rules are compiled by the
// store on the whole environment.
func (r *SaveSegment) Validate(create bool) error {
	if create {
		if err := checkKey("key", r.Key); err != nil {
			return err
		}
		if r.Name == "" {
			r.Name = r.Key
		}
	}
	if err := cleanName("name", &r.Name); err != nil {
		return err
	}
	if utf8.RuneCountInString(r.Description) > MaxDescriptionLen {
		return errs.Invalid("description", "at most %d characters", MaxDescriptionLen)
	}
	var err error
	if r.Included, err = cleanIDs("included", r.Included); err != nil {
		return err
	}
	if r.Excluded, err = cleanIDs("excluded", r.Excluded); err != nil {
		return err
	}
	if r.Rules == nil {
		r.Rules = []eval.Rule{}
	}
	return nil
}

// cleanIDs checks a segment id list and drops duplicates (first wins).
func cleanIDs(field string, ids []string) ([]string, error) {
	if len(ids) > eval.MaxSegmentKeys {
		return nil, errs.Invalid(field, "at most %d ids", eval.MaxSegmentKeys)
	}
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		if err := checkUserID(fmt.Sprintf("%s[%d]", field, i), id); err != nil {
			return nil, err
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// EvaluateContext is the body of POST .../environments/{env}/evaluate: the
// dashboard's "test a context" panel.
type EvaluateContext struct {
	Flag    string         `json:"flag"`
	Context map[string]any `json:"context"`
}

// Validate checks the flag key and the context's targeting key type.
func (r *EvaluateContext) Validate() error {
	if err := checkKey("flag", r.Flag); err != nil {
		return err
	}
	if v, ok := r.Context[eval.TargetingKeyAttribute]; ok {
		if _, isString := v.(string); !isString && v != nil {
			return errs.Invalid("context.targetingKey", "must be a string")
		}
	}
	for name := range r.Context {
		if name == "" || len(name) > eval.MaxAttributeLen {
			return errs.Invalid("context", "attribute names must be 1..%d bytes", eval.MaxAttributeLen)
		}
	}
	return nil
}

// Evaluation is the answer of the "test a context" endpoint.
type Evaluation struct {
	Flag          string `json:"flag"`
	Value         any    `json:"value"`
	Variant       string `json:"variant"`
	Reason        string `json:"reason"`
	ErrorCode     string `json:"error_code,omitempty"`
	RuleID        string `json:"rule_id,omitempty"`
	ExperimentKey string `json:"experiment_key,omitempty"`
	FlagVersion   int64  `json:"flag_version"`
	Revision      int64  `json:"revision"`
}
