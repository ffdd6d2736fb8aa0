package store_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/flagset"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/store"
	"github.com/waypost/waypost/sdk/eval"
)

// The provider's one-statement read of an environment serves exactly what
// the separate reads of its flags, assignments, segments and keys (one
// repeatable-read transaction) give: same flag set, same revision time,
// same keys, for every environment, with rules, prerequisites, segments,
// assignments, an archived flag and a revoked key.
func TestEnvironmentStateIsTheSeparateReads(t *testing.T) {
	t.Parallel()
	pool, _ := dbtest.NewMigrated(t)
	st := store.New(pool)
	ctx := context.Background()
	for _, k := range []string{"parent", "child", "gone"} {
		in := model.CreateFlag{Key: k}
		require.NoError(t, in.Validate())
		_, err := st.CreateFlag(ctx, "default", in)
		require.NoError(t, err)
	}
	_, err := st.CreateSegment(ctx, "default", "production", model.SaveSegment{Key: "beta", Included: []string{"user-1", "user-2"}, Excluded: []string{"user-3"},
		Rules: []eval.Rule{{ID: "ca", Clauses: []eval.Clause{clause("country", eval.OpIn, `"CA"`)}}}})
	require.NoError(t, err)
	_, err = st.UpdateTargeting(ctx, "default", "child", "production", model.UpdateTargeting{
		Rules: []eval.Rule{
			{ID: "beta", Variant: "on", Clauses: []eval.Clause{clause("", eval.OpInSegment, `"beta"`)}},
			{ID: "ios", Clauses: []eval.Clause{clause("os", eval.OpIn, `"iOS"`), clause("osVersion", eval.OpSemverGTE, `"17.0"`)},
				Rollout: []eval.WeightedVariant{{Variant: "off", Weight: 2500}, {Variant: "on", Weight: 7500}}, BucketBy: "companyId"},
		},
		Prerequisites: []eval.Prerequisite{{Flag: "parent", Variants: []string{"on"}}}})
	require.NoError(t, err)
	_, err = st.SetAssignments(ctx, "default", "child", "production", model.SetAssignments{Assignments: []model.Assignment{{UserID: "u2", Variant: "on"}, {UserID: "u1", Variant: "off"}}})
	require.NoError(t, err)
	_, err = st.SetArchived(ctx, "default", "gone", true)
	require.NoError(t, err)
	var keyIDs []int64
	for _, kind := range []string{"server", "client", "server"} {
		k, err := st.CreateSDKKey(ctx, "default", "production", model.CreateSDKKey{Name: "k", Kind: kind})
		require.NoError(t, err)
		keyIDs = append(keyIDs, k.ID)
	}
	_, err = st.RevokeSDKKey(ctx, "default", "production", keyIDs[1])
	require.NoError(t, err)

	envs, err := st.EnvironmentRevisions(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, envs)
	keysSeen := 0
	for _, e := range envs {
		got, err := st.EnvironmentState(ctx, e.ID)
		require.NoError(t, err)
		tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		require.NoError(t, err)
		q := db.New(tx)
		set, revised, err := flagset.ReadRevised(ctx, q, e.ID)
		require.NoError(t, err)
		keys, err := q.ActiveSDKKeysOfEnvironment(ctx, e.ID)
		require.NoError(t, err)
		require.NoError(t, tx.Rollback(ctx))

		require.Equal(t, set, got.Set, "environment %d", e.ID)
		require.True(t, revised.Equal(got.RevisedAt))
		require.Len(t, got.Keys, len(keys))
		for i, k := range keys {
			require.Equal(t, store.ProviderKey{ID: k.ID, Server: k.Kind == "server", Hash: k.KeyHash}, got.Keys[i])
		}
		for _, k := range got.Keys {
			require.Len(t, k.Hash, 32)
			require.NotEqual(t, keyIDs[1], k.ID, "the revoked key is not served")
		}
		if len(got.Set.Segments) > 0 {
			keysSeen += len(got.Keys)
		}
	}
	require.Equal(t, 2, keysSeen, "production's two valid keys")
	_, err = st.EnvironmentState(ctx, 1<<40)
	require.True(t, errs.IsKind(err, errs.KindNotFound), "%v", err)
}

// A webhook job's one read: the live provider's URL and the newest
// revision; a provider past its liveness window, or an environment that
// does not exist, is KindNotFound naming which (the job is cancelled).
func TestProviderWebhookTarget(t *testing.T) {
	t.Parallel()
	pool, _ := dbtest.NewMigrated(t)
	st := store.New(pool)
	ctx := context.Background()
	require.NoError(t, st.HeartbeatProvider(ctx, "p1", "http://127.0.0.1:1/internal/webhook"))
	envs, err := st.EnvironmentRevisions(ctx)
	require.NoError(t, err)
	env := envs[0]

	got, err := st.ProviderWebhook(ctx, "p1", env.ID)
	require.NoError(t, err)
	require.Equal(t, store.ProviderWebhook{Provider: store.LiveProvider{ID: "p1", WebhookURL: "http://127.0.0.1:1/internal/webhook"}, Revision: env.Revision}, got)

	_, err = st.ProviderWebhook(ctx, "p1", 1<<40)
	e, ok := errs.As(err)
	require.True(t, ok && e.Kind == errs.KindNotFound && e.Field == "environment", "%v", err)

	_, err = pool.Exec(ctx, "UPDATE providers SET last_seen_at = now() - interval '2 minutes' WHERE id = 'p1'")
	require.NoError(t, err)
	for _, id := range []string{"p1", "never-registered"} {
		_, err = st.ProviderWebhook(ctx, id, env.ID)
		e, ok = errs.As(err)
		require.True(t, ok && e.Kind == errs.KindNotFound && e.Field == "provider", "%s: %v", id, err)
	}
}
