package eval

import "encoding/json"

// Reasons, following the OpenFeature resolution reasons.
const (
	// ReasonError: the caller's default was returned because of an error.
	ReasonError = "ERROR"
	// ReasonDisabled: the flag is disabled; its off variant is served.
	ReasonDisabled = "DISABLED"
	// ReasonTargetingMatch: the user is individually assigned a variant.
	ReasonTargetingMatch = "TARGETING_MATCH"
	// ReasonSplit: the variant was chosen by bucketing the user id.
	ReasonSplit = "SPLIT"
	// ReasonStatic: the rollout serves one variant to everybody.
	ReasonStatic = "STATIC"
	// ReasonDefault: the off variant is served because the user cannot be
	// placed (no user id, or outside a running experiment).
	ReasonDefault = "DEFAULT"
	// ReasonPrerequisiteFailed: a prerequisite flag did not serve one of
	// its required variants; the off variant is served.
	ReasonPrerequisiteFailed = "PREREQUISITE_FAILED"
)

// Error codes, following the OpenFeature error codes.
const (
	ErrorFlagNotFound = "FLAG_NOT_FOUND"
	ErrorTypeMismatch = "TYPE_MISMATCH"
)

// Result describes one evaluation. On ReasonError, Variant and
// ExperimentKey are empty and the caller's default applies.
type Result struct {
	// Variant is the key of the served variant ("" on error).
	Variant string
	// Reason is one of the Reason* constants.
	Reason string
	// ErrorCode is one of the Error* constants, or "".
	ErrorCode string
	// ExperimentKey is set only when the user is inside a running
	// experiment; SDKs fire the exposure hook only then.
	ExperimentKey string
	// FlagVersion is the version of the evaluated flag (0 if not found).
	FlagVersion int64
	// RuleID is the id of the targeting rule that decided, or "".
	RuleID string

	value *Value
}

// Value returns the typed values of the served variant. ok is false when
// no variant was served (Reason == ReasonError).
func (r Result) Value() (v Value, ok bool) {
	if r.value == nil {
		return Value{}, false
	}
	return *r.value, true
}

// Value holds a variant's value decoded once at Compile time.
type Value struct {
	Kind   Kind
	Bool   bool    // kind boolean
	String string  // kind string
	Float  float64 // kind number
	Int    int64   // kind number, valid when IsInt
	IsInt  bool    // kind number and integral within int64 range
	// Raw is the variant's JSON value as received. It is shared with the
	// snapshot and must not be modified.
	Raw json.RawMessage
}

func errorResult(code string, version int64) Result {
	return Result{Reason: ReasonError, ErrorCode: code, FlagVersion: version}
}
