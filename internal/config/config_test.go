package config

import (
	"flag"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func parse(t *testing.T, args ...string) *Config {
	t.Helper()
	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	apply := c.Options(fs)
	require.NoError(t, fs.Parse(args))
	require.NoError(t, apply())
	return &c
}

// Finding 3: a compiled-in webhook secret was accepted silently, so anyone
// who read the source could sign webhooks. There is no default any more.
func TestNoCompiledInWebhookSecret(t *testing.T) {
	for _, k := range []string{"WAYPOST_WEBHOOK_SECRET", "WAYPOST_WEBHOOK_SECRET_FILE"} {
		t.Setenv(k, "") // restored at cleanup
		require.NoError(t, os.Unsetenv(k))
	}
	c := parse(t)
	require.Empty(t, c.WebhookSecret, "no built-in secret")
}

func TestWebhookSecretIsRequiredAndLongEnough(t *testing.T) {
	for _, k := range []string{"WAYPOST_WEBHOOK_SECRET", "WAYPOST_WEBHOOK_SECRET_FILE", "WAYPOST_MANAGER_ADDR", "WAYPOST_PROVIDER_ADDR", "WAYPOST_PROVIDER_URL"} {
		t.Setenv(k, "")
		require.NoError(t, os.Unsetenv(k))
	}
	require.Error(t, parse(t).RequireWebhookSecret(), "missing")
	require.Error(t, parse(t, "-webhook-secret", "0123456789abcdef0123456789abcde").RequireWebhookSecret(), "31 bytes")
	require.NoError(t, parse(t, "-webhook-secret", "0123456789abcdef0123456789abcdef").RequireWebhookSecret())

	// `waypost all` on localhost generates one (and says so); elsewhere not.
	c := parse(t)
	gen, err := c.DevelopmentWebhookSecret()
	require.NoError(t, err)
	require.True(t, gen)
	require.Len(t, c.WebhookSecret, 64)
	require.NoError(t, c.RequireWebhookSecret())
	other := parse(t)
	gen, err = other.DevelopmentWebhookSecret()
	require.NoError(t, err)
	require.NotEqual(t, c.WebhookSecret, other.WebhookSecret, "random per process")

	for _, args := range [][]string{{"-manager-addr", "0.0.0.0:8080"}, {"-provider-url", "http://10.0.0.5:8081"}} {
		c := parse(t, args...)
		gen, err := c.DevelopmentWebhookSecret()
		require.NoError(t, err)
		require.False(t, gen, "%v: not development", args)
		require.Error(t, c.RequireWebhookSecret(), "%v", args)
	}
	c = parse(t, "-webhook-secret", "given-given-given-given-given-given")
	gen, _ = c.DevelopmentWebhookSecret()
	require.False(t, gen, "a given secret is kept")
	require.Equal(t, "given-given-given-given-given-given", c.WebhookSecret)
}
