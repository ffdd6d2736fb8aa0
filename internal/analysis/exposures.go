package analysis

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waypost/waypost/internal/metricsql"
)

// Day is the daily exposure count of one variant: users whose first
// exposure (UTC) fell on Day, attributed to the variant of that first
// exposure, and the running total.
type Day struct {
	Variant    string
	Day        time.Time
	NewUsers   int64
	TotalUsers int64
}

// ExposureWindow returns the days a daily-exposures run covers: from the
// start day up to now (today's partial day included, so "count now"
// counts up to now and the chart's last point matches the results), or to
// the stop time for a stopped experiment. end is exclusive (an instant);
// ok is false when the window is empty.
func ExposureWindow(started time.Time, stopped *time.Time, now time.Time) (first, last time.Time, end time.Time, ok bool) {
	first = started.UTC().Truncate(24 * time.Hour)
	end = now.UTC()
	if stopped != nil && stopped.Before(end) {
		end = *stopped
	}
	last = end.Add(-time.Nanosecond).UTC().Truncate(24 * time.Hour)
	return first, last, end, !last.Before(first)
}

// DailyExposures counts, per variant and UTC day in [started day, end),
// the users newly exposed, with one statement on the events database
// (read-only, with the statement timeout). Users first exposed before the
// start day count on the start day. Every (variant, day) of the window is
// returned, zeros included, in day then variant order.
func DailyExposures(ctx context.Context, db metricsql.Beginner, exposuresSQL, experimentKey string, variants []string,
	started time.Time, stopped *time.Time, now time.Time, timeout time.Duration) ([]Day, error) {
	first, last, end, ok := ExposureWindow(started, stopped, now)
	if !ok {
		return nil, nil
	}
	q, err := metricsql.ValidateQuery(exposuresSQL)
	if err != nil {
		return nil, fmt.Errorf("exposures query: %w", err)
	}
	sql := `WITH wp_exposures AS (
` + q + `
),
wp_first AS (
  SELECT DISTINCT ON (user_id) user_id, variant, "timestamp" AS first_exposure
  FROM wp_exposures
  WHERE experiment_key = $1::text AND "timestamp" < $2::timestamptz
    AND user_id IS NOT NULL AND variant IS NOT NULL
  ORDER BY user_id, "timestamp", variant
)
SELECT variant::text, (first_exposure AT TIME ZONE 'UTC')::date AS day, count(*)::bigint
FROM wp_first GROUP BY 1, 2`
	counts := map[string]map[time.Time]int64{}
	order := append([]string{}, variants...)
	known := map[string]bool{}
	for _, v := range variants {
		known[v] = true
	}
	err = metricsql.ReadOnly(ctx, db, timeout, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, experimentKey, end)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v string
			var d time.Time
			var n int64
			if err := rows.Scan(&v, &d, &n); err != nil {
				return err
			}
			d = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
			if d.Before(first) {
				d = first
			}
			if !known[v] {
				known[v] = true
				order = append(order, v)
			}
			if counts[v] == nil {
				counts[v] = map[time.Time]int64{}
			}
			counts[v][d] += n
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("daily exposures of %q: %w", experimentKey, err)
	}
	var out []Day
	totals := map[string]int64{}
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		for _, v := range order {
			n := counts[v][d]
			totals[v] += n
			out = append(out, Day{Variant: v, Day: d, NewUsers: n, TotalUsers: totals[v]})
		}
	}
	return out, nil
}
