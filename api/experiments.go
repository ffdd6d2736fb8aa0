package api

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/stats"
)

// Jobs enqueues the experiment jobs (River); set with SetJobs.
type Jobs interface {
	RefreshResults(ctx context.Context, experimentID int64, w model.AnalysisWindow) (model.Job, error)
	RefreshExposures(ctx context.Context, experimentID int64) (model.Job, error)
}

// SetJobs makes the refresh endpoints enqueue with j. Without it they
// answer 503.
func (s *Server) SetJobs(j Jobs) { s.jobs = j }

var (
	pProject    = []string{"project"}
	pConnection = []string{"project", "connection"}
	pMetric     = []string{"project", "metric"}
	pExperiment = []string{"project", "experiment"}
)

// ---- connections ----

func (s *Server) listConnections() http.HandlerFunc {
	return s.handle(200, pProject, func(r *http.Request, k []string) (any, error) {
		cs, err := s.store.ListConnections(r.Context(), k[0])
		return page[model.Connection]{Items: cs}, err
	})
}

func (s *Server) createConnection() http.HandlerFunc {
	return bodyHandler(s, 201, pProject, func(r *http.Request, k []string, in model.SaveConnection) (any, error) {
		return s.store.CreateConnection(r.Context(), k[0], in)
	})
}

func (s *Server) getConnection() http.HandlerFunc {
	return s.handle(200, pConnection, func(r *http.Request, k []string) (any, error) {
		return s.store.GetConnection(r.Context(), k[0], k[1])
	})
}

func (s *Server) updateConnection() http.HandlerFunc {
	return bodyHandler(s, 200, pConnection, func(r *http.Request, k []string, in model.SaveConnection) (any, error) {
		return s.store.UpdateConnection(r.Context(), k[0], k[1], in)
	})
}

func (s *Server) deleteConnection() http.HandlerFunc {
	return s.handle(204, pConnection, func(r *http.Request, k []string) (any, error) {
		return nil, s.store.DeleteConnection(r.Context(), k[0], k[1])
	})
}

func (s *Server) testConnection() http.HandlerFunc {
	return s.handle(200, pConnection, func(r *http.Request, k []string) (any, error) {
		warnings, err := s.store.TestConnection(r.Context(), k[0], k[1])
		if err != nil {
			return nil, err
		}
		return map[string]any{"ok": true, "warnings": warnings}, nil
	})
}

// ---- metrics ----

func (s *Server) listMetrics() http.HandlerFunc {
	return s.handle(200, pProject, func(r *http.Request, k []string) (any, error) {
		ms, err := s.store.ListMetrics(r.Context(), k[0])
		return page[model.Metric]{Items: ms}, err
	})
}

func (s *Server) createMetric() http.HandlerFunc {
	return bodyHandler(s, 201, pProject, func(r *http.Request, k []string, in model.SaveMetric) (any, error) {
		return s.store.SaveMetric(r.Context(), k[0], "", in, true)
	})
}

func (s *Server) getMetric() http.HandlerFunc {
	return s.handle(200, pMetric, func(r *http.Request, k []string) (any, error) {
		return s.store.GetMetric(r.Context(), k[0], k[1])
	})
}

func (s *Server) updateMetric() http.HandlerFunc {
	return bodyHandler(s, 200, pMetric, func(r *http.Request, k []string, in model.SaveMetric) (any, error) {
		return s.store.SaveMetric(r.Context(), k[0], k[1], in, false)
	})
}

func (s *Server) deleteMetric() http.HandlerFunc {
	return s.handle(204, pMetric, func(r *http.Request, k []string) (any, error) {
		return nil, s.store.DeleteMetric(r.Context(), k[0], k[1])
	})
}

func (s *Server) testMetric() http.HandlerFunc {
	return bodyHandler(s, 200, pProject, func(r *http.Request, k []string, in model.TestMetric) (any, error) {
		return s.store.TestMetricQuery(r.Context(), k[0], in)
	})
}

// ---- experiments ----

func (s *Server) listExperiments() http.HandlerFunc {
	return s.handle(200, pProject, func(r *http.Request, k []string) (any, error) {
		xs, err := s.store.ListExperiments(r.Context(), k[0])
		return page[model.Experiment]{Items: xs}, err
	})
}

func (s *Server) createExperiment() http.HandlerFunc {
	return bodyHandler(s, 201, pProject, func(r *http.Request, k []string, in model.SaveExperiment) (any, error) {
		return s.store.CreateExperiment(r.Context(), k[0], in)
	})
}

func (s *Server) getExperiment() http.HandlerFunc {
	return s.handle(200, pExperiment, func(r *http.Request, k []string) (any, error) {
		return s.store.GetExperiment(r.Context(), k[0], k[1])
	})
}

func (s *Server) updateExperiment() http.HandlerFunc {
	return bodyHandler(s, 200, pExperiment, func(r *http.Request, k []string, in model.SaveExperiment) (any, error) {
		return s.store.UpdateExperiment(r.Context(), k[0], k[1], in)
	})
}

func (s *Server) deleteExperiment() http.HandlerFunc {
	return s.handle(204, pExperiment, func(r *http.Request, k []string) (any, error) {
		return nil, s.store.DeleteExperiment(r.Context(), k[0], k[1])
	})
}

func (s *Server) startExperiment() http.HandlerFunc {
	return s.handle(200, pExperiment, func(r *http.Request, k []string) (any, error) {
		return s.store.StartExperiment(r.Context(), k[0], k[1])
	})
}

// newPhase ends a running experiment's phase and starts the next with a
// changed plan.
func (s *Server) newPhase() http.HandlerFunc {
	return bodyHandler(s, 200, pExperiment, func(r *http.Request, k []string, in model.NewPhase) (any, error) {
		return s.store.NewPhase(r.Context(), k[0], k[1], in)
	})
}

// stopExperiment takes an optional body {"ship": "variant"}.
func (s *Server) stopExperiment() http.HandlerFunc {
	return s.handle(200, pExperiment, func(r *http.Request, k []string) (any, error) {
		var in model.StopExperiment
		if err := decodeOptional(r, &in); err != nil {
			return nil, err
		}
		return s.store.StopExperiment(r.Context(), k[0], k[1], in)
	})
}

// decodeOptional decodes a JSON body into in when there is one.
func decodeOptional(r *http.Request, in any) error {
	if r.ContentLength == 0 {
		return nil
	}
	if err := decode(nil, r, in); err != nil && !errors.Is(err, io.EOF) && !isEmptyBody(err) {
		return err
	}
	return nil
}

// refreshResults enqueues a results refresh; the optional body chooses a
// phase or an explicit window (model.AnalysisWindow). A draft's refresh
// needs a window start and is a preview of historic data.
func (s *Server) refreshResults() http.HandlerFunc {
	return s.handle(202, pExperiment, func(r *http.Request, k []string) (any, error) {
		var w model.AnalysisWindow
		if err := decodeOptional(r, &w); err != nil {
			return nil, err
		}
		if err := w.Validate(time.Now()); err != nil {
			return nil, err
		}
		if s.jobs == nil {
			return nil, errs.Unavailable("background jobs are not configured on this server", nil)
		}
		x, err := s.store.GetExperiment(r.Context(), k[0], k[1])
		if err != nil {
			return nil, err
		}
		if x.Status == "draft" && w.Start == nil {
			return nil, errs.Invalid("start", "experiment %q is a draft: nothing was assigned by it yet; give a window start to preview historic data", x.Key)
		}
		if w.Phase != nil && *w.Phase > len(x.Phases) {
			return nil, errs.Invalid("phase", "experiment %q has %d phases", x.Key, len(x.Phases))
		}
		id, err := s.store.ExperimentID(r.Context(), k[0], k[1])
		if err != nil {
			return nil, err
		}
		return s.jobs.RefreshResults(r.Context(), id, w)
	})
}

// refreshStatus answers GET .../refreshes/{job}: where that refresh job
// is, and its results once it ran.
func (s *Server) refreshStatus() http.HandlerFunc {
	return s.handle(200, []string{"project", "experiment", "job"}, func(r *http.Request, k []string) (any, error) {
		job, err := strconv.ParseInt(k[2], 10, 64)
		if err != nil || job < 1 {
			return nil, errs.Invalid("job", "must be the job_id a refresh returned")
		}
		return s.store.RefreshStatus(r.Context(), k[0], k[1], job)
	})
}

func isEmptyBody(err error) bool {
	e, ok := errs.As(err)
	return ok && e.Message == "request body is empty; a JSON object is required"
}

func (s *Server) enqueue(which string) http.HandlerFunc {
	return s.handle(202, pExperiment, func(r *http.Request, k []string) (any, error) {
		if s.jobs == nil {
			return nil, errs.Unavailable("background jobs are not configured on this server", nil)
		}
		id, err := s.store.ExperimentID(r.Context(), k[0], k[1])
		if err != nil {
			return nil, err
		}
		return s.jobs.RefreshExposures(r.Context(), id)
	})
}

func (s *Server) experimentResults() http.HandlerFunc {
	return s.handle(200, pExperiment, func(r *http.Request, k []string) (any, error) {
		q := newQuery(r, "limit")
		limit := q.limit()
		if q.err != nil {
			return nil, q.err
		}
		return s.store.Results(r.Context(), k[0], k[1], limit)
	})
}

func (s *Server) experimentExposures() http.HandlerFunc {
	return s.handle(200, pExperiment, func(r *http.Request, k []string) (any, error) {
		days, err := s.store.ExposureSeries(r.Context(), k[0], k[1])
		return map[string]any{"items": days}, err
	})
}

// powerEstimate plans a sample size: users per variant for the MDE, and
// with a traffic rate, the days needed.
func (s *Server) powerEstimate() http.HandlerFunc {
	return bodyHandler(s, 200, pProject, func(r *http.Request, k []string, in model.PowerRequest) (any, error) {
		if _, err := s.store.GetProject(r.Context(), k[0]); err != nil {
			return nil, err
		}
		if err := in.Validate(); err != nil {
			return nil, err
		}
		variance := 0.0
		if in.MetricType == "binomial" {
			variance = in.BaselineMean * (1 - in.BaselineMean)
		} else {
			variance = *in.BaselineVariance
		}
		ss := stats.RequiredSampleSize(stats.SampleSizeInput{ControlMean: in.BaselineMean, ControlVariance: variance,
			TreatmentVariance: variance, MDE: in.MDE, Alpha: in.Alpha, Power: in.Power})
		out := map[string]any{"sample_size": ss}
		if ss.UsersPerVariant != nil {
			total := *ss.UsersPerVariant * int64(in.Variants)
			out["total_users"] = total
			if in.UsersPerDay != nil {
				days := math.Ceil(float64(total) / *in.UsersPerDay)
				out["days"] = days
				out["expected_end"] = time.Now().UTC().Add(time.Duration(days) * 24 * time.Hour).Format(time.DateOnly)
			}
		}
		return out, nil
	})
}

func (s *Server) getAnalysisSettings() http.HandlerFunc {
	return s.handle(200, pExperiment, func(r *http.Request, k []string) (any, error) {
		return s.store.AnalysisSettings(r.Context(), k[0], k[1])
	})
}

// putAnalysisSettings overlays the body on the current settings, so a
// client may send only the fields it changes.
func (s *Server) putAnalysisSettings() http.HandlerFunc {
	return s.handle(200, pExperiment, func(r *http.Request, k []string) (any, error) {
		cur, err := s.store.AnalysisSettings(r.Context(), k[0], k[1])
		if err != nil {
			return nil, err
		}
		if err := decode(nil, r, &cur); err != nil {
			return nil, err
		}
		return s.store.SaveAnalysisSettings(r.Context(), k[0], k[1], cur)
	})
}

func (s *Server) resultsOverTime() http.HandlerFunc {
	return s.handle(200, pExperiment, func(r *http.Request, k []string) (any, error) {
		points, err := s.store.ResultsOverTime(r.Context(), k[0], k[1])
		return map[string]any{"items": points}, err
	})
}
