package model

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/waypost/waypost/internal/errs"
)

// CreateProject is the body of POST /projects.
type CreateProject struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

// Validate checks and normalises the request.
func (r *CreateProject) Validate() error {
	if err := checkKey("key", r.Key); err != nil {
		return err
	}
	if r.Name == "" {
		r.Name = r.Key
	}
	return cleanName("name", &r.Name)
}

// CreateEnvironment is the body of POST /projects/{project}/environments.
type CreateEnvironment = CreateProject

// Rename is the body of PATCH on projects and environments.
type Rename struct {
	Name string `json:"name"`
}

// Validate checks and normalises the request.
func (r *Rename) Validate() error { return cleanName("name", &r.Name) }

// CreateFlag is the body of POST /projects/{project}/flags.
type CreateFlag struct {
	Key         string    `json:"key"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Tags        []string  `json:"tags"`
	Kind        Kind      `json:"kind"`
	Variants    []Variant `json:"variants"`
}

// Validate checks and normalises the request. A boolean flag (the default
// kind) gets the variants off/on when none are given.
func (r *CreateFlag) Validate() error {
	if err := checkKey("key", r.Key); err != nil {
		return err
	}
	if r.Name == "" {
		r.Name = r.Key
	}
	if err := cleanName("name", &r.Name); err != nil {
		return err
	}
	if err := checkDescription(r.Description); err != nil {
		return err
	}
	tags, err := cleanTags("tags", r.Tags)
	if err != nil {
		return err
	}
	r.Tags = tags
	if r.Kind == "" {
		r.Kind = KindBoolean
	}
	if r.Kind, err = ParseKind("kind", string(r.Kind)); err != nil {
		return err
	}
	if r.Kind == KindBoolean && len(r.Variants) == 0 {
		r.Variants = BooleanVariants()
	}
	return ValidateVariants("variants", r.Kind, r.Variants)
}

func checkDescription(d string) error {
	if utf8.RuneCountInString(d) > MaxDescriptionLen || !utf8.ValidString(d) {
		return errs.Invalid("description", "must be valid text of at most %d characters", MaxDescriptionLen)
	}
	return nil
}

// UpdateFlag is the body of PATCH /projects/{project}/flags/{flag}. Absent
// fields keep their value. Version is the flag version the change is based
// on; a stale version is refused with 409 and the current flag.
type UpdateFlag struct {
	Version     *int64     `json:"version"`
	Name        *string    `json:"name"`
	Description *string    `json:"description"`
	Tags        *[]string  `json:"tags"`
	Variants    *[]Variant `json:"variants"`
}

// Validate checks and normalises the request (kind is the flag's kind).
func (r *UpdateFlag) Validate(kind Kind) error {
	if r.Version == nil {
		return errs.Invalid("version", "is required: send the version you read, so that no update is lost")
	}
	if r.Name != nil {
		if err := cleanName("name", r.Name); err != nil {
			return err
		}
	}
	if r.Description != nil {
		if err := checkDescription(*r.Description); err != nil {
			return err
		}
	}
	if r.Tags != nil {
		tags, err := cleanTags("tags", *r.Tags)
		if err != nil {
			return err
		}
		r.Tags = &tags
	}
	if r.Variants != nil {
		if err := ValidateVariants("variants", kind, *r.Variants); err != nil {
			return err
		}
	}
	return nil
}

// UpdateState is the body of PATCH
// /projects/{project}/flags/{flag}/environments/{environment}. Absent
// fields keep their value; all present ones change in one transaction.
// Version is required when rollout or off_variant change (they replace a
// value the caller read); a pure toggle sets an absolute value and may omit it.
type UpdateState struct {
	Version    *int64    `json:"version"`
	Enabled    *bool     `json:"enabled"`
	OffVariant *string   `json:"off_variant"`
	Rollout    *[]Weight `json:"rollout"`
	// NewExperimentPhase confirms a rollout change while an experiment
	// runs on the flag here: its phase ends and a new one starts with the
	// new rollout. Without it such a change is refused (409
	// experiment_running).
	NewExperimentPhase bool `json:"new_experiment_phase"`
}

// Validate checks and normalises the request against the flag's variants.
func (r *UpdateState) Validate(vs []Variant) error {
	if r.Enabled == nil && r.OffVariant == nil && r.Rollout == nil {
		return errs.Invalid("", "nothing to change: give enabled, off_variant or rollout")
	}
	if r.Version == nil && (r.OffVariant != nil || r.Rollout != nil) {
		return errs.Invalid("version", "is required when changing rollout or off_variant: send the version you read")
	}
	if r.OffVariant != nil && !HasVariant(vs, *r.OffVariant) {
		return errs.Invalid("off_variant", "unknown variant %q", *r.OffVariant)
	}
	if r.Rollout != nil {
		ws, err := NormalizeRollout("rollout", *r.Rollout, vs)
		if err != nil {
			return err
		}
		r.Rollout = &ws
	}
	return nil
}

// SetAssignments is the body of POST .../assignments: add or change one or
// many custom assignments at once.
type SetAssignments struct {
	Assignments []Assignment `json:"assignments"`
}

// Validate checks the batch against the flag's variants.
func (r *SetAssignments) Validate(vs []Variant) error {
	if len(r.Assignments) == 0 {
		return errs.Invalid("assignments", "at least one assignment is required")
	}
	if len(r.Assignments) > MaxAssignmentsBatch {
		return errs.Invalid("assignments", "at most %d assignments per request", MaxAssignmentsBatch)
	}
	seen := make(map[string]bool, len(r.Assignments))
	for i := range r.Assignments {
		a := &r.Assignments[i]
		f := fmt.Sprintf("assignments[%d]", i)
		if err := checkUserID(f+".user_id", a.UserID); err != nil {
			return err
		}
		if seen[a.UserID] {
			return errs.Invalid(f+".user_id", "user %q listed twice", a.UserID)
		}
		seen[a.UserID] = true
		if !HasVariant(vs, a.Variant) {
			return errs.Invalid(f+".variant", "unknown variant %q", a.Variant)
		}
	}
	return nil
}

// RemoveAssignments is the body of POST .../assignments/remove.
type RemoveAssignments struct {
	UserIDs []string `json:"user_ids"`
}

// Validate checks the batch.
func (r *RemoveAssignments) Validate() error {
	if len(r.UserIDs) == 0 {
		return errs.Invalid("user_ids", "at least one user id is required")
	}
	if len(r.UserIDs) > MaxAssignmentsBatch {
		return errs.Invalid("user_ids", "at most %d user ids per request", MaxAssignmentsBatch)
	}
	for i, u := range r.UserIDs {
		if err := checkUserID(fmt.Sprintf("user_ids[%d]", i), u); err != nil {
			return err
		}
	}
	return nil
}

func checkUserID(field, u string) error {
	if u == "" || len(u) > MaxUserIDLen || !utf8.ValidString(u) || strings.TrimSpace(u) != u {
		return errs.Invalid(field, "must be 1 to %d bytes of UTF-8 without surrounding spaces", MaxUserIDLen)
	}
	return nil
}

// CreateSDKKey is the body of POST .../sdk-keys.
type CreateSDKKey struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// Validate checks and normalises the request.
func (r *CreateSDKKey) Validate() error {
	if err := cleanName("name", &r.Name); err != nil {
		return err
	}
	if r.Kind != "server" && r.Kind != "client" {
		return errs.Invalid("kind", `must be "server" (full flag definitions, for back ends) or "client" (evaluated results only, safe in browsers)`)
	}
	return nil
}
