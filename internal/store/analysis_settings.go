package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/internal/model"
)

func toAnalysisSettings(r db.ExperimentAnalysisSetting) model.AnalysisSettings {
	return model.AnalysisSettings{Sequential: r.Sequential, SequentialTuning: r.SequentialTuning, CUPED: r.Cuped,
		CUPEDWindowDays: r.CupedWindowDays, Bayesian: r.Bayesian, PriorProper: r.PriorProper, PriorMean: r.PriorMean,
		PriorStdDev: r.PriorStdDev, Correction: r.Correction, Dimension: deref(r.Dimension)}
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// analysisSettings returns an experiment's settings, or the defaults when
// it has none.
func analysisSettings(ctx context.Context, q *db.Queries, experimentID int64) (model.AnalysisSettings, error) {
	r, err := q.GetAnalysisSettings(ctx, experimentID)
	if isNoRows(err) {
		return model.DefaultAnalysisSettings(), nil
	}
	if err != nil {
		return model.AnalysisSettings{}, fmt.Errorf("analysis settings of experiment %d: %w", experimentID, err)
	}
	return toAnalysisSettings(r), nil
}

// AnalysisSettings returns how an experiment's results are analysed.
func (s *Store) AnalysisSettings(ctx context.Context, projectKey, key string) (model.AnalysisSettings, error) {
	id, err := s.ExperimentID(ctx, projectKey, key)
	if err != nil {
		return model.AnalysisSettings{}, err
	}
	return analysisSettings(ctx, s.queries(), id)
}

// SaveAnalysisSettings validates and stores an experiment's settings; they
// apply from the next refresh.
func (s *Store) SaveAnalysisSettings(ctx context.Context, projectKey, key string, in model.AnalysisSettings) (model.AnalysisSettings, error) {
	if err := in.Validate(); err != nil {
		return model.AnalysisSettings{}, err
	}
	id, err := s.ExperimentID(ctx, projectKey, key)
	if err != nil {
		return model.AnalysisSettings{}, err
	}
	err = s.change(ctx, func(q *db.Queries) error {
		return mapErr(q.UpsertAnalysisSettings(ctx, db.UpsertAnalysisSettingsParams{ExperimentID: id, Sequential: in.Sequential,
			SequentialTuning: in.SequentialTuning, Cuped: in.CUPED, CupedWindowDays: in.CUPEDWindowDays, Bayesian: in.Bayesian,
			PriorProper: in.PriorProper, PriorMean: in.PriorMean, PriorStdDev: in.PriorStdDev, Correction: in.Correction,
			Dimension: nilIfEmpty(in.Dimension)}))
	})
	if err != nil {
		return model.AnalysisSettings{}, err
	}
	return analysisSettings(ctx, s.queries(), id)
}

// ResultsOverTime returns, per metric and treatment, the headline effect
// of each UTC day's last successful refresh, in day order.
func (s *Store) ResultsOverTime(ctx context.Context, projectKey, key string) ([]model.ResultPoint, error) {
	id, err := s.ExperimentID(ctx, projectKey, key)
	if err != nil {
		return nil, err
	}
	rows, err := s.queries().ResultsOverTime(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("results over time of experiment %d: %w", id, err)
	}
	out := make([]model.ResultPoint, 0, len(rows))
	for _, r := range rows {
		p := model.ResultPoint{Day: r.AnalysisEnd.UTC().Format("2006-01-02"), AnalysisEnd: r.AnalysisEnd, RefreshID: r.RefreshID,
			Metric: r.Metric, Variant: r.Variant, Method: r.Method, Status: r.Status}
		var n struct {
			RelativeEffect *float64 `json:"relative_effect"`
			Low            *float64 `json:"relative_ci_low"`
			High           *float64 `json:"relative_ci_high"`
			AbsoluteEffect *float64 `json:"absolute_effect"`
			PValue         *float64 `json:"p_value"`
		}
		if err := json.Unmarshal(r.Numbers, &n); err != nil {
			return nil, fmt.Errorf("results over time: %w", err)
		}
		p.RelativeEffect, p.RelativeCILow, p.RelativeCIHigh, p.AbsoluteEffect, p.PValue = n.RelativeEffect, n.Low, n.High, n.AbsoluteEffect, n.PValue
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].AnalysisEnd.Before(out[j].AnalysisEnd) })
	return out, nil
}
