package eval

import "encoding/json"

// Evaluate resolves the flag key for the user id (the OpenFeature
// targeting key; may be empty) following the Waypost evaluation order
// (docs/evaluation.md). It does not allocate. It never reports
// TYPE_MISMATCH: that is the typed getters' job.
func (s *Snapshot) Evaluate(key, userID string) Result {
	if s == nil {
		return errorResult(ErrorFlagNotFound, 0)
	}
	cf, ok := s.flags[key]
	if !ok {
		return errorResult(ErrorFlagNotFound, 0)
	}
	return cf.evaluate(userID)
}

func (cf *compiledFlag) result(i int, reason string) Result {
	return Result{
		Variant:     cf.variantKeys[i],
		Reason:      reason,
		FlagVersion: cf.def.Version,
		value:       &cf.values[i],
	}
}

func (cf *compiledFlag) evaluate(userID string) Result {
	// 2. A disabled flag serves its off variant, whatever else is set.
	if !cf.def.Enabled {
		return cf.result(cf.off, ReasonDisabled)
	}
	// 3. Individual assignments.
	if userID != "" && cf.assignments != nil {
		if i, ok := cf.assignments[userID]; ok {
			return cf.result(i, ReasonTargetingMatch)
		}
	}
	// 4. Running experiment.
	if cf.experiment {
		if userID == "" || bucketFrom(cf.expHash, userID) >= cf.expTraffic {
			return cf.result(cf.off, ReasonDefault)
		}
		r := cf.result(cf.split(userID), ReasonSplit)
		r.ExperimentKey = cf.expKey
		return r
	}
	// 5. Rollout.
	if cf.static >= 0 {
		return cf.result(cf.static, ReasonStatic)
	}
	if userID == "" {
		return cf.result(cf.off, ReasonDefault)
	}
	return cf.result(cf.split(userID), ReasonSplit)
}

// split walks the cumulative weights with the user's rollout bucket.
func (cf *compiledFlag) split(userID string) int {
	b := bucketFrom(cf.rollout, userID)
	for i, c := range cf.cum {
		if c > b {
			return i
		}
	}
	return len(cf.cum) - 1 // unreachable: the last cumulative weight is 10000
}

// typed evaluates key and checks the served value against the getter's kind.
func (s *Snapshot) typed(key, userID string, want Kind, needInt bool) (*Value, Result) {
	r := s.Evaluate(key, userID)
	if r.value == nil {
		return nil, r
	}
	if r.value.Kind != want || (needInt && !r.value.IsInt) {
		return nil, errorResult(ErrorTypeMismatch, r.FlagVersion)
	}
	return r.value, r
}

// Bool evaluates a boolean flag, returning def on error.
func (s *Snapshot) Bool(key, userID string, def bool) (bool, Result) {
	v, r := s.typed(key, userID, KindBoolean, false)
	if v == nil {
		return def, r
	}
	return v.Bool, r
}

// String evaluates a string flag, returning def on error.
func (s *Snapshot) String(key, userID string, def string) (string, Result) {
	v, r := s.typed(key, userID, KindString, false)
	if v == nil {
		return def, r
	}
	return v.String, r
}

// Float evaluates a number flag, returning def on error.
func (s *Snapshot) Float(key, userID string, def float64) (float64, Result) {
	v, r := s.typed(key, userID, KindNumber, false)
	if v == nil {
		return def, r
	}
	return v.Float, r
}

// Int evaluates a number flag whose served value is an integer; a
// non-integral value is a TYPE_MISMATCH and def is returned.
func (s *Snapshot) Int(key, userID string, def int64) (int64, Result) {
	v, r := s.typed(key, userID, KindNumber, true)
	if v == nil {
		return def, r
	}
	return v.Int, r
}

// JSON evaluates a json flag, returning def on error. The returned value
// is shared with the snapshot and must not be modified.
func (s *Snapshot) JSON(key, userID string, def json.RawMessage) (json.RawMessage, Result) {
	v, r := s.typed(key, userID, KindJSON, false)
	if v == nil {
		return def, r
	}
	return v.Raw, r
}
