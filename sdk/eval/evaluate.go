package eval

import (
	"encoding/json"
	"math"
)

// Evaluate resolves the flag key for the user id (the OpenFeature
// targeting key; may be empty) with no other attributes. It is
// EvaluateContext with Context{TargetingKey: userID}.
func (s *Snapshot) Evaluate(key, userID string) Result {
	return s.EvaluateContext(key, &Context{TargetingKey: userID})
}

// EvaluateContext resolves the flag key for an evaluation context
// following the Waypost evaluation order (docs/evaluation.md). It does not
// allocate. It never reports TYPE_MISMATCH: that is the typed getters' job.
// A nil ctx is an empty context.
func (s *Snapshot) EvaluateContext(key string, ctx *Context) Result {
	if s == nil {
		return errorResult(ErrorFlagNotFound, 0)
	}
	cf, ok := s.flags[key]
	if !ok {
		return errorResult(ErrorFlagNotFound, 0)
	}
	if ctx == nil {
		ctx = &Context{}
	}
	o := cf.evaluate(ctx)
	r := Result{
		Variant:     cf.variantKeys[o.variant],
		Reason:      reasonNames[o.reason],
		FlagVersion: cf.def.Version,
		value:       &cf.values[o.variant],
	}
	if o.rule >= 0 {
		r.RuleID = cf.rules[o.rule].id
	}
	if o.reason == rExperiment {
		r.ExperimentKey = cf.expKey
	}
	return r
}

// Reason codes of an outcome; rExperiment is SPLIT inside an experiment.
const (
	rDisabled uint8 = iota
	rPrerequisiteFailed
	rTargetingMatch
	rSplit
	rStatic
	rDefault
	rExperiment
)

var reasonNames = [...]string{
	rDisabled: ReasonDisabled, rPrerequisiteFailed: ReasonPrerequisiteFailed, rTargetingMatch: ReasonTargetingMatch,
	rSplit: ReasonSplit, rStatic: ReasonStatic, rDefault: ReasonDefault, rExperiment: ReasonSplit,
}

// outcome is an evaluation before it is turned into a Result.
type outcome struct {
	variant int32
	rule    int32 // index of the matched rule, or -1
	reason  uint8
}

func serve(i int, reason uint8) outcome {
	return outcome{variant: int32(i), reason: reason, rule: -1}
}

func (cf *compiledFlag) evaluate(ctx *Context) outcome {
	if cf.memo {
		var m memo
		return cf.evaluateWith(ctx, &m)
	}
	return cf.evaluateWith(ctx, nil)
}

// evaluateWith is evaluate with the memo m (nil when no clause has a slot).
func (cf *compiledFlag) evaluateWith(ctx *Context, m *memo) outcome {
	userID := ctx.TargetingKey
	// 2. A disabled flag serves its off variant, whatever else is set.
	if !cf.def.Enabled {
		return serve(cf.off, rDisabled)
	}
	// 3. Prerequisites: each must serve one of its variants.
	for i := range cf.prereqs {
		p := &cf.prereqs[i]
		if !p.ok[p.flag.evaluate(ctx).variant] {
			return serve(cf.off, rPrerequisiteFailed)
		}
	}
	// 4. Individual assignments.
	if userID != "" && cf.assignments != nil {
		if i, ok := cf.assignments[userID]; ok {
			return serve(i, rTargetingMatch)
		}
	}
	// 5. Rules, in order.
	for ri := range cf.rules {
		r := &cf.rules[ri]
		if !matchAll(r.clauses, ctx, m) {
			continue
		}
		var o outcome
		switch {
		case r.variant >= 0:
			o = serve(r.variant, rTargetingMatch)
		case r.static >= 0:
			o = serve(r.static, rTargetingMatch)
		default:
			if b, ok := cf.ruleBucket(r, ctx); ok {
				o = serve(walk(r.cum, b), rSplit)
			} else {
				o = serve(cf.off, rDefault)
			}
		}
		o.rule = int32(ri)
		return o
	}
	// 6. Running experiment.
	if cf.experiment {
		if userID == "" || !matchAll(cf.audience, ctx, m) {
			return serve(cf.expOff, rDefault)
		}
		if cf.layer {
			if b := bucketFrom(cf.layerHash, userID); b < cf.layerStart || b >= cf.layerEnd {
				return serve(cf.expOff, rDefault)
			}
		}
		if bucketFrom(cf.expHash, userID) >= cf.expTraffic {
			return serve(cf.expOff, rDefault)
		}
		return serve(walk(cf.cum, bucketFrom(cf.rollout, userID)), rExperiment)
	}
	// 7. Default rollout.
	if cf.static >= 0 {
		if cf.targeting {
			return serve(cf.static, rDefault)
		}
		return serve(cf.static, rStatic)
	}
	if userID == "" {
		return serve(cf.off, rDefault)
	}
	return serve(walk(cf.cum, bucketFrom(cf.rollout, userID)), rSplit)
}

// ruleBucket buckets ctx for a rule's rollout: by the targeting key, or by
// the rule's bucketBy attribute when it is a non-empty string or a safe
// integer (hashed as its decimal form). ok is false when there is nothing
// to bucket by.
func (cf *compiledFlag) ruleBucket(r *compiledRule, ctx *Context) (int, bool) {
	if r.byKey {
		if ctx.TargetingKey == "" {
			return 0, false
		}
		return bucketFrom(cf.rollout, ctx.TargetingKey), true
	}
	v, _ := ctx.lookup(r.bucketBy)
	switch v := v.(type) {
	case string:
		return cf.bucketString(v)
	case *Attr:
		switch v.Kind {
		case AttrString:
			return cf.bucketString(v.Str)
		case AttrNumber:
			return cf.bucketNumber(v.Num)
		}
		return 0, false
	case nil, bool, []string, []any:
		return 0, false
	default:
		f, ok := attrNumber(v)
		if !ok {
			return 0, false
		}
		return cf.bucketNumber(f)
	}
}

func (cf *compiledFlag) bucketString(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	return bucketFrom(cf.rollout, s), true
}

// bucketNumber buckets a safe integer by its decimal form.
func (cf *compiledFlag) bucketNumber(f float64) (int, bool) {
	if f != math.Trunc(f) || math.Abs(f) > maxSafeInteger {
		return 0, false
	}
	m := cf.rollout
	m.writeInt(int64(f))
	return scale(m.sum()), true
}

// walk returns the first variant whose cumulative weight exceeds bucket b.
func walk(cum []int, b int) int {
	for i, c := range cum {
		if c > b {
			return i
		}
	}
	return len(cum) - 1 // unreachable: the last cumulative weight is 10000
}

// typed evaluates key and checks the served value against the getter's kind.
func (s *Snapshot) typed(key string, ctx *Context, want Kind, needInt bool) (*Value, Result) {
	r := s.EvaluateContext(key, ctx)
	if r.value == nil {
		return nil, r
	}
	if r.value.Kind != want || (needInt && !r.value.IsInt) {
		return nil, errorResult(ErrorTypeMismatch, r.FlagVersion)
	}
	return r.value, r
}

// Bool evaluates a boolean flag for a user id, returning def on error.
func (s *Snapshot) Bool(key, userID string, def bool) (bool, Result) {
	return s.BoolContext(key, &Context{TargetingKey: userID}, def)
}

// String evaluates a string flag for a user id, returning def on error.
func (s *Snapshot) String(key, userID string, def string) (string, Result) {
	return s.StringContext(key, &Context{TargetingKey: userID}, def)
}

// Float evaluates a number flag for a user id, returning def on error.
func (s *Snapshot) Float(key, userID string, def float64) (float64, Result) {
	return s.FloatContext(key, &Context{TargetingKey: userID}, def)
}

// Int evaluates a number flag whose served value is an integer; a
// non-integral value is a TYPE_MISMATCH and def is returned.
func (s *Snapshot) Int(key, userID string, def int64) (int64, Result) {
	return s.IntContext(key, &Context{TargetingKey: userID}, def)
}

// JSON evaluates a json flag for a user id, returning def on error. The
// returned value is shared with the snapshot and must not be modified.
func (s *Snapshot) JSON(key, userID string, def json.RawMessage) (json.RawMessage, Result) {
	return s.JSONContext(key, &Context{TargetingKey: userID}, def)
}

// BoolContext evaluates a boolean flag for ctx, returning def on error.
func (s *Snapshot) BoolContext(key string, ctx *Context, def bool) (bool, Result) {
	v, r := s.typed(key, ctx, KindBoolean, false)
	if v == nil {
		return def, r
	}
	return v.Bool, r
}

// StringContext evaluates a string flag for ctx, returning def on error.
func (s *Snapshot) StringContext(key string, ctx *Context, def string) (string, Result) {
	v, r := s.typed(key, ctx, KindString, false)
	if v == nil {
		return def, r
	}
	return v.String, r
}

// FloatContext evaluates a number flag for ctx, returning def on error.
func (s *Snapshot) FloatContext(key string, ctx *Context, def float64) (float64, Result) {
	v, r := s.typed(key, ctx, KindNumber, false)
	if v == nil {
		return def, r
	}
	return v.Float, r
}

// IntContext evaluates a number flag whose served value is an integer
// for ctx; a non-integral value is a TYPE_MISMATCH and def is returned.
func (s *Snapshot) IntContext(key string, ctx *Context, def int64) (int64, Result) {
	v, r := s.typed(key, ctx, KindNumber, true)
	if v == nil {
		return def, r
	}
	return v.Int, r
}

// JSONContext evaluates a json flag for ctx, returning def on error. The
// returned value is shared with the snapshot and must not be modified.
func (s *Snapshot) JSONContext(key string, ctx *Context, def json.RawMessage) (json.RawMessage, Result) {
	v, r := s.typed(key, ctx, KindJSON, false)
	if v == nil {
		return def, r
	}
	return v.Raw, r
}
