package model

import (
	"encoding/json"
	"time"

	"github.com/waypost/waypost/sdk/eval"
)

// Connection is an events connection as the API shows it: never with its
// password (HasPassword says whether one is stored).
type Connection struct {
	Key                string    `json:"key"`
	Name               string    `json:"name"`
	Kind               string    `json:"kind"`
	Host               string    `json:"host,omitempty"`
	Port               int       `json:"port,omitempty"`
	Database           string    `json:"database,omitempty"`
	User               string    `json:"user,omitempty"`
	HasPassword        bool      `json:"has_password"`
	SSLMode            string    `json:"ssl_mode,omitempty"`
	ExposuresQuery     string    `json:"exposures_query"`
	StatementTimeoutMS int       `json:"statement_timeout_ms"`
	IsDefault          bool      `json:"is_default"`
	Version            int64     `json:"version"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

// Cap limits per-user metric values: Kind "value" (absolute) or
// "percentile" (Value in (0, 1)).
type Cap struct {
	Kind  string  `json:"kind"`
	Value float64 `json:"value"`
}

// Denominator is a ratio metric's per-user denominator: a query returning
// user_id, "timestamp" (and value for duration and revenue), counted
// (Type "count") or summed per user in the numerator's window.
type Denominator struct {
	Type string `json:"type"`
	SQL  string `json:"sql"`
}

// Metric is what experiments measure.
type Metric struct {
	Key                   string   `json:"key"`
	Name                  string   `json:"name"`
	Description           string   `json:"description"`
	Type                  string   `json:"type"`
	SQL                   string   `json:"sql"`
	Connection            string   `json:"connection"`
	ConversionWindowHours *float64 `json:"conversion_window_hours"`
	Direction             string   `json:"direction"`
	Cap                   *Cap     `json:"cap"`
	// Denominator makes this a ratio metric (Σ sql / Σ denominator).
	Denominator *Denominator `json:"denominator"`
	Guardrail   bool         `json:"guardrail"`
	Version     int64        `json:"version"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
}

// Experiment is an A/B test of a flag in one environment.
type Experiment struct {
	Key                 string     `json:"key"`
	Name                string     `json:"name"`
	Hypothesis          string     `json:"hypothesis"`
	Flag                string     `json:"flag"`
	Environment         string     `json:"environment"`
	Connection          string     `json:"connection"`
	Weights             []Weight   `json:"weights"`
	TrafficBP           int        `json:"traffic"`
	PrimaryMetrics      []string   `json:"primary_metrics"`
	SecondaryMetrics    []string   `json:"secondary_metrics"`
	PlannedDurationDays *int       `json:"planned_duration_days"`
	PlannedSampleSize   *int64     `json:"planned_sample_size"`
	MDE                 *float64   `json:"minimum_detectable_effect"`
	Status              string     `json:"status"`
	StartedAt           *time.Time `json:"started_at"`
	StoppedAt           *time.Time `json:"stopped_at"`
	ShippedVariant      *string    `json:"shipped_variant"`
	Version             int64      `json:"version"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
	// Phases, oldest first; the last one is the current phase.
	Phases []Phase `json:"phases"`
	// FlagEnabled says whether the flag is on in the experiment's
	// environment (off: everyone gets the off variant).
	FlagEnabled bool `json:"flag_enabled"`
	// Outcome says in words what a stop or ship did (stop responses only).
	Outcome string `json:"outcome,omitempty"`

	// Audience and Layer: who may enter, and the experiment's slice of a
	// layer (null: none). See docs/evaluation.md.
	Audience []eval.Clause `json:"audience"`
	Layer    *eval.Layer   `json:"layer"`
}

// Phase is one period of an experiment with a fixed plan (weights,
// traffic, audience). Interrupted is set when the kill switch turned the
// flag off during the phase.
type Phase struct {
	Number    int      `json:"number"`
	Weights   []Weight `json:"weights"`
	TrafficBP int      `json:"traffic"`
	// Audience the phase ran with ([]: everybody).
	Audience    []eval.Clause `json:"audience"`
	StartedAt   time.Time     `json:"started_at"`
	StartedBy   string        `json:"started_by"`
	EndedAt     *time.Time    `json:"ended_at"`
	EndedBy     *string       `json:"ended_by"`
	EndReason   *string       `json:"end_reason"`
	Interrupted *Interrupted  `json:"interrupted"`
}

// Interrupted says who turned the flag off during a phase, and when.
type Interrupted struct {
	At time.Time `json:"at"`
	By string    `json:"by"`
}

// ExposureDay is one point of the sample-size-over-time chart.
type ExposureDay struct {
	Variant    string `json:"variant"`
	Day        string `json:"day"`
	NewUsers   int64  `json:"new_users"`
	TotalUsers int64  `json:"total_users"`
	// Partial marks a day not over yet (today while the experiment runs):
	// its counts are up to the last count.
	Partial bool `json:"partial,omitempty"`
}

// Refresh is one results refresh (history entry). Results is set on the
// latest successful refresh only.
type Refresh struct {
	ID         int64           `json:"id"`
	JobID      *int64          `json:"job_id"`
	Status     string          `json:"status"`
	ErrorCode  *string         `json:"error_code"`
	Error      *string         `json:"error"`
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt *time.Time      `json:"finished_at"`
	DurationMS *int64          `json:"duration_ms"`
	Inputs     json.RawMessage `json:"inputs"`
	Statements json.RawMessage `json:"statements"`
	Results    json.RawMessage `json:"results,omitempty"`
	// URL is GET .../refreshes/{job_id}: this refresh with its results.
	URL string `json:"url,omitempty"`
	// Progress is how many of the refresh's metrics are done (refresh
	// status only).
	Progress *Progress `json:"progress,omitempty"`
}

// Progress of a refresh: metric statements done out of total.
type Progress struct {
	Done  int `json:"done"`
	Total int `json:"total"`
}

// RefreshStatus is GET .../refreshes/{job_id}: where a refresh job is
// (queued, running, succeeded, failed) and, once it ran, its record
// (duration, error, inputs, statements and results).
type RefreshStatus struct {
	JobID   int64    `json:"job_id"`
	State   string   `json:"state"`
	Error   *string  `json:"error,omitempty"`
	Refresh *Refresh `json:"refresh"`
	// Progress, once the job runs: metrics done out of total.
	Progress *Progress `json:"progress,omitempty"`
	// DurationMS is how long it ran (so far, while running).
	DurationMS *int64 `json:"duration_ms,omitempty"`
	// Results of a succeeded refresh (also in Refresh.Results).
	Results json.RawMessage `json:"results,omitempty"`
}

// ResultsPage is GET .../results: the latest successful results and the
// recent refreshes (newest first, failures included).
type ResultsPage struct {
	Latest  *Refresh  `json:"latest"`
	History []Refresh `json:"history"`
}

// Job is an enqueued background job.
type Job struct {
	JobID     int64 `json:"job_id"`
	Duplicate bool  `json:"duplicate"`
}

// ResultPoint is one metric's headline effect for one treatment as of one
// day's last successful refresh (cumulative up to AnalysisEnd).
type ResultPoint struct {
	Day            string    `json:"day"`
	AnalysisEnd    time.Time `json:"analysis_end"`
	RefreshID      int64     `json:"refresh_id"`
	Metric         string    `json:"metric"`
	Variant        string    `json:"variant"`
	Method         string    `json:"method"`
	Status         string    `json:"status"`
	RelativeEffect *float64  `json:"relative_effect"`
	RelativeCILow  *float64  `json:"relative_ci_low"`
	RelativeCIHigh *float64  `json:"relative_ci_high"`
	AbsoluteEffect *float64  `json:"absolute_effect"`
	PValue         *float64  `json:"p_value"`
}
