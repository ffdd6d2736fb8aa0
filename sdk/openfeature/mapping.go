package openfeature

import (
	"fmt"

	of "github.com/open-feature/go-sdk/openfeature"
	waypost "github.com/waypost/waypost/sdk"
	"github.com/waypost/waypost/sdk/eval"
)

// Error codes a Waypost evaluation may carry besides eval's.
const (
	codeTargetingKeyMissing = "TARGETING_KEY_MISSING"
	codeParseError          = "PARSE_ERROR"
	codeInvalidContext      = "INVALID_CONTEXT"
	codeGeneral             = "GENERAL"
)

// targetingKey returns the user id: the "targetingKey" attribute, "" when
// absent (an anonymous evaluation, as docs/evaluation.md says), an
// INVALID_CONTEXT error when it is not a string.
func targetingKey(fc of.FlattenedContext) (string, *of.ResolutionError) {
	v, ok := fc[of.TargetingKey]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		e := of.NewInvalidContextResolutionError(fmt.Sprintf("targetingKey is a %T, want a string", v))
		return "", &e
	}
	return s, nil
}

// detail converts a Waypost result to OpenFeature's resolution detail.
func detail(r eval.Result) of.ProviderResolutionDetail {
	d := of.ProviderResolutionDetail{Reason: reason(r.Reason), Variant: r.Variant}
	if r.FlagVersion != 0 || r.ExperimentKey != "" {
		d.FlagMetadata = of.FlagMetadata{}
		if r.FlagVersion != 0 {
			d.FlagMetadata["version"] = r.FlagVersion
		}
		if r.ExperimentKey != "" {
			d.FlagMetadata["experimentKey"] = r.ExperimentKey
		}
	}
	if r.ErrorCode != "" {
		d.ResolutionError = resolutionError(r.ErrorCode)
		d.Reason = of.ErrorReason
	}
	return d
}

func errorDetail(e of.ResolutionError) of.ProviderResolutionDetail {
	return of.ProviderResolutionDetail{Reason: of.ErrorReason, ResolutionError: e}
}

// reason maps a Waypost reason to OpenFeature's (they share names).
func reason(r string) of.Reason {
	switch r {
	case eval.ReasonStatic:
		return of.StaticReason
	case eval.ReasonTargetingMatch:
		return of.TargetingMatchReason
	case eval.ReasonSplit:
		return of.SplitReason
	case eval.ReasonDisabled:
		return of.DisabledReason
	case eval.ReasonDefault:
		return of.DefaultReason
	case eval.ReasonError:
		return of.ErrorReason
	}
	return of.UnknownReason
}

// resolutionError maps a Waypost error code to OpenFeature's.
func resolutionError(code string) of.ResolutionError {
	switch code {
	case eval.ErrorFlagNotFound:
		return of.NewFlagNotFoundResolutionError("flag not found")
	case eval.ErrorTypeMismatch:
		return of.NewTypeMismatchResolutionError("flag kind does not match the requested type")
	case waypost.ErrorProviderNotReady:
		return of.NewProviderNotReadyResolutionError("no flag set loaded yet")
	case codeTargetingKeyMissing:
		return of.NewTargetingKeyMissingResolutionError("targeting key missing")
	case codeParseError:
		return of.NewParseErrorResolutionError("parse error")
	case codeInvalidContext:
		return of.NewInvalidContextResolutionError("invalid context")
	case codeGeneral:
		return of.NewGeneralResolutionError("general error")
	}
	return of.NewGeneralResolutionError(fmt.Sprintf("error %s", code))
}
