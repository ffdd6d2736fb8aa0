package auth_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/auth"
)

var cheap = auth.Params{Memory: 64, Time: 1, Threads: 1}

func TestPasswordHashVerifyAndRehash(t *testing.T) {
	t.Parallel()
	h, err := cheap.Hash("correct horse")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$"), h)
	h2, err := cheap.Hash("correct horse")
	require.NoError(t, err)
	require.NotEqual(t, h, h2, "a fresh salt each time")

	ok, rehash, err := cheap.Verify(h, "correct horse")
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, rehash)
	ok, _, err = cheap.Verify(h, "correct horsE")
	require.NoError(t, err)
	require.False(t, ok)

	// Stronger parameters configured: the old hash still verifies and asks
	// to be replaced.
	stronger := auth.Params{Memory: 128, Time: 2, Threads: 1}
	ok, rehash, err = stronger.Verify(h, "correct horse")
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, rehash)

	for _, bad := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=18$m=64,t=1,p=1$c2FsdA$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=0,p=1$c2FsdA$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=64,t=1,p=1$!!$a2V5"} {
		_, _, err := cheap.Verify(bad, "x")
		require.Error(t, err, bad)
	}
}

func TestTokenShapes(t *testing.T) {
	t.Parallel()
	tok, err := auth.NewToken()
	require.NoError(t, err)
	require.True(t, auth.WellFormedToken(tok))
	require.Len(t, tok, 47)
	for _, bad := range []string{"", "wpt_", tok[:46], tok + "a", "wps_" + tok[4:], strings.Replace(tok, tok[10:11], "=", 1)} {
		require.False(t, auth.WellFormedToken(bad), bad)
	}
	require.NotEqual(t, auth.Hash(tok), auth.Hash(tok[:46]+"x"))
}

// BenchmarkPasswordHash measures one sign-in's hashing at the default
// parameters (64 MiB, 3 passes, 2 lanes).
func BenchmarkPasswordHash(b *testing.B) {
	for b.Loop() {
		if _, err := auth.DefaultParams.Hash("correct horse battery"); err != nil {
			b.Fatal(err)
		}
	}
}
