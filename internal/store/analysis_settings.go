package store

import (
	"context"
	"fmt"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/internal/model"
)

func toAnalysisSettings(r db.ExperimentAnalysisSetting) model.AnalysisSettings {
	return model.AnalysisSettings{Sequential: r.Sequential, SequentialTuning: r.SequentialTuning, CUPED: r.Cuped,
		CUPEDWindowDays: r.CupedWindowDays, Bayesian: r.Bayesian, PriorProper: r.PriorProper, PriorMean: r.PriorMean,
		PriorStdDev: r.PriorStdDev, Correction: r.Correction}
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
			PriorProper: in.PriorProper, PriorMean: in.PriorMean, PriorStdDev: in.PriorStdDev, Correction: in.Correction}))
	})
	if err != nil {
		return model.AnalysisSettings{}, err
	}
	return analysisSettings(ctx, s.queries(), id)
}
