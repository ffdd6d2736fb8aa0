package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/auth"
	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/store"
)

type notification struct {
	EnvironmentID int64 `json:"environment_id"`
	Revision      int64 `json:"revision"`
}

// listen returns a function that waits for the next waypost_revision
// notification, or fails the test after a generous timeout.
func listen(t *testing.T, dsn string) func() notification {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	_, err = conn.Exec(ctx, "LISTEN waypost_revision")
	require.NoError(t, err)
	return func() notification {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		n, err := conn.WaitForNotification(wctx)
		require.NoError(t, err, "expected a waypost_revision notification")
		var out notification
		require.NoError(t, json.Unmarshal([]byte(n.Payload), &out))
		return out
	}
}

func revisions(t *testing.T, st *store.Store) map[string]int64 {
	t.Helper()
	envs, err := st.ListEnvironments(context.Background(), "default")
	require.NoError(t, err)
	out := map[string]int64{}
	for _, e := range envs {
		out[e.Key] = e.Revision
	}
	return out
}

func TestEveryChangeBumpsRevisionAndNotifies(t *testing.T) {
	t.Parallel()
	pool, dsn := dbtest.NewMigrated(t)
	st := store.New(pool)
	ctx := context.Background()
	next := listen(t, dsn)

	var prodID int64
	require.NoError(t, pool.QueryRow(ctx, "SELECT id FROM environments WHERE key = 'production'").Scan(&prodID))

	// expectBump runs change and checks that the named environments' revisions
	// grew and that a notification carried the new production revision.
	expectBump := func(name string, change func() error, envs ...string) {
		t.Helper()
		before := revisions(t, st)
		require.NoError(t, change(), name)
		after := revisions(t, st)
		for _, e := range envs {
			require.Greater(t, after[e], before[e], "%s: revision of %s", name, e)
		}
		for e := range before {
			if !contains(envs, e) {
				require.Equal(t, before[e], after[e], "%s: revision of %s must not move", name, e)
			}
		}
		// Drain notifications until production's current revision is announced.
		if contains(envs, "production") {
			for {
				n := next()
				if n.EnvironmentID == prodID && n.Revision == after["production"] {
					break
				}
				require.Less(t, n.Revision, after["production"]+1, name)
			}
		}
	}

	expectBump("create flag", func() error {
		_, err := st.CreateFlag(ctx, "default", model.CreateFlag{Key: "f", Name: "F", Kind: model.KindBoolean, Variants: model.BooleanVariants()})
		return err
	}, "production", "development")
	expectBump("toggle", func() error {
		on := true
		_, err := st.UpdateState(ctx, "default", "f", "production", model.UpdateState{Enabled: &on})
		return err
	}, "production")
	expectBump("rollout", func() error {
		v := int64(2)
		ws := []model.Weight{{Variant: "on", Weight: 5000}, {Variant: "off", Weight: 5000}}
		_, err := st.UpdateState(ctx, "default", "f", "production", model.UpdateState{Version: &v, Rollout: &ws})
		return err
	}, "production")
	expectBump("off variant", func() error {
		v, off := int64(3), "on"
		_, err := st.UpdateState(ctx, "default", "f", "development", model.UpdateState{Version: &v, OffVariant: &off})
		if err != nil && errs.IsKind(err, errs.KindConflict) { // development is still at version 1
			v = 1
			_, err = st.UpdateState(ctx, "default", "f", "development", model.UpdateState{Version: &v, OffVariant: &off})
		}
		return err
	}, "development")
	expectBump("assignment added", func() error {
		_, err := st.SetAssignments(ctx, "default", "f", "production", model.SetAssignments{Assignments: []model.Assignment{{UserID: "u", Variant: "on"}}})
		return err
	}, "production")
	expectBump("assignment removed", func() error {
		_, err := st.RemoveAssignments(ctx, "default", "f", "production", model.RemoveAssignments{UserIDs: []string{"u"}})
		return err
	}, "production")
	expectBump("flag updated", func() error {
		v, name := int64(1), "Renamed"
		_, err := st.UpdateFlag(ctx, "default", "f", model.UpdateFlag{Version: &v, Name: &name})
		return err
	}, "production", "development")
	expectBump("archived", func() error {
		_, err := st.SetArchived(ctx, "default", "f", true)
		return err
	}, "production", "development")
	var keyID int64
	expectBump("sdk key created", func() error {
		k, err := st.CreateSDKKey(ctx, "default", "production", model.CreateSDKKey{Name: "k", Kind: "server"})
		keyID = k.ID
		return err
	}, "production")
	expectBump("sdk key revoked", func() error {
		_, err := st.RevokeSDKKey(ctx, "default", "production", keyID)
		return err
	}, "production")
	expectBump("plain SQL", func() error {
		_, err := pool.Exec(ctx, "UPDATE flag_states SET enabled = NOT enabled WHERE environment_id = $1", prodID)
		return err
	}, "production")

	// A failed change (rolled back) neither bumps nor notifies.
	before := revisions(t, st)
	_, err := st.SetAssignments(ctx, "default", "f", "production", model.SetAssignments{Assignments: []model.Assignment{{UserID: "u", Variant: "nope"}}})
	require.Error(t, err)
	require.Equal(t, before, revisions(t, st))
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	t.Parallel()
	pool, _ := dbtest.NewMigrated(t)
	st := store.New(pool)
	ctx := context.Background()
	_, err := st.CreateFlag(ctx, "default", model.CreateFlag{Key: "tags", Name: "T", Kind: model.KindBoolean, Variants: model.BooleanVariants()})
	require.NoError(t, err)

	// Each goroutine adds its own tag with read-modify-write under optimistic
	// locking, retrying on conflict. A lost update would drop a tag.
	const writers = 16
	var wg sync.WaitGroup
	conflicts := make(chan int, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			tag := "t" + string(rune('a'+i))
			n := 0
			for {
				f, err := st.GetFlag(ctx, "default", "tags")
				if !assertNoErr(t, err) {
					return
				}
				tags := append(append([]string{}, f.Tags...), tag)
				v := f.Version
				_, err = st.UpdateFlag(ctx, "default", "tags", model.UpdateFlag{Version: &v, Tags: &tags})
				var e *errs.Error
				if errors.As(err, &e) && e.Kind == errs.KindConflict {
					n++
					continue
				}
				if assertNoErr(t, err) {
					conflicts <- n
				}
				return
			}
		}(i)
	}
	wg.Wait()
	close(conflicts)
	total := 0
	for n := range conflicts {
		total += n
	}
	f, err := st.GetFlag(ctx, "default", "tags")
	require.NoError(t, err)
	require.Len(t, f.Tags, writers, "every writer's tag is present")
	require.EqualValues(t, 1+writers, f.Version, "one version per successful update")
	t.Logf("%d writers, %d version conflicts retried", writers, total)

	// Same for state: concurrent rollout writers each based on what they read.
	var wg2 sync.WaitGroup
	for i := 0; i < writers; i++ {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			for {
				fl, err := st.GetFlag(ctx, "default", "tags")
				if !assertNoErr(t, err) {
					return
				}
				cur := fl.Environments[0]
				ws := []model.Weight{{Variant: "off", Weight: cur.Rollout[0].Weight + 100}, {Variant: "on", Weight: cur.Rollout[1].Weight - 100}}
				v := cur.Version
				_, err = st.UpdateState(ctx, "default", "tags", cur.Environment, model.UpdateState{Version: &v, Rollout: &ws})
				if errs.IsKind(err, errs.KindConflict) {
					continue
				}
				assertNoErr(t, err)
				return
			}
		}()
	}
	wg2.Wait()
	f, err = st.GetFlag(ctx, "default", "tags")
	require.NoError(t, err)
	require.Equal(t, writers*100, f.Environments[0].Rollout[0].Weight, "every increment applied exactly once")
}

func assertNoErr(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Errorf("unexpected error: %v", err)
		return false
	}
	return true
}

func TestLoginRehashesWhenParamsChange(t *testing.T) {
	t.Parallel()
	pool, _ := dbtest.NewMigrated(t)
	st := store.New(pool)
	st.UsePasswordParams(auth.Params{Memory: 64, Time: 1, Threads: 1})
	ctx := context.Background()
	_, err := st.CreateUser(ctx, model.CreateUser{Email: "ada@example.com", Password: "correct horse battery"})
	require.NoError(t, err)
	hash := func() string {
		var h string
		require.NoError(t, pool.QueryRow(ctx, `SELECT password_hash FROM users`).Scan(&h))
		return h
	}
	require.Contains(t, hash(), "m=64,t=1,p=1")
	st.UsePasswordParams(auth.Params{Memory: 128, Time: 2, Threads: 1})
	_, err = st.CheckPassword(ctx, "ada@example.com", "wrong horse battery")
	require.Error(t, err)
	require.Contains(t, hash(), "m=64,t=1,p=1", "a wrong password changes nothing")
	_, err = st.CheckPassword(ctx, "ada@example.com", "correct horse battery")
	require.NoError(t, err)
	require.Contains(t, hash(), "m=128,t=2,p=1", "rehashed with the configured parameters")
	_, err = st.CheckPassword(ctx, "ada@example.com", "correct horse battery")
	require.NoError(t, err)
}
