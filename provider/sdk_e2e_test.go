package provider_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	waypost "github.com/waypost/waypost/sdk"
)

// The Go SDK against the real provider: a toggle made through the manager
// reaches it; it survives a provider restart, serving the last flags while
// the provider is gone, then catches up.
func TestGoSDKThroughRealProvider(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	h.createFlag("quote")
	key, _ := h.sdkKey("server")
	prov := h.startProvider("")

	changed := make(chan []string, 16)
	client, err := waypost.New(context.Background(), waypost.Config{
		ProviderURL: prov.url, SDKKey: key, InitialBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		OnChange: func(ev waypost.ChangeEvent) { changed <- ev.ChangedKeys },
	})
	require.NoError(t, err)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, client.WaitForReady(ctx))
	require.False(t, client.Bool("quote", "jill", true), "off in production")

	h.toggle("quote", true)
	select {
	case keys := <-changed:
		require.Equal(t, []string{"quote"}, keys)
	case <-time.After(10 * time.Second):
		t.Fatal("no change reached the SDK")
	}
	require.True(t, client.Bool("quote", "jill", false))

	// Provider goes away: the SDK keeps serving what it had.
	prov.stop()
	require.Eventually(t, func() bool { return client.Status().State != waypost.StateConnected }, 10*time.Second, 10*time.Millisecond)
	require.True(t, client.Bool("quote", "jill", false), "last known flags while disconnected")
	h.toggle("quote", false) // changed while no provider runs

	// Provider back on the same address: the SDK reconnects and catches up.
	h.startProvider(prov.addr)
	require.Eventually(t, func() bool { return !client.Bool("quote", "jill", true) }, 15*time.Second, 20*time.Millisecond)
	require.Equal(t, h.revision(), client.Status().Revision)
}
