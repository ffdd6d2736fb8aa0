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
	return s.AnalysisPlanFor(ctx, id, now, model.AnalysisWindow{})
}

// AnalysisPlanFor is AnalysisPlan for a chosen window: a phase by number,
// or an explicit start and end (a draft's refresh is then a preview).
func (s *Store) AnalysisPlanFor(ctx context.Context, id int64, now time.Time, w model.AnalysisWindow) (analysis.Plan, eventsdb.Target, error) {
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
	weights := x.Weights
	// Results are per phase: the latest one by default (its start, end and
	// split), or the one asked for; a draft has none.
	ph, err := q.LatestPhase(ctx, x.ID)
	if w.Phase != nil {
		ph, err = q.GetPhase(ctx, db.GetPhaseParams{ExperimentID: x.ID, Number: int32(*w.Phase)})
		if isNoRows(err) {
			return p, t, errs.Invalid("phase", "experiment %q has no phase %d", x.Key, *w.Phase)
		}
	}
	switch {
	case isNoRows(err):
	case err != nil:
		return p, t, fmt.Errorf("phase: %w", err)
	default:
		start := ph.StartedAt
		p.Phase, p.Window, p.StartedAt, p.StoppedAt, weights = int(ph.Number), "phase", &start, ph.EndedAt, ph.Weights
		if ph.EndedAt != nil {
			p.AnalysisEnd = *ph.EndedAt
		}
	}
	if w.Start != nil {
		start := w.Start.UTC()
		p.Window, p.StartedAt = "explicit", &start
		if w.End != nil && w.End.Before(p.AnalysisEnd) {
			end := w.End.UTC()
			p.StoppedAt, p.AnalysisEnd = &end, end
		}
	}
	p.Preview = x.Status == "draft"
	var ws []model.Weight
	if err := json.Unmarshal(weights, &ws); err != nil {
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
		if m.DenominatorSql != nil && m.DenominatorType != nil {
			am.Denominator = &metricsql.Denominator{SQL: *m.DenominatorSql, Type: stats.MetricType(*m.DenominatorType)}
		}
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
	set, err := analysisSettings(ctx, q, x.ID)
	if err != nil {
		return p, t, err
	}
	p.Settings = analysis.Settings{Sequential: set.Sequential, SequentialTuning: set.SequentialTuning, CUPED: set.CUPED,
		CUPEDWindowDays: set.CUPEDWindowDays, Bayesian: set.Bayesian,
		Prior:      stats.Prior{Proper: set.PriorProper, Mean: set.PriorMean, StdDev: set.PriorStdDev},
		Correction: set.Correction, Dimension: set.Dimension}
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

// RefreshProgress records how many of a running refresh's metric
// statements are done, out of total.
func (s *Store) RefreshProgress(ctx context.Context, refreshID int64, done, total int) error {
	total32 := int32(total)
	if err := s.queries().SetRefreshProgress(ctx, db.SetRefreshProgressParams{ID: refreshID, MetricsDone: int32(done), MetricsTotal: &total32}); err != nil {
		return fmt.Errorf("refresh %d progress: %w", refreshID, err)
	}
	return nil
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
		h := toRefresh(db.ExperimentResult{ID: r.ID, ExperimentID: r.ExperimentID, JobID: r.JobID,
			Status: r.Status, ErrorCode: r.ErrorCode, Error: r.Error, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
			DurationMs: r.DurationMs, Inputs: r.Inputs, Statements: r.Statements})
		if r.JobID != nil {
			h.URL = refreshURL(projectKey, key, *r.JobID)
		}
		out.History = append(out.History, h)
	}
	if out.Latest != nil && out.Latest.JobID != nil {
		out.Latest.URL = refreshURL(projectKey, key, *out.Latest.JobID)
	}
	return out, nil
}

func refreshURL(projectKey, key string, jobID int64) string {
	return fmt.Sprintf("/api/v1/projects/%s/experiments/%s/refreshes/%d", projectKey, key, jobID)
}

// RefreshStatus returns where results refresh job jobID of an experiment
// is: queued or running in River, or its recorded outcome with the
// results. A job of another experiment is not found.
func (s *Store) RefreshStatus(ctx context.Context, projectKey, key string, jobID int64) (model.RefreshStatus, error) {
	id, err := s.ExperimentID(ctx, projectKey, key)
	if err != nil {
		return model.RefreshStatus{}, err
	}
	out := model.RefreshStatus{JobID: jobID}
	r, err := s.queries().RefreshByJob(ctx, db.RefreshByJobParams{ExperimentID: id, JobID: &jobID})
	switch {
	case err == nil:
		ref := toRefresh(r)
		ref.URL = refreshURL(projectKey, key, jobID)
		out.State, out.Refresh, out.Error, out.Results = r.Status, &ref, r.Error, r.Results
		if r.MetricsTotal != nil {
			done, total := int(r.MetricsDone), int(*r.MetricsTotal)
			if r.Status == "succeeded" {
				done = total
			}
			out.Progress = &model.Progress{Done: done, Total: total}
			ref.Progress = out.Progress
		}
		ms := time.Since(r.StartedAt).Milliseconds()
		if r.DurationMs != nil {
			ms = *r.DurationMs
		}
		out.DurationMS = &ms
		return out, nil
	case !isNoRows(err):
		return out, fmt.Errorf("refresh of job %d: %w", jobID, err)
	}
	// Not started yet (or it ended without a record): ask River. Its
	// table is not part of the sqlc schema, hence the plain query.
	var state string
	var expID int64
	var lastErr *string
	err = s.pool.QueryRow(ctx, `SELECT state::text, coalesce((args->>'experiment_id')::bigint, 0),
	       errors[array_upper(errors, 1)]->>'error'
	  FROM river_job WHERE id = $1 AND kind = 'experiment_results'`, jobID).Scan(&state, &expID, &lastErr)
	if isNoRows(err) || (err == nil && expID != id) {
		return out, errs.NotFound("refresh job %d of experiment %q", jobID, key)
	}
	if err != nil {
		return out, fmt.Errorf("river job %d: %w", jobID, err)
	}
	switch state {
	case "running":
		out.State = "running"
	case "completed", "cancelled", "discarded":
		out.State = "failed"
		if lastErr == nil {
			msg := "the job ended without recording a refresh (was the experiment deleted?)"
			lastErr = &msg
		}
		out.Error = lastErr
	default: // available, scheduled, retryable, pending
		out.State = "queued"
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
	today := time.Now().UTC().Truncate(24 * time.Hour)
	for i, d := range days {
		out[i] = model.ExposureDay{Variant: d.Variant, Day: d.Day.Format(time.DateOnly), NewUsers: d.NewUsers, TotalUsers: d.TotalUsers,
			Partial: !d.Day.Before(today)}
	}
	return out, nil
}
