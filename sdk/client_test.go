package waypost

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/waypost/waypost/sdk/eval"
	"github.com/waypost/waypost/sdk/internal/require"
)

func TestInitialFetchThenStream(t *testing.T) {
	fp := newFakeProvider(t, flagSet(7, boolFlag("a", eval.Buckets, 1)))
	c := newTestClient(t, fp.url(), nil)

	require.NoError(t, c.WaitForReady(t.Context()))
	v, r := c.BoolDetail("a", "user-1", false)
	require.True(t, v)
	require.Equal(t, eval.ReasonStatic, r.Reason)
	require.EqualValues(t, 1, r.FlagVersion)

	s := fp.nextStream()
	require.Equal(t, "7", s.lastEventID, "the stream announces the fetched revision")
	waitState(t, c, StateConnected)
	st := c.Status()
	require.Equal(t, SourceProvider, st.Source)
	require.EqualValues(t, 7, st.Revision)
	flags, streams := fp.counts()
	require.Equal(t, 1, flags)
	require.Equal(t, 1, streams)
}

func TestPutThenPatch(t *testing.T) {
	fp := newFakeProvider(t, flagSet(1, boolFlag("a", eval.Buckets, 1), boolFlag("b", 0, 1)))
	var changes changeRecorder
	c := newTestClient(t, fp.url(), func(cfg *Config) { cfg.OnChange = changes.record })
	require.NoError(t, c.WaitForReady(t.Context()))
	s := fp.nextStream()

	s.send(putEvent(t, flagSet(2, boolFlag("a", 0, 2), boolFlag("b", 0, 1))))
	waitRevision(t, c, 2)
	require.False(t, c.Bool("a", "u", true))

	s.send(patchEventText(t, 2, 3, []eval.Flag{boolFlag("c", eval.Buckets, 1), boolFlag("b", eval.Buckets, 2)}, []string{"a"}))
	waitRevision(t, c, 3)
	_, r := c.BoolDetail("a", "u", true)
	require.Equal(t, eval.ErrorFlagNotFound, r.ErrorCode)
	require.True(t, c.Bool("b", "u", false))
	require.True(t, c.Bool("c", "u", false))

	require.Equal(t, []ChangeEvent{
		{Revision: 2, ChangedKeys: []string{"a"}},
		{Revision: 3, ChangedKeys: []string{"a", "b", "c"}},
	}, changes.get())
	_, streams := fp.counts()
	require.Equal(t, 1, streams, "a matching patch does not reconnect")
}

func TestPatchWithWrongBaseReconnects(t *testing.T) {
	fp := newFakeProvider(t, flagSet(1, boolFlag("a", 0, 1)))
	c := newTestClient(t, fp.url(), nil)
	require.NoError(t, c.WaitForReady(t.Context()))
	s := fp.nextStream()

	// The provider moved to 5; this connection missed 2..4.
	fp.update(flagSet(5, boolFlag("a", eval.Buckets, 2)))
	s.send(patchEventText(t, 4, 5, []eval.Flag{boolFlag("a", eval.Buckets, 2)}, nil))

	s2 := fp.nextStream()
	require.Equal(t, "1", s2.lastEventID)
	waitRevision(t, c, 5) // from the put of the new connection
	require.True(t, c.Bool("a", "u", false))
	flags, _ := fp.counts()
	require.Equal(t, 1, flags, "reconnects resynchronise through the stream's put")
}

func TestOlderRevisionsIgnored(t *testing.T) {
	fp := newFakeProvider(t, flagSet(5, boolFlag("a", eval.Buckets, 5)))
	var changes changeRecorder
	c := newTestClient(t, fp.url(), func(cfg *Config) { cfg.OnChange = changes.record })
	require.NoError(t, c.WaitForReady(t.Context()))
	s := fp.nextStream()

	s.send(putEvent(t, flagSet(3, boolFlag("a", 0, 3))))
	s.send(patchEventText(t, 3, 4, []eval.Flag{boolFlag("a", 0, 4)}, nil))
	s.send(putEvent(t, flagSet(6, boolFlag("a", eval.Buckets, 6))))
	waitRevision(t, c, 6) // events are applied in order: 3 and 4 came first

	require.True(t, c.Bool("a", "u", false))
	require.Equal(t, []ChangeEvent{{Revision: 6, ChangedKeys: []string{"a"}}}, changes.get())
	_, streams := fp.counts()
	require.Equal(t, 1, streams, "older events neither apply nor reconnect")
}

func TestInvalidPutKeepsPreviousSet(t *testing.T) {
	fp := newFakeProvider(t, flagSet(1, boolFlag("a", eval.Buckets, 1)))
	c := newTestClient(t, fp.url(), nil)
	require.NoError(t, c.WaitForReady(t.Context()))
	s := fp.nextStream()

	bad := boolFlag("a", 0, 2)
	bad.Rollout[0].Weight = 1 // weights no longer sum to 10000
	s.send(putEvent(t, flagSet(2, bad)))
	waitFor(t, "rejection", func() bool { return c.Status().Err != nil })
	var verr *eval.ValidationError
	require.ErrorAs(t, c.Status().Err, &verr)
	require.EqualValues(t, 1, c.Status().Revision)
	require.True(t, c.Bool("a", "u", false))

	// The next patch is based on 2, which we do not hold: reconnect, put.
	fp.update(flagSet(3, boolFlag("a", 0, 3)))
	s.send(patchEventText(t, 2, 3, []eval.Flag{boolFlag("a", 0, 3)}, nil))
	fp.nextStream()
	waitRevision(t, c, 3)
	require.False(t, c.Bool("a", "u", true))
}

func TestHeartbeatTimeoutReconnects(t *testing.T) {
	fp := newFakeProvider(t, flagSet(1, boolFlag("a", eval.Buckets, 1)))
	c := newTestClient(t, fp.url(), func(cfg *Config) { cfg.HeartbeatTimeout = 100 * time.Millisecond })
	require.NoError(t, c.WaitForReady(t.Context()))
	fp.nextStream() // says nothing more, not even pings

	s2 := fp.nextStream()
	require.Equal(t, "1", s2.lastEventID)
	require.True(t, c.Bool("a", "u", false))
}

func TestServerRestartMidStream(t *testing.T) {
	fp := newFakeProvider(t, flagSet(1, boolFlag("a", eval.Buckets, 1)))
	c := newTestClient(t, fp.url(), nil)
	require.NoError(t, c.WaitForReady(t.Context()))
	fp.nextStream()
	waitState(t, c, StateConnected)

	fp.stop()
	waitState(t, c, StateDisconnected)
	require.True(t, c.Bool("a", "u", false), "serves the last flags while disconnected")

	fp.restart(flagSet(2, boolFlag("a", 0, 2)))
	s := fp.nextStream()
	require.Equal(t, "1", s.lastEventID)
	waitRevision(t, c, 2)
	waitState(t, c, StateConnected)
	require.False(t, c.Bool("a", "u", true))
}

func TestUnauthorizedIsFinal(t *testing.T) {
	for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			fp := newFakeProvider(t, flagSet(1, boolFlag("a", eval.Buckets, 1)))
			fp.setStatus(code)
			c := newTestClient(t, fp.url(), nil)

			err := c.WaitForReady(t.Context())
			require.Error(t, err)
			want := ErrUnauthorized
			if code == http.StatusForbidden {
				want = ErrForbidden
			}
			require.ErrorIs(t, err, want)
			<-c.loopDone // the sync loop gave up
			require.Equal(t, StateFailed, c.Status().State)
			flags, streams := fp.counts()
			require.Equal(t, 1, flags)
			require.Equal(t, 0, streams)
			_, r := c.BoolDetail("a", "u", true)
			require.Equal(t, ErrorProviderNotReady, r.ErrorCode)
		})
	}
}

func TestUnauthorizedKeepsServingBootstrap(t *testing.T) {
	fp := newFakeProvider(t, flagSet(9, boolFlag("a", 0, 9)))
	fp.setStatus(http.StatusUnauthorized)
	boot := flagSet(1, boolFlag("a", eval.Buckets, 1))
	c := newTestClient(t, fp.url(), func(cfg *Config) { cfg.Bootstrap = &boot })
	require.NoError(t, c.WaitForReady(t.Context()))
	<-c.loopDone
	st := c.Status()
	require.Equal(t, StateFailed, st.State)
	require.ErrorIs(t, st.Err, ErrUnauthorized)
	require.Equal(t, SourceBootstrap, st.Source)
	require.True(t, c.Bool("a", "u", false))
}

func TestKeyRevokedIsFinal(t *testing.T) {
	fp := newFakeProvider(t, flagSet(1, boolFlag("a", eval.Buckets, 1)))
	c := newTestClient(t, fp.url(), nil)
	require.NoError(t, c.WaitForReady(t.Context()))
	s := fp.nextStream()
	waitState(t, c, StateConnected)
	var states []State
	c.Listen(func(e Event) {
		if e.Kind == EventStatus {
			states = append(states, e.Status.State) // sync goroutine only
		}
	})

	fp.setStatus(http.StatusUnauthorized)
	s.send("event: error\ndata: {\"code\":\"key_revoked\"}\n\n")
	s.close()
	<-c.loopDone
	st := c.Status()
	require.Equal(t, StateFailed, st.State)
	require.ErrorIs(t, st.Err, ErrKeyRevoked)
	require.Equal(t, []State{StateFailed}, states)
	require.True(t, c.Bool("a", "u", false), "keeps serving the last flags")
	_, streams := fp.counts()
	require.Equal(t, 1, streams)
}

func TestBootstrapFileWhenProviderUnreachable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.json")
	set := flagSet(4, boolFlag("a", eval.Buckets, 1))
	require.NoError(t, writeBootstrap(path, &set))

	dead := newFakeProvider(t, flagSet(1))
	url := dead.url()
	dead.stop() // nothing listens there any more

	c := newTestClient(t, url, func(cfg *Config) { cfg.BootstrapFile = path })
	require.NoError(t, c.WaitForReady(t.Context()))
	require.True(t, c.Bool("a", "u", false))
	waitState(t, c, StateDisconnected)
	st := c.Status()
	require.Equal(t, SourceBootstrap, st.Source)
	require.EqualValues(t, 4, st.Revision)
}

func TestPersistBootstrap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.json")
	fp := newFakeProvider(t, flagSet(3, boolFlag("a", eval.Buckets, 1)))
	c := newTestClient(t, fp.url(), func(cfg *Config) {
		cfg.BootstrapFile = path
		cfg.PersistBootstrap = true
	})
	require.NoError(t, c.WaitForReady(t.Context()))
	s := fp.nextStream()
	s.send(patchEventText(t, 3, 4, []eval.Flag{boolFlag("b", eval.Buckets, 1)}, nil))
	waitRevision(t, c, 4)
	require.NoError(t, c.Close())

	offline, err := New(t.Context(), Config{Offline: true, BootstrapFile: path, Logger: testLogger(t)})
	require.NoError(t, err)
	defer offline.Close()
	require.EqualValues(t, 4, offline.Status().Revision)
	require.True(t, offline.Bool("b", "u", false))
}

func TestBootstrapThenProviderReportsChanges(t *testing.T) {
	boot := flagSet(100, boolFlag("a", eval.Buckets, 1), boolFlag("gone", 0, 1))
	// The provider's revision is lower than the bootstrap's (e.g. another
	// environment's file): the first fetch still replaces it.
	fp := newFakeProvider(t, flagSet(2, boolFlag("a", eval.Buckets, 1), boolFlag("new", 0, 1)))
	var changes changeRecorder
	c := newTestClient(t, fp.url(), func(cfg *Config) {
		cfg.Bootstrap = &boot
		cfg.OnChange = changes.record
	})
	waitRevision(t, c, 2)
	require.Equal(t, SourceProvider, c.Status().Source)
	require.Equal(t, []ChangeEvent{{Revision: 2, ChangedKeys: []string{"gone", "new"}}}, changes.get())
}

func TestNotReadyBeforeAnyFlags(t *testing.T) {
	dead := newFakeProvider(t, flagSet(1))
	url := dead.url()
	dead.stop()
	c := newTestClient(t, url, nil)
	v, r := c.StringDetail("x", "u", "def")
	require.Equal(t, "def", v)
	require.Equal(t, eval.ReasonError, r.Reason)
	require.Equal(t, ErrorProviderNotReady, r.ErrorCode)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, c.WaitForReady(ctx), context.DeadlineExceeded)

	require.NoError(t, c.Close())
	require.ErrorIs(t, c.WaitForReady(t.Context()), ErrClosed)
	require.Equal(t, StateClosed, c.Status().State)
}

func TestConfigValidation(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no url":        {SDKKey: "k"},
		"bad scheme":    {ProviderURL: "ftp://x", SDKKey: "k"},
		"no key":        {ProviderURL: "http://x"},
		"persist alone": {Offline: true, PersistBootstrap: true},
		"bad bootstrap": {Offline: true, Bootstrap: &eval.FlagSet{Flags: []eval.Flag{{Key: "x"}}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(t.Context(), cfg)
			require.Error(t, err)
		})
	}
}

func TestInvalidBootstrapFileIgnored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"revision":1,"flags":[{"key":""}]}`), 0o600))
	c, err := New(t.Context(), Config{Offline: true, BootstrapFile: path, Logger: testLogger(t)})
	require.NoError(t, err)
	defer c.Close()
	require.False(t, c.Status().Ready())
}

func TestCloseIsIdempotentAndStopsListeners(t *testing.T) {
	fp := newFakeProvider(t, flagSet(1, boolFlag("a", eval.Buckets, 1)))
	c := newTestClient(t, fp.url(), nil)
	require.NoError(t, c.WaitForReady(t.Context()))
	var got []State
	cancel := c.Listen(func(e Event) { got = append(got, e.Status.State) })
	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
	cancel()
	require.True(t, slices.Contains(got, StateClosed))
	require.True(t, c.Bool("a", "u", false), "evaluation outlives Close")
	require.False(t, errors.Is(c.Status().Err, ErrUnauthorized))
}
