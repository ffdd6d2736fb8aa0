package worker_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestStrandedJobIsRunAgainWithinMinutes: a job that River marked running
// but no executor has (its worker vanished mid-job, or a database restart
// dropped the reply to the fetch that had already committed) is rescued
// and run again once it has been running for worker.RescueStuckJobsAfter
// (and its kind's own timeout), not River's default hour. Here a
// safe-rollout notification that was delivered is put back as if a worker
// had taken it five minutes ago and vanished: the receiver gets it again,
// with the same delivery id, and the job completes.
func TestStrandedJobIsRunAgainWithinMinutes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	ev := newRolloutEvents(t, h)
	w := h.startRolloutWorker()
	id, _ := setupRollout(t, h, "rollback")
	got := &deliveries{byID: map[string]int{}, events: map[string]string{}}
	onlyReceiver(t, h, got)
	_, err := h.pool.Exec(ctx, `UPDATE safe_rollouts SET stages = '[{"percent": 10, "min_duration_seconds": 0, "min_sample": 20},
	  {"percent": 100}]' WHERE id = $1`, id)
	require.NoError(t, err)
	h.must(200, "POST", "/safe-rollouts/"+rolloutKey+"/start", nil)
	ev.arrive(t, 0.1, 2000, 0.10, errorRate, errorRate)
	require.True(t, w.check(t, id, 1).Applied)

	completed := func() bool {
		var n int
		err := h.pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'safe_rollout_notify' AND state = 'completed'`).Scan(&n)
		return err == nil && n == 1
	}
	require.Eventually(t, completed, 30*time.Second, 50*time.Millisecond, "the notification is delivered")
	counts, _ := got.snapshot()
	require.Len(t, counts, 1)
	delivery := slices.Collect(maps.Keys(counts))[0]

	tag, err := h.pool.Exec(ctx, `UPDATE river_job SET state = 'running', finalized_at = NULL,
	    attempted_at = now() - interval '5 minutes', attempted_by = ARRAY['a-vanished-worker']
	  WHERE kind = 'safe_rollout_notify'`)
	require.NoError(t, err)
	require.EqualValues(t, 1, tag.RowsAffected())

	// The rescuer runs every 30 s on the leader; the retry is due 1 s
	// after the rescue and River's scheduler makes it available within 5 s.
	require.Eventually(t, func() bool {
		c, _ := got.snapshot()
		return len(c) == 1 && c[delivery] == 2
	}, 90*time.Second, 100*time.Millisecond, "the stranded notification is sent again")
	require.Eventually(t, completed, 30*time.Second, 50*time.Millisecond, "and completes")
	counts, _ = got.snapshot()
	require.Len(t, counts, 1, "the same delivery id, for a receiver to deduplicate on")
}
