package store

import (
	"context"
	"fmt"
	"time"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/internal/model"
)

// EventFilter selects flag events for ListEvents. Zero values mean "any".
type EventFilter struct {
	Flag        string
	Environment string
	Type        string
	Actor       string
	Since       *time.Time
	Until       *time.Time
	Before      int64 // cursor: id of the last event of the previous page
	Limit       int
}

// ListEvents returns one page of a project's flag events, newest first, and
// the cursor of the next page (0 at the end).
func (s *Store) ListEvents(ctx context.Context, projectKey string, f EventFilter) ([]model.FlagEvent, int64, error) {
	q := s.queries()
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return nil, 0, err
	}
	params := db.ListFlagEventsParams{ProjectID: p.ID, Since: f.Since, Until: f.Until, RowLimit: int32(f.Limit + 1)}
	if f.Flag != "" {
		params.FlagKey = &f.Flag
	}
	if f.Environment != "" {
		e, err := environment(ctx, q, p.ID, f.Environment)
		if err != nil {
			return nil, 0, err
		}
		params.EnvironmentID = &e.ID
	}
	if f.Type != "" {
		params.EventType = &f.Type
	}
	if f.Actor != "" {
		params.Actor = &f.Actor
	}
	if f.Before > 0 {
		params.BeforeID = &f.Before
	}
	rows, err := q.ListFlagEvents(ctx, params)
	if err != nil {
		return nil, 0, fmt.Errorf("list flag events: %w", err)
	}
	var next int64
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		next = rows[len(rows)-1].ID
	}
	out := make([]model.FlagEvent, len(rows))
	for i, r := range rows {
		out[i] = model.FlagEvent{ID: r.ID, Flag: r.FlagKey, Environment: r.EnvironmentKey, Type: r.EventType,
			Actor: r.Actor, Source: r.Source, Before: r.Before, After: r.After, CreatedAt: r.CreatedAt}
	}
	return out, next, nil
}
