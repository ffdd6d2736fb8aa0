package model

import (
	"encoding/json"
	"time"
)

// Kind is the value type of a flag's variants.
type Kind string

// Flag kinds.
const (
	KindBoolean Kind = "boolean"
	KindString  Kind = "string"
	KindNumber  Kind = "number"
	KindJSON    Kind = "json"
)

// Project is one application's flag set.
type Project struct {
	Key       string    `json:"key"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Environment is a deployment stage of a project. Revision grows with every
// change to the environment's flags, states, assignments or SDK keys.
type Environment struct {
	Key       string    `json:"key"`
	Name      string    `json:"name"`
	Revision  int64     `json:"revision"`
	Protected bool      `json:"protected"` // only project admins change flags here
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Variant is one value a flag can serve.
type Variant struct {
	Key   string          `json:"key"`
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
}

// Weight is one variant's share of a rollout in basis points (0..10000).
type Weight struct {
	Variant string `json:"variant"`
	Weight  int    `json:"weight"`
}

// Flag is a flag definition with its state in every environment.
type Flag struct {
	Key          string      `json:"key"`
	Name         string      `json:"name"`
	Description  string      `json:"description"`
	Tags         []string    `json:"tags"`
	Kind         Kind        `json:"kind"`
	Variants     []Variant   `json:"variants"`
	Version      int64       `json:"version"`
	ArchivedAt   *time.Time  `json:"archived_at"`
	CreatedAt    time.Time   `json:"created_at"`
	UpdatedAt    time.Time   `json:"updated_at"`
	Environments []FlagState `json:"environments"`
}

// FlagState is a flag's state in one environment.
type FlagState struct {
	Environment     string    `json:"environment"`
	Enabled         bool      `json:"enabled"`
	OffVariant      string    `json:"off_variant"`
	Rollout         []Weight  `json:"rollout"`
	Version         int64     `json:"version"`
	AssignmentCount int64     `json:"assignment_count"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// Assignment forces one user id to a variant in one environment.
type Assignment struct {
	UserID    string    `json:"user_id"`
	Variant   string    `json:"variant"`
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// SDKKey describes a key SDKs present to providers. Secret is set only in
// the response that creates the key; Waypost keeps only its hash.
type SDKKey struct {
	ID          int64      `json:"id"`
	Environment string     `json:"environment"`
	Kind        string     `json:"kind"`
	Name        string     `json:"name"`
	Prefix      string     `json:"prefix"`
	Secret      string     `json:"secret,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	RevokedAt   *time.Time `json:"revoked_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
}

// FlagEvent is one entry of the flag-event log (written by triggers).
type FlagEvent struct {
	ID          int64           `json:"id"`
	Flag        string          `json:"flag"`
	Environment *string         `json:"environment"`
	Type        string          `json:"type"`
	Actor       string          `json:"actor"`
	Source      string          `json:"source"`
	Before      json.RawMessage `json:"before"`
	After       json.RawMessage `json:"after"`
	CreatedAt   time.Time       `json:"created_at"`
}

// EventTypes lists the flag-event types the triggers write.
var EventTypes = []string{
	"flag_created", "flag_updated", "flag_archived", "flag_restored",
	"flag_toggled", "rollout_changed", "off_variant_changed",
	"assignment_added", "assignment_changed", "assignment_removed",
	"experiment_started", "experiment_stopped", "experiment_phase_changed", "experiment_interrupted",
	// Targeting (migration 009): segment events have flag "" and the
	// segment key in before/after.
	"rules_changed", "prerequisites_changed", "segment_created", "segment_updated", "segment_deleted",
	// Safe rollouts (migration 016).
	"safe_rollout_started", "safe_rollout_advanced", "safe_rollout_paused",
	"safe_rollout_resumed", "safe_rollout_rolled_back", "safe_rollout_completed",
	// Safe-rollout stage edits (migration 019): before/after hold the stages.
	"safe_rollout_stages_changed",
}
