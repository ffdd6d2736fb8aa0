package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/config"
	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/store"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// runProviderRole runs `waypost provider` until the returned stop is called.
func runProviderRole(t *testing.T, dsn, addr, snapshot string) (stop func(), errc chan error) {
	t.Helper()
	cfg := &config.Config{DatabaseURL: dsn, ProviderAddr: addr, ProviderURL: "http://" + addr, SnapshotFile: snapshot,
		WebhookSecret: "fault-test-secret-0123456789-0123456789", ShutdownGrace: time.Second, CORSOrigins: []string{"*"}}
	ctx, cancel := context.WithCancel(context.Background())
	errc = make(chan error, 1)
	a := &app{cfg: cfg, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	go func() { errc <- runProvider(ctx, a); a.close() }()
	return func() { cancel(); <-errc }, errc
}

func flagsRevision(t *testing.T, addr, key string) (int, int64) {
	req, _ := http.NewRequest("GET", "http://"+addr+"/v1/flags", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0
	}
	defer res.Body.Close()
	var set struct{ Revision int64 }
	_ = json.NewDecoder(res.Body).Decode(&set)
	return res.StatusCode, set.Revision
}

// Finding 5: `waypost provider` ran the schema check first and exited when
// the database was down, so the snapshot file never helped; and the file
// was written only by the reloader. Now the provider starts from the
// snapshot (ready, serving), retries in the background and catches up.
func TestProviderStartsFromSnapshotWhileDatabaseIsDown(t *testing.T) {
	t.Parallel()
	pool, dsn := dbtest.NewMigrated(t)
	st := store.New(pool)
	ctx := context.Background()
	_, err := st.CreateFlag(ctx, "default", model.CreateFlag{Key: "quote"})
	require.NoError(t, err)
	k, err := st.CreateSDKKey(ctx, "default", "production", model.CreateSDKKey{Name: "k", Kind: "server"})
	require.NoError(t, err)
	proxy := dbtest.NewProxy(t, dsn)
	snapshot := filepath.Join(t.TempDir(), "snapshot.json")

	addr := freeAddr(t)
	stop, _ := runProviderRole(t, proxy.URL(dsn), addr, snapshot)
	require.Eventually(t, func() bool { _, err := os.Stat(snapshot); return err == nil }, 20*time.Second, 20*time.Millisecond, "snapshot written")
	var held int64
	require.Eventually(t, func() bool {
		var code int
		code, held = flagsRevision(t, addr, k.Secret)
		return code == 200
	}, 20*time.Second, 20*time.Millisecond, "serving")
	stop()

	proxy.Down()
	on := true
	_, err = st.UpdateState(ctx, "default", "quote", "production", model.UpdateState{Enabled: &on})
	require.NoError(t, err)

	addr = freeAddr(t)
	stop, errc := runProviderRole(t, proxy.URL(dsn), addr, snapshot)
	defer stop()
	require.Eventually(t, func() bool {
		select {
		case err := <-errc:
			t.Fatalf("the provider exited while the database is down: %v", err)
		default:
		}
		code, rev := flagsRevision(t, addr, k.Secret)
		return code == 200 && rev == held
	}, 20*time.Second, 20*time.Millisecond, "serving the snapshot with the database down")

	proxy.Up()
	require.Eventually(t, func() bool { _, rev := flagsRevision(t, addr, k.Secret); return rev > held }, 60*time.Second, 50*time.Millisecond,
		"caught up once the database answers")
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(snapshot)
		return err == nil && json.Valid(b) && len(b) > 0 && func() bool {
			var f struct {
				Environments map[string]struct{ Revision int64 }
			}
			_ = json.Unmarshal(b, &f)
			for _, e := range f.Environments {
				if e.Revision > held {
					return true
				}
			}
			return false
		}()
	}, 10*time.Second, 20*time.Millisecond, "the snapshot follows the applied revision")
}
