package vectors

import (
	"encoding/json"
	"fmt"

	"github.com/waypost/waypost/sdk/eval"
)

// Run evaluates c against snapshot s with the typed getter named by c.Type
// and returns the outcome in test-vector form.
func Run(s *eval.Snapshot, c Case) (Expected, error) {
	var (
		val any
		r   eval.Result
		ctx = &eval.Context{TargetingKey: c.TargetingKey, Attributes: c.Context}
	)
	switch c.Type {
	case TypeBoolean:
		var def bool
		if err := json.Unmarshal(c.Default, &def); err != nil {
			return Expected{}, fmt.Errorf("case %q: default: %w", c.Name, err)
		}
		val, r = s.BoolContext(c.Flag, ctx, def)
	case TypeString:
		var def string
		if err := json.Unmarshal(c.Default, &def); err != nil {
			return Expected{}, fmt.Errorf("case %q: default: %w", c.Name, err)
		}
		val, r = s.StringContext(c.Flag, ctx, def)
	case TypeNumber:
		var def float64
		if err := json.Unmarshal(c.Default, &def); err != nil {
			return Expected{}, fmt.Errorf("case %q: default: %w", c.Name, err)
		}
		val, r = s.FloatContext(c.Flag, ctx, def)
	case TypeInteger:
		var def int64
		if err := json.Unmarshal(c.Default, &def); err != nil {
			return Expected{}, fmt.Errorf("case %q: default: %w", c.Name, err)
		}
		val, r = s.IntContext(c.Flag, ctx, def)
	case TypeJSON:
		var v json.RawMessage
		v, r = s.JSONContext(c.Flag, ctx, c.Default)
		val = v
	default:
		return Expected{}, fmt.Errorf("case %q: unknown type %q", c.Name, c.Type)
	}
	raw, err := json.Marshal(val)
	if err != nil {
		return Expected{}, fmt.Errorf("case %q: marshal value: %w", c.Name, err)
	}
	return Expected{
		Value:         raw,
		Variant:       r.Variant,
		Reason:        r.Reason,
		ErrorCode:     r.ErrorCode,
		ExperimentKey: r.ExperimentKey,
		RuleID:        r.RuleID,
	}, nil
}
