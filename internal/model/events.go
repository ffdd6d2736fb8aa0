package model

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/waypost/waypost/internal/errs"
)

// Limits of POST /v1/events.
const (
	MaxEventsPerBatch  = 1000
	MaxEventsBodyBytes = 1 << 20
	MaxIdempotencyKey  = 128
	MaxEventName       = 100
	// EventsMaxAge and EventsMaxSkew bound event timestamps: the built-in
	// store keeps one partition per day, so far-off timestamps are refused.
	EventsMaxAge  = 30 * 24 * time.Hour
	EventsMaxSkew = time.Hour
)

// Event is one exposure or metric event sent by an SDK.
type Event struct {
	Type           string     `json:"type"`
	IdempotencyKey string     `json:"idempotencyKey"`
	ExperimentKey  string     `json:"experimentKey,omitempty"`
	UserID         string     `json:"userId"`
	Variant        string     `json:"variant,omitempty"`
	Metric         string     `json:"metric,omitempty"`
	Value          *float64   `json:"value,omitempty"`
	Timestamp      *time.Time `json:"timestamp"`
}

// EventBatch is the body of POST /v1/events.
type EventBatch struct {
	Events []Event `json:"events"`
}

// Validate checks every event; now bounds the timestamps.
func (b *EventBatch) Validate(now time.Time) error {
	if len(b.Events) == 0 {
		return errs.Invalid("events", "at least one event is required")
	}
	if len(b.Events) > MaxEventsPerBatch {
		return errs.Invalid("events", "at most %d events per request", MaxEventsPerBatch)
	}
	for i := range b.Events {
		if err := b.Events[i].validate(fmt.Sprintf("events[%d]", i), now); err != nil {
			return err
		}
	}
	return nil
}

func (e *Event) validate(f string, now time.Time) error {
	if e.IdempotencyKey == "" || len(e.IdempotencyKey) > MaxIdempotencyKey || !utf8.ValidString(e.IdempotencyKey) {
		return errs.Invalid(f+".idempotencyKey", "is required: 1 to %d bytes, unique per event (a retried batch reuses it)", MaxIdempotencyKey)
	}
	if err := checkUserID(f+".userId", e.UserID); err != nil {
		return err
	}
	if e.Timestamp == nil {
		return errs.Invalid(f+".timestamp", "is required (RFC 3339)")
	}
	if e.Timestamp.Before(now.Add(-EventsMaxAge)) || e.Timestamp.After(now.Add(EventsMaxSkew)) {
		return errs.Invalid(f+".timestamp", "must be within the last %d days and at most %s ahead", int(EventsMaxAge.Hours()/24), EventsMaxSkew)
	}
	switch e.Type {
	case "exposure":
		if e.ExperimentKey == "" || len(e.ExperimentKey) > MaxEventName {
			return errs.Invalid(f+".experimentKey", "is required for exposures (at most %d bytes)", MaxEventName)
		}
		if e.Variant == "" || len(e.Variant) > MaxEventName {
			return errs.Invalid(f+".variant", "is required for exposures (at most %d bytes)", MaxEventName)
		}
		if e.Metric != "" || e.Value != nil {
			return errs.Invalid(f, "an exposure has no metric or value")
		}
	case "metric":
		if e.Metric == "" || len(e.Metric) > MaxEventName || !utf8.ValidString(e.Metric) {
			return errs.Invalid(f+".metric", "is required for metric events (at most %d bytes)", MaxEventName)
		}
		if len(e.ExperimentKey) > MaxEventName {
			return errs.Invalid(f+".experimentKey", "at most %d bytes", MaxEventName)
		}
		if e.Value != nil && (math.IsNaN(*e.Value) || math.IsInf(*e.Value, 0)) {
			return errs.Invalid(f+".value", "must be a finite number")
		}
	default:
		return errs.Invalid(f+".type", `must be "exposure" or "metric"`)
	}
	return nil
}
