package analysis

import (
	"context"
	"fmt"
	"time"

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
func DailyExposures(ctx context.Context, db metricsql.DB, exposuresSQL, experimentKey string, variants []string,
	started time.Time, stopped *time.Time, now time.Time, timeout time.Duration) ([]Day, error) {
	first, last, end, ok := ExposureWindow(started, stopped, now)
	if !ok {
		return nil, nil
	}
	q, err := metricsql.ValidateFor(db.Dialect(), exposuresSQL)
	if err != nil {
		return nil, fmt.Errorf("exposures query: %w", err)
	}
	sql, args := db.Dialect().DailyExposures(q, experimentKey, end)
	counts := map[string]map[time.Time]int64{}
	order := append([]string{}, variants...)
	known := map[string]bool{}
	for _, v := range variants {
		known[v] = true
	}
	_, rows, err := db.Query(ctx, timeout, sql, args)
	if err != nil {
		return nil, fmt.Errorf("daily exposures of %q: %w", experimentKey, err)
	}
	for _, r := range rows {
		v, ok := metricsql.Text(r[0])
		day, err1 := metricsql.Float(r[1])
		n, err2 := metricsql.Float(r[2])
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("daily exposures of %q: unexpected row %v", experimentKey, r)
		}
		d := time.Unix(int64(day)*86400, 0).UTC()
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
		counts[v][d] += int64(n)
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
