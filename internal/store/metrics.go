package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/eventsdb"
	"github.com/waypost/waypost/internal/metricsql"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/stats"
)

func toMetric(m db.Metric, connKey string) model.Metric {
	out := model.Metric{Key: m.Key, Name: m.Name, Description: m.Description, Type: m.Type, SQL: m.Sql,
		Connection: connKey, ConversionWindowHours: m.ConversionWindowHours, Direction: m.Direction,
		Guardrail: m.Guardrail, Version: m.Version, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
	if m.CapKind != nil && m.CapValue != nil {
		out.Cap = &model.Cap{Kind: *m.CapKind, Value: *m.CapValue}
	}
	if m.DenominatorSql != nil && m.DenominatorType != nil {
		out.Denominator = &model.Denominator{Type: *m.DenominatorType, SQL: *m.DenominatorSql}
	}
	return out
}

func metricFromGet(r db.GetMetricRow) model.Metric {
	return toMetric(db.Metric{ID: r.ID, ProjectID: r.ProjectID, ConnectionID: r.ConnectionID, Key: r.Key, Name: r.Name,
		Description: r.Description, Type: r.Type, Sql: r.Sql, ConversionWindowHours: r.ConversionWindowHours,
		Direction: r.Direction, CapKind: r.CapKind, CapValue: r.CapValue, Guardrail: r.Guardrail, Version: r.Version,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, DenominatorSql: r.DenominatorSql, DenominatorType: r.DenominatorType}, r.ConnectionKey)
}

// ListMetrics returns a project's metrics.
func (s *Store) ListMetrics(ctx context.Context, projectKey string) ([]model.Metric, error) {
	q := s.queries()
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return nil, err
	}
	rows, err := q.ListMetrics(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("list metrics: %w", err)
	}
	out := make([]model.Metric, len(rows))
	for i, r := range rows {
		out[i] = metricFromGet(db.GetMetricRow(r))
	}
	return out, nil
}

// GetMetric returns one metric.
func (s *Store) GetMetric(ctx context.Context, projectKey, key string) (model.Metric, error) {
	q := s.queries()
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return model.Metric{}, err
	}
	r, err := q.GetMetric(ctx, db.GetMetricParams{ProjectID: p.ID, Key: key})
	if isNoRows(err) {
		return model.Metric{}, errs.NotFound("metric %q", key)
	}
	if err != nil {
		return model.Metric{}, fmt.Errorf("get metric: %w", err)
	}
	return metricFromGet(r), nil
}

// checkMetric prepares the metric query on its events database and checks
// its columns for the metric type.
func (s *Store) checkMetric(ctx context.Context, t eventsdb.Target, typ, sql string) error {
	return eventsdb.With(ctx, t, s.builtin, func(ctx context.Context, db metricsql.DB) error {
		if err := metricsql.CheckMetricQuery(ctx, db, sql, stats.MetricType(typ), t.StatementTimeout); err != nil {
			return eventsdb.InvalidQuery("sql", err)
		}
		return nil
	})
}

func capParams(c *model.Cap) (*string, *float64) {
	if c == nil {
		return nil, nil
	}
	k, v := c.Kind, c.Value
	return &k, &v
}

// SaveMetric creates (create true) or replaces a metric after checking its
// query against the events database.
func (s *Store) SaveMetric(ctx context.Context, projectKey, key string, in model.SaveMetric, create bool) (model.Metric, error) {
	if !create {
		in.Key = key
	}
	if err := in.Validate(); err != nil {
		return model.Metric{}, err
	}
	t, err := s.ConnectionTargetByKey(ctx, projectKey, in.Connection)
	if err != nil {
		if e, ok := errs.As(err); ok && e.Kind == errs.KindNotFound {
			return model.Metric{}, errs.Invalid("connection", "%s", e.Message)
		}
		return model.Metric{}, err
	}
	if err := s.checkMetric(ctx, t, in.Type, in.SQL); err != nil {
		return model.Metric{}, err
	}
	var denSQL, denType *string
	if d := in.Denominator; d != nil {
		if err := s.checkMetric(ctx, t, d.Type, d.SQL); err != nil {
			if e, ok := errs.As(err); ok && e.Field == "sql" {
				e.Field = "denominator.sql"
			}
			return model.Metric{}, err
		}
		denSQL, denType = &d.SQL, &d.Type
	}
	capKind, capValue := capParams(in.Cap)
	err = s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		setDenominator := func() error {
			return mapErr(q.SetMetricDenominator(ctx, db.SetMetricDenominatorParams{ProjectID: p.ID, Key: in.Key,
				DenominatorSql: denSQL, DenominatorType: denType}))
		}
		if create {
			_, err = q.CreateMetric(ctx, db.CreateMetricParams{ProjectID: p.ID, ConnectionID: t.ID, Key: in.Key, Name: in.Name,
				Description: in.Description, Type: in.Type, Sql: in.SQL, ConversionWindowHours: in.ConversionWindowHours,
				Direction: in.Direction, CapKind: capKind, CapValue: capValue, Guardrail: in.Guardrail})
			if err != nil {
				return mapErr(err)
			}
			return setDenominator()
		}
		n, err := q.UpdateMetric(ctx, db.UpdateMetricParams{ProjectID: p.ID, Key: key, ConnectionID: t.ID, Name: in.Name,
			Description: in.Description, Type: in.Type, Sql: in.SQL, ConversionWindowHours: in.ConversionWindowHours,
			Direction: in.Direction, CapKind: capKind, CapValue: capValue, Guardrail: in.Guardrail})
		if err != nil {
			return mapErr(fmt.Errorf("update metric: %w", err))
		}
		if n == 0 {
			return errs.NotFound("metric %q", key)
		}
		return setDenominator()
	})
	if err != nil {
		return model.Metric{}, err
	}
	return s.GetMetric(ctx, projectKey, in.Key)
}

// DeleteMetric removes a metric no experiment uses.
func (s *Store) DeleteMetric(ctx context.Context, projectKey, key string) error {
	return s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		m, err := q.GetMetric(ctx, db.GetMetricParams{ProjectID: p.ID, Key: key})
		if isNoRows(err) {
			return errs.NotFound("metric %q", key)
		}
		if err != nil {
			return fmt.Errorf("get metric: %w", err)
		}
		used, err := q.MetricInUse(ctx, m.ID)
		if err != nil {
			return fmt.Errorf("metric in use: %w", err)
		}
		if used {
			return &errs.Error{Kind: errs.KindConflict, Code: "in_use", Message: "metric " + key + " is used by an experiment"}
		}
		_, err = q.DeleteMetric(ctx, m.ID)
		return err
	})
}

// QueryPreview is the answer of "test query": the column check and the
// first rows (values as JSON).
type QueryPreview struct {
	OK       bool                `json:"ok"`
	Problems []string            `json:"problems"`
	Columns  []string            `json:"columns"`
	Rows     [][]json.RawMessage `json:"rows"`
	Duration float64             `json:"duration_ms"`
}

// MaxPreviewBytes bounds the values (as sent by the database) of a "test
// query" preview.
const MaxPreviewBytes = 256 << 10

var errPreviewTooLarge = errors.New("preview too large")

// TestMetricQuery runs a metric query (read-only, with the connection's
// statement timeout) and returns its first rows and the column check. A
// query the database refuses is a 422 with the database's message.
func (s *Store) TestMetricQuery(ctx context.Context, projectKey string, in model.TestMetric) (QueryPreview, error) {
	if err := in.Validate(); err != nil {
		return QueryPreview{}, err
	}
	t, err := s.ConnectionTargetByKey(ctx, projectKey, in.Connection)
	if err != nil {
		return QueryPreview{}, err
	}
	out := QueryPreview{Problems: []string{}, Columns: []string{}, Rows: [][]json.RawMessage{}}
	start := time.Now()
	err = eventsdb.With(ctx, t, s.builtin, func(ctx context.Context, edb metricsql.DB) error {
		sql, err := metricsql.ValidateFor(edb.Dialect(), in.SQL)
		if err != nil {
			return err
		}
		q, args := edb.Dialect().Preview(sql, in.Limit)
		// The bound applies while the rows stream in: the statement stops
		// at the row that crosses it, nothing larger is ever held.
		size := 0
		fields, err := metricsql.Each(ctx, edb, t.StatementTimeout, q, args, MaxPreviewBytes, func(vals []any) error {
			row := make([]json.RawMessage, len(vals))
			for i, v := range vals {
				b, err := json.Marshal(v)
				if err != nil {
					b, _ = json.Marshal(fmt.Sprint(v))
				}
				row[i] = b
				if size += len(b); size > MaxPreviewBytes {
					return errPreviewTooLarge
				}
			}
			out.Rows = append(out.Rows, row)
			return nil
		})
		if err != nil {
			if errors.Is(err, errPreviewTooLarge) || metricsql.ResultTooLarge(err) {
				return errs.Invalid("sql", "the preview is larger than %d KiB: select fewer rows or smaller columns", MaxPreviewBytes>>10)
			}
			return err
		}
		for _, f := range fields {
			out.Columns = append(out.Columns, f.Name)
		}
		if cerr := metricsql.CheckMetricColumns(fields, stats.MetricType(in.Type)); cerr != nil {
			if ce, ok := cerr.(*metricsql.ColumnError); ok {
				out.Problems = ce.Problems
			} else {
				out.Problems = []string{cerr.Error()}
			}
		}
		return nil
	})
	if err != nil {
		return QueryPreview{}, eventsdb.InvalidQuery("sql", err)
	}
	out.OK = len(out.Problems) == 0
	out.Duration = float64(time.Since(start).Microseconds()) / 1000
	return out, nil
}
