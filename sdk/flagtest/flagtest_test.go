package flagtest_test

import (
	"testing"
	"time"

	"github.com/waypost/waypost/sdk/eval"
	"github.com/waypost/waypost/sdk/flagtest"
	"github.com/waypost/waypost/sdk/internal/require"
)

func TestTestDataServesAndUpdatesFlags(t *testing.T) {
	t.Parallel()
	td := flagtest.New(t)
	td.Set("checkout", true)
	td.Set("color", "blue")
	td.SetForUser("color", "vip", "gold")
	td.Set("limit", 3)
	td.Set("banner", map[string]any{"title": "Hi"})
	c := td.Client(t)

	require.True(t, c.Bool("checkout", "anyone", false))
	require.Equal(t, "blue", c.String("color", "u1", "none"))
	v, res := c.StringDetail("color", "vip", "none")
	require.Equal(t, "gold", v)
	require.Equal(t, eval.ReasonTargetingMatch, res.Reason)
	require.EqualValues(t, 3, c.Int("limit", "u1", 0))
	require.Equal(t, "default", c.String("missing", "u1", "default"), "unknown flags give the caller's default")

	// Per-flag change listeners see changes of their flag only.
	changes := make(chan int64, 10)
	cancel := c.OnFlagChange("checkout", func(rev int64) { changes <- rev })
	defer cancel()
	td.Set("color", "green")
	td.Set("checkout", false)
	select {
	case <-changes:
	case <-time.After(10 * time.Second):
		t.Fatal("no change notification for checkout")
	}
	require.False(t, c.Bool("checkout", "anyone", true))
	require.Equal(t, "green", c.String("color", "u1", "none"), "the earlier change arrived first")
	select {
	case rev := <-changes:
		t.Fatalf("a second notification (revision %d) for one change of checkout", rev)
	default:
	}

	td.Disable("color")
	td.Remove("limit")
	require.Eventually(t, func() bool { return c.Int("limit", "u1", -1) == -1 }, 10*time.Second, 5*time.Millisecond)
	_, res = c.StringDetail("color", "vip", "none")
	require.Equal(t, eval.ReasonDisabled, res.Reason)
}
