package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/internal/analysis"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/eventsdb"
	"github.com/waypost/waypost/internal/metricsql"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/stats"
)

// AnalysisPlan reads what a results refresh or the exposures job needs for
// experiment id: the plan (analysis end = stop time, or now while it
// runs) and where its events are.
func (s *Store) AnalysisPlan(ctx context.Context, id int64, now time.Time) (analysis.Plan, eventsdb.Target, error) {
	q := s.queries()
	x, err := q.GetExperimentByID(ctx, id)
	if isNoRows(err) {
		return analysis.Plan{}, eventsdb.Target{}, errs.NotFound("experiment %d", id)
	}
	if err != nil {
		return analysis.Plan{}, eventsdb.Target{}, fmt.Errorf("get experiment %d: %w", id, err)
	}
	t, err := s.ConnectionTarget(ctx, x.ConnectionID)
	if err != nil {
		return analysis.Plan{}, eventsdb.Target{}, err
	}
	p := analysis.Plan{ExperimentID: x.ID, ExperimentKey: x.Key, StartedAt: x.StartedAt, StoppedAt: x.StoppedAt,
		MDE: x.Mde, PlannedSampleSize: x.PlannedSampleSize, Connection: x.ConnectionKey, ExposuresSQL: t.ExposuresQuery,
		AnalysisEnd: now.UTC().Truncate(time.Second)}
	if x.StoppedAt != nil {
		p.AnalysisEnd = *x.StoppedAt
	}
	p.SetTimeout(t.StatementTimeout)
	var ws []model.Weight
	if err := json.Unmarshal(x.Weights, &ws); err != nil {
		return p, t, fmt.Errorf("weights: %w", err)
	}
	for _, w := range ws {
		p.Variants = append(p.Variants, w.Variant)
		p.WeightsBP = append(p.WeightsBP, w.Weight)
	}
	ms, err := q.ExperimentMetrics(ctx, x.ID)
	if err != nil {
		return p, t, fmt.Errorf("experiment metrics: %w", err)
	}
	for _, m := range ms {
		am := analysis.Metric{Key: m.Key, Name: m.Name, Type: stats.MetricType(m.Type), SQL: m.Sql,
			ConversionWindowHours: m.ConversionWindowHours, Direction: stats.Direction(m.Direction),
			Guardrail: m.Guardrail, Primary: m.IsPrimary}
		if m.CapKind != nil && m.CapValue != nil {
			v := *m.CapValue
			if *m.CapKind == "value" {
				am.Cap = &metricsql.Cap{Value: &v}
			} else {
				am.Cap = &metricsql.Cap{Percentile: &v}
			}
		}
		p.Metrics = append(p.Metrics, am)
	}
	return p, t, nil
}

// BeginRefresh records a refresh as running and returns its id.
func (s *Store) BeginRefresh(ctx context.Context, experimentID int64, jobID *int64, inputs any) (int64, error) {
	b, err := json.Marshal(inputs)
	if err != nil {
		return 0, fmt.Errorf("encode inputs: %w", err)
	}
	r, err := s.queries().InsertRefresh(ctx, db.InsertRefreshParams{ExperimentID: experimentID, JobID: jobID, Inputs: b})
	if err != nil {
		return 0, fmt.Errorf("insert refresh: %w", err)
	}
	return r.ID, nil
}

// FinishRefresh records a refresh's outcome: results on success, or the
// error code and message (the previous results stay the latest).
func (s *Store) FinishRefresh(ctx context.Context, refreshID int64, statements any, results any, code, message string) error {
	st, err := json.Marshal(statements)
	if err != nil {
		return fmt.Errorf("encode statements: %w", err)
	}
	p := db.FinishRefreshParams{ID: refreshID, Status: "succeeded", Statements: st}
	if code != "" {
		p.Status, p.ErrorCode, p.Error = "failed", &code, &message
	} else if p.Results, err = json.Marshal(results); err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := s.queries().FinishRefresh(ctx, p); err != nil {
		return fmt.Errorf("finish refresh %d: %w", refreshID, err)
	}
	return nil
}

func toRefresh(r db.ExperimentResult) model.Refresh {
	return model.Refresh{ID: r.ID, JobID: r.JobID, Status: r.Status, ErrorCode: r.ErrorCode, Error: r.Error,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, DurationMS: r.DurationMs, Inputs: r.Inputs,
		Statements: r.Statements, Results: r.Results}
}

// Results returns the latest successful results and the last limit
// refreshes of an experiment.
func (s *Store) Results(ctx context.Context, projectKey, key string, limit int) (model.ResultsPage, error) {
	id, err := s.ExperimentID(ctx, projectKey, key)
	if err != nil {
		return model.ResultsPage{}, err
	}
	// One snapshot for both reads: a refresh finishing between them would
	// otherwise show as succeeded in the history while latest still lacks it.
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return model.ResultsPage{}, fmt.Errorf("begin results read: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	q := db.New(tx)
	out := model.ResultsPage{History: []model.Refresh{}}
	latest, err := q.LatestResult(ctx, id)
	switch {
	case isNoRows(err):
	case err != nil:
		return out, fmt.Errorf("latest result: %w", err)
	default:
		r := toRefresh(latest)
		out.Latest = &r
	}
	rows, err := q.ResultHistory(ctx, db.ResultHistoryParams{ExperimentID: id, Limit: int32(limit)})
	if err != nil {
		return out, fmt.Errorf("result history: %w", err)
	}
	for _, r := range rows {
		out.History = append(out.History, toRefresh(db.ExperimentResult{ID: r.ID, ExperimentID: r.ExperimentID, JobID: r.JobID,
			Status: r.Status, ErrorCode: r.ErrorCode, Error: r.Error, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
			DurationMs: r.DurationMs, Inputs: r.Inputs, Statements: r.Statements}))
	}
	return out, nil
}

// ExperimentsForExposures lists the experiments the nightly exposures job
// covers: running ones and those stopped in the last two days.
func (s *Store) ExperimentsForExposures(ctx context.Context) ([]int64, error) {
	ids, err := s.queries().ExperimentsForExposures(ctx)
	if err != nil {
		return nil, fmt.Errorf("experiments for exposures: %w", err)
	}
	return ids, nil
}

// UpsertExposureDays writes daily counts in one transaction; rows whose
// counts did not change are left untouched. It returns how many changed.
func (s *Store) UpsertExposureDays(ctx context.Context, experimentID int64, days []analysis.Day) (int64, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	q := db.New(tx)
	var changed int64
	for _, d := range days {
		n, err := q.UpsertExposureDay(ctx, db.UpsertExposureDayParams{ExperimentID: experimentID, Variant: d.Variant,
			Day: pgtype.Date{Time: d.Day, Valid: true}, NewUsers: d.NewUsers, TotalUsers: d.TotalUsers})
		if err != nil {
			return 0, fmt.Errorf("upsert exposures %s %s: %w", d.Variant, d.Day.Format(time.DateOnly), err)
		}
		changed += n
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit exposures: %w", err)
	}
	return changed, nil
}

// ExposureDays returns an experiment's daily counts (by id).
func (s *Store) ExposureDays(ctx context.Context, experimentID int64) ([]analysis.Day, error) {
	rows, err := s.queries().ListExposureDays(ctx, experimentID)
	if err != nil {
		return nil, fmt.Errorf("exposure days: %w", err)
	}
	out := make([]analysis.Day, len(rows))
	for i, r := range rows {
		out[i] = analysis.Day{Variant: r.Variant, Day: r.Day.Time, NewUsers: r.NewUsers, TotalUsers: r.TotalUsers}
	}
	return out, nil
}

// ExposureSeries returns the chart data of an experiment.
func (s *Store) ExposureSeries(ctx context.Context, projectKey, key string) ([]model.ExposureDay, error) {
	id, err := s.ExperimentID(ctx, projectKey, key)
	if err != nil {
		return nil, err
	}
	days, err := s.ExposureDays(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]model.ExposureDay, len(days))
	for i, d := range days {
		out[i] = model.ExposureDay{Variant: d.Variant, Day: d.Day.Format(time.DateOnly), NewUsers: d.NewUsers, TotalUsers: d.TotalUsers}
	}
	return out, nil
}
