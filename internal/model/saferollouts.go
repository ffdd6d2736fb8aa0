package model

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/sdk/eval"
)

// Safe rollouts (docs/safe-rollouts.md): a new variant of a flag is served
// to a growing share of users, stage by stage, while guardrail metrics are
// watched with the sequential test; a regression rolls it back (or pauses
// it) by itself.

// Safe rollout states.
const (
	RolloutDraft      = "draft"
	RolloutRunning    = "running"
	RolloutPaused     = "paused"
	RolloutRolledBack = "rolled_back"
	RolloutCompleted  = "completed"
)

// Decision actions.
const (
	ActionStart    = "start"
	ActionHold     = "hold"
	ActionAdvance  = "advance"
	ActionRollback = "rollback"
	ActionPause    = "pause"
	ActionResume   = "resume"
	ActionComplete = "complete"
)

// Stage is one step of a safe rollout: the share of users who get the new
// variant, and what must be observed before the next step.
type Stage struct {
	// Percent of users (0 < p <= 100, in steps of 0.01) served the new variant.
	Percent float64 `json:"percent"`
	// MinDurationSeconds the stage lasts at least.
	MinDurationSeconds int64 `json:"min_duration_seconds"`
	// MinSample is the number of users of the new variant the stage needs.
	MinSample int64 `json:"min_sample"`
}

// BP is the stage's share in basis points.
func (s Stage) BP() int { return int(math.Round(s.Percent * 100)) }

// DefaultStages are 1%, 5%, 25%, 50%, 100%.
func DefaultStages() []Stage {
	return []Stage{
		{Percent: 1, MinDurationSeconds: 3600, MinSample: 100},
		{Percent: 5, MinDurationSeconds: 3600, MinSample: 500},
		{Percent: 25, MinDurationSeconds: 2 * 3600, MinSample: 1000},
		{Percent: 50, MinDurationSeconds: 4 * 3600, MinSample: 2000},
		{Percent: 100},
	}
}

// Guardrail is a metric that must not get worse by more than Threshold.
type Guardrail struct {
	Metric string `json:"metric"`
	// Direction is "higher" or "lower" is better; empty: the metric's own.
	Direction string `json:"direction,omitempty"`
	// Threshold is the acceptable relative harm (0.02: 2% worse), >= 0.
	Threshold float64 `json:"threshold"`
}

// SaveSafeRollout creates a safe rollout.
type SaveSafeRollout struct {
	Key         string `json:"key"`
	Name        string `json:"name"`
	Flag        string `json:"flag"`
	Environment string `json:"environment"`
	// ControlVariant is what is served now; NewVariant what is rolled out.
	ControlVariant string      `json:"control_variant"`
	NewVariant     string      `json:"new_variant"`
	Stages         []Stage     `json:"stages"`
	Guardrails     []Guardrail `json:"guardrails"`
	// Audience limits the rollout to contexts matching every clause (the
	// experiment clause format); everyone else keeps ControlVariant for
	// the whole rollout and is not exposed. [] or absent: everybody.
	Audience []eval.Clause `json:"audience"`
	// OnRegression is "rollback" (default) or "pause".
	OnRegression string `json:"on_regression"`
	// CheckIntervalSeconds between automatic checks (60..86400, default 900).
	CheckIntervalSeconds int `json:"check_interval_seconds"`
	// Confidence is the family-wise confidence (default 0.95).
	Confidence float64 `json:"confidence"`
	// Start starts the rollout right away.
	Start bool `json:"start"`
}

// Limits of a safe rollout.
const (
	MaxStages          = 20
	MaxGuardrails      = 20
	DefaultCheckEvery  = 900
	MinCheckEvery      = 60
	MaxCheckEvery      = 86400
	DefaultConfidence  = 0.95
	MaxGuardrailThresh = 10
)

// Validate checks the request against the flag's variants and fills in
// defaults. Guardrail metrics are checked by the store.
func (r *SaveSafeRollout) Validate(vs []Variant) error {
	if err := checkKey("key", r.Key); err != nil {
		return err
	}
	if r.Name == "" {
		r.Name = r.Key
	}
	if err := cleanName("name", &r.Name); err != nil {
		return err
	}
	if r.ControlVariant == "" {
		return errs.Invalid("control_variant", "is required (the variant served now)")
	}
	if !HasVariant(vs, r.ControlVariant) {
		return errs.Invalid("control_variant", "unknown variant %q", r.ControlVariant)
	}
	if r.NewVariant == "" {
		return errs.Invalid("new_variant", "is required (the variant to roll out)")
	}
	if !HasVariant(vs, r.NewVariant) {
		return errs.Invalid("new_variant", "unknown variant %q", r.NewVariant)
	}
	if r.NewVariant == r.ControlVariant {
		return errs.Invalid("new_variant", "must differ from control_variant")
	}
	if r.Stages == nil {
		r.Stages = DefaultStages()
	}
	if err := ValidateStages(r.Stages); err != nil {
		return err
	}
	if err := validateAudience(&r.Audience); err != nil {
		return err
	}
	if len(r.Guardrails) == 0 {
		return errs.Invalid("guardrails", "at least one guardrail metric is required")
	}
	if len(r.Guardrails) > MaxGuardrails {
		return errs.Invalid("guardrails", "at most %d guardrails", MaxGuardrails)
	}
	seen := map[string]bool{}
	for i := range r.Guardrails {
		g := &r.Guardrails[i]
		f := fmt.Sprintf("guardrails[%d]", i)
		if !ValidKey(g.Metric) {
			return errs.Invalid(f+".metric", "a metric key is required")
		}
		if seen[g.Metric] {
			return errs.Invalid(f+".metric", "metric %q is listed twice", g.Metric)
		}
		seen[g.Metric] = true
		if g.Direction != "" && g.Direction != "higher" && g.Direction != "lower" {
			return errs.Invalid(f+".direction", "must be higher or lower (which is better), or empty for the metric's own")
		}
		if !(g.Threshold >= 0 && g.Threshold <= MaxGuardrailThresh) {
			return errs.Invalid(f+".threshold", "must be a relative harm between 0 and %d (0.02 = 2%% worse)", MaxGuardrailThresh)
		}
	}
	switch r.OnRegression {
	case "":
		r.OnRegression = "rollback"
	case "rollback", "pause":
	default:
		return errs.Invalid("on_regression", "must be rollback or pause")
	}
	if r.CheckIntervalSeconds == 0 {
		r.CheckIntervalSeconds = DefaultCheckEvery
	}
	if r.CheckIntervalSeconds < MinCheckEvery || r.CheckIntervalSeconds > MaxCheckEvery {
		return errs.Invalid("check_interval_seconds", "must be between %d and %d seconds", MinCheckEvery, MaxCheckEvery)
	}
	if r.Confidence == 0 {
		r.Confidence = DefaultConfidence
	}
	if !(r.Confidence >= 0.5 && r.Confidence < 1) {
		return errs.Invalid("confidence", "must be at least 0.5 and below 1 (0.95 = 5%% false rollbacks at most)")
	}
	return nil
}

// ValidateStages checks that stages are 0 < p <= 100, strictly increasing,
// and end at 100%.
func ValidateStages(st []Stage) error {
	if len(st) == 0 {
		return errs.Invalid("stages", "at least one stage is required")
	}
	if len(st) > MaxStages {
		return errs.Invalid("stages", "at most %d stages", MaxStages)
	}
	for i, s := range st {
		f := fmt.Sprintf("stages[%d]", i)
		if !(s.Percent > 0 && s.Percent <= 100) {
			return errs.Invalid(f+".percent", "must be above 0 and at most 100, got %v", s.Percent)
		}
		if math.Abs(s.Percent*100-math.Round(s.Percent*100)) > 1e-6 {
			return errs.Invalid(f+".percent", "must be a multiple of 0.01 (one basis point)")
		}
		if i > 0 && s.BP() <= st[i-1].BP() {
			return errs.Invalid(f+".percent", "stages must increase: %v%% follows %v%%", s.Percent, st[i-1].Percent)
		}
		if s.MinDurationSeconds < 0 || s.MinDurationSeconds > 90*86400 {
			return errs.Invalid(f+".min_duration_seconds", "must be between 0 and 90 days")
		}
		if s.MinSample < 0 || s.MinSample > 1e12 {
			return errs.Invalid(f+".min_sample", "must be between 0 and 1e12 users")
		}
	}
	if st[len(st)-1].BP() != TotalWeight {
		return errs.Invalid(fmt.Sprintf("stages[%d].percent", len(st)-1), "the last stage must be 100 (the rollout completes and ships there)")
	}
	return nil
}

// validateAudience bounds a safe rollout's audience; the clauses
// themselves are compiled against the environment's segments by the store
// (errors name them, "audience[0].values[1]").
func validateAudience(a *[]eval.Clause) error {
	if *a == nil {
		*a = []eval.Clause{}
	}
	if len(*a) > eval.MaxClauses {
		return errs.Invalid("audience", "at most %d clauses", eval.MaxClauses)
	}
	return nil
}

// Weights is the flag rollout of a stage: control gets the rest.
func StageWeights(control, newVariant string, s Stage) []Weight {
	return []Weight{{Variant: control, Weight: TotalWeight - s.BP()}, {Variant: newVariant, Weight: s.BP()}}
}

// SafeRollout is a safe rollout as the API shows it.
type SafeRollout struct {
	Key            string      `json:"key"`
	Name           string      `json:"name"`
	Flag           string      `json:"flag"`
	Environment    string      `json:"environment"`
	Experiment     string      `json:"experiment"`
	ControlVariant string      `json:"control_variant"`
	NewVariant     string      `json:"new_variant"`
	Stages         []Stage     `json:"stages"`
	Guardrails     []Guardrail `json:"guardrails"`
	// Audience: only contexts matching every clause take part; [] for
	// everybody. It is its experiment's audience.
	Audience             []eval.Clause `json:"audience"`
	OnRegression         string        `json:"on_regression"`
	CheckIntervalSeconds int           `json:"check_interval_seconds"`
	Confidence           float64       `json:"confidence"`
	State                string        `json:"state"`
	StateReason          string        `json:"state_reason"`
	CurrentStage         int           `json:"current_stage"`
	// Percent is the share of users served the new variant now.
	Percent        float64    `json:"percent"`
	StageStartedAt *time.Time `json:"stage_started_at"`
	Checks         int        `json:"checks"`
	NextCheckAt    *time.Time `json:"next_check_at"`
	StartedAt      *time.Time `json:"started_at"`
	EndedAt        *time.Time `json:"ended_at"`
	Version        int64      `json:"version"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	// Decisions, newest first (the last 100).
	Decisions []RolloutDecision `json:"decisions"`
}

// RolloutDecision is one logged decision.
type RolloutDecision struct {
	ID          int64           `json:"id"`
	CheckNumber *int            `json:"check_number"`
	Action      string          `json:"action"`
	Automatic   bool            `json:"automatic"`
	FromState   string          `json:"from_state"`
	ToState     string          `json:"to_state"`
	FromStage   int             `json:"from_stage"`
	ToStage     int             `json:"to_stage"`
	Reason      string          `json:"reason"`
	Numbers     json.RawMessage `json:"numbers"`
	RefreshID   *int64          `json:"refresh_id"`
	Actor       string          `json:"actor"`
	CreatedAt   time.Time       `json:"created_at"`
}

// RolloutAction is the optional body of pause, resume, advance and rollback.
type RolloutAction struct {
	Reason string `json:"reason"`
}

// Validate bounds the reason.
func (a *RolloutAction) Validate() error {
	a.Reason = strings.TrimSpace(a.Reason)
	if len(a.Reason) > 2000 {
		return errs.Invalid("reason", "at most 2000 characters")
	}
	return nil
}

// SaveNotificationWebhook adds an outgoing webhook to a project.
type SaveNotificationWebhook struct {
	URL string `json:"url"`
	// Secret signs every body (X-Waypost-Signature); 16+ characters.
	Secret string `json:"secret"`
}

// Validate checks the URL and the secret.
func (w *SaveNotificationWebhook) Validate() error {
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(w.URL) > 2000 {
		return errs.Invalid("url", "must be an http(s) URL of at most 2000 characters")
	}
	if len(w.Secret) < 16 || len(w.Secret) > 200 {
		return errs.Invalid("secret", "must be 16 to 200 characters (it signs every notification)")
	}
	return nil
}

// NotificationWebhook is a project's outgoing webhook (never its secret).
type NotificationWebhook struct {
	ID        int64     `json:"id"`
	URL       string    `json:"url"`
	CreatedAt time.Time `json:"created_at"`
}

// UpdateSafeRollout changes the stages of a draft or paused safe rollout
// (docs/safe-rollouts.md, "Editing stages"). A running rollout is changed
// by its checks only: pause it first. Of a paused rollout, the stages up
// to the current one were served already, so their percent cannot change;
// their minimum duration and sample can (they decide the next advance).
type UpdateSafeRollout struct {
	// Version is the rollout's version as read (optimistic concurrency).
	Version int64   `json:"version"`
	Stages  []Stage `json:"stages"`
	// Audience replaces a draft's audience; absent or null keeps it. A
	// paused rollout's audience cannot change (422 audience): users inside
	// were served the new variant already.
	Audience *[]eval.Clause `json:"audience"`
}

// Validate checks the stages (increasing, above 0%, at most 100%, ending
// at 100%); what depends on the rollout's state is checked by the store.
func (u *UpdateSafeRollout) Validate() error {
	if u.Version < 1 {
		return errs.Invalid("version", "is required (the version you read)")
	}
	if u.Stages == nil {
		return errs.Invalid("stages", "is required")
	}
	if err := ValidateStages(u.Stages); err != nil {
		return err
	}
	if u.Audience != nil {
		return validateAudience(u.Audience)
	}
	return nil
}

// UpdateNotificationWebhook changes a project webhook's URL or secret
// (an omitted field keeps its value).
type UpdateNotificationWebhook struct {
	URL    *string `json:"url"`
	Secret *string `json:"secret"`
}

// Validate checks what is given.
func (w *UpdateNotificationWebhook) Validate() error {
	if w.URL == nil && w.Secret == nil {
		return errs.Invalid("url", "give url, secret or both")
	}
	probe := SaveNotificationWebhook{URL: "https://x", Secret: "0123456789abcdef"}
	if w.URL != nil {
		probe.URL = *w.URL
	}
	if w.Secret != nil {
		probe.Secret = *w.Secret
	}
	return probe.Validate()
}

// WebhookTestResult is what a test notification got back.
type WebhookTestResult struct {
	// Status is the HTTP status the webhook answered (2xx).
	Status int `json:"status"`
	// Delivery is the X-Waypost-Delivery id the test was sent with.
	Delivery string `json:"delivery"`
}
