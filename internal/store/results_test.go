package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/store"
)

// TestResultsPageIsOneSnapshot: a results page read while refreshes finish
// never shows a succeeded refresh in its history without that refresh (or
// a later one) as the latest results. (Reading the two in separate
// statements made the worker's end-to-end test see a nil latest.)
func TestResultsPageIsOneSnapshot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, _ := dbtest.NewMigrated(t)
	st := store.New(pool)
	_, err := st.CreateFlag(ctx, "default", model.CreateFlag{Key: "f"})
	require.NoError(t, err)
	_, err = st.SaveMetric(ctx, "default", "m", model.SaveMetric{Key: "m", Type: "binomial",
		SQL: `SELECT user_id, "timestamp" FROM events_metric WHERE metric = 'm'`}, true)
	require.NoError(t, err)
	_, err = st.CreateExperiment(ctx, "default", model.SaveExperiment{Key: "x", Flag: "f", Environment: "production",
		PrimaryMetrics: []string{"m"}})
	require.NoError(t, err)
	id, err := st.ExperimentID(ctx, "default", "x")
	require.NoError(t, err)

	const refreshes = 200
	var done atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				page, err := st.Results(ctx, "default", "x", 5)
				if !assertNoErr(t, err) {
					return
				}
				reads.Add(1)
				for _, h := range page.History {
					if h.Status != "succeeded" {
						continue
					}
					if page.Latest == nil || page.Latest.ID < h.ID {
						t.Errorf("history has succeeded refresh %d but latest is %+v", h.ID, page.Latest)
						return
					}
					break
				}
			}
		}()
	}
	for i := 0; i < refreshes; i++ {
		rid, err := st.BeginRefresh(ctx, id, nil, map[string]any{"i": i})
		require.NoError(t, err)
		require.NoError(t, st.FinishRefresh(ctx, rid, []string{}, map[string]any{"i": i}, "", ""))
	}
	done.Store(true)
	wg.Wait()
	require.Positive(t, reads.Load())
}
