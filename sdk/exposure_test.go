package waypost

import (
	"sync"
	"testing"

	"github.com/waypost/waypost/sdk/eval"
	"github.com/waypost/waypost/sdk/internal/require"
)

// experimentSet has "exp" (everybody in experiment "exp-key") and a plain
// rollout "plain".
func experimentSet() eval.FlagSet {
	exp := boolFlag("exp", 5000, 3)
	exp.Experiment = &eval.Experiment{Key: "exp-key", Traffic: eval.Buckets}
	return flagSet(1, exp, boolFlag("plain", 5000, 1))
}

func TestExposureOncePerUserAndExperiment(t *testing.T) {
	var (
		mu  sync.Mutex
		got []Exposure
	)
	set := experimentSet()
	c, err := New(t.Context(), Config{
		Offline: true, Bootstrap: &set, Logger: testLogger(t),
		OnExposure: func(e Exposure) { mu.Lock(); got = append(got, e); mu.Unlock() },
	})
	require.NoError(t, err)
	users := []string{"user-1", "user-2", "user-3"}
	want := map[string]string{}
	for range 5 {
		for _, u := range users {
			_, r := c.BoolDetail("exp", u, false)
			require.Equal(t, "exp-key", r.ExperimentKey)
			want[u] = r.Variant
			c.Bool("plain", u, false)
			c.Bool("exp", "", false) // anonymous: not in the experiment
		}
	}
	require.NoError(t, c.Close()) // delivers what is queued

	require.Len(t, got, len(users))
	for _, e := range got {
		require.Equal(t, "exp-key", e.ExperimentKey)
		require.Equal(t, "exp", e.FlagKey)
		require.Equal(t, "test", e.Environment)
		require.Equal(t, want[e.UserID], e.Variant)
		require.False(t, e.Timestamp.IsZero())
		delete(want, e.UserID)
	}
	require.Empty(t, want)
	require.Zero(t, c.DroppedExposures())
}

func TestExposureDroppedWhenQueueFullAndOfferedAgain(t *testing.T) {
	entered := make(chan string, 8)
	release := make(chan struct{})
	set := experimentSet()
	c, err := New(t.Context(), Config{
		Offline: true, Bootstrap: &set, Logger: testLogger(t), ExposureBuffer: 1,
		OnExposure: func(e Exposure) { entered <- e.UserID; <-release },
	})
	require.NoError(t, err)

	c.Bool("exp", "u1", false)
	require.Equal(t, "u1", <-entered) // the hook is busy with u1
	c.Bool("exp", "u2", false)        // queued
	c.Bool("exp", "u3", false)        // queue full: dropped, never blocks
	require.EqualValues(t, 1, c.DroppedExposures())

	close(release)
	require.Equal(t, "u2", <-entered)
	c.Bool("exp", "u3", false) // offered again
	require.Equal(t, "u3", <-entered)
	c.Bool("exp", "u3", false)
	require.NoError(t, c.Close())
	require.Empty(t, entered)
}

func TestDedupeSetIsBounded(t *testing.T) {
	d := newDedupeSet(dedupeShards * 2) // two entries per shard
	var hs []uint64
	for i := range 1000 {
		h := d.hash("e", string(rune('a'+i%26))+string(rune(i)))
		hs = append(hs, h)
		d.add(h)
	}
	total := 0
	for i := range d.shards {
		require.LessOrEqual(t, len(d.shards[i].idx), 2)
		total += len(d.shards[i].idx)
	}
	require.LessOrEqual(t, total, dedupeShards*2)
	// The most recent entry is remembered.
	require.False(t, d.add(hs[len(hs)-1]))
}

func TestExposureRepeatDoesNotAllocate(t *testing.T) {
	set := experimentSet()
	c, err := New(t.Context(), Config{
		Offline: true, Bootstrap: &set, Logger: testLogger(t), OnExposure: func(Exposure) {},
	})
	require.NoError(t, err)
	defer c.Close()
	c.Bool("exp", "user-1", false)
	n := testing.AllocsPerRun(100, func() { c.Bool("exp", "user-1", false) })
	require.Zero(t, n)
}
