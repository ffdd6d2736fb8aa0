package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/sdk/eval"
)

// RevisionChannel is the NOTIFY channel the database triggers announce new
// environment revisions on, with payload {"environment_id":1,"revision":42}.
const RevisionChannel = "waypost_revision"

// Run loads state and keeps it current until ctx ends: initial load (with
// backoff while the database is down), webhooks (served by Handler),
// LISTEN/NOTIFY with a reload on every (re)connect, a periodic check, and
// the registration heartbeat. It returns nil when ctx ends.
func (p *Provider) Run(ctx context.Context) error {
	done := make(chan struct{})
	var wg sync.WaitGroup
	defer func() {
		p.stopping.Store(true) // before closeAll: hub.add closes late arrivals
		close(done)
		p.closeAll()
		wg.Wait()
	}()
	for i := 0; i < p.cfg.Writers; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); p.writeLoop(done) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); p.heartbeats(done) }()

	if p.cfg.SnapshotFile != "" {
		if err := p.loadSnapshotFile(); err != nil {
			p.log.Warn("snapshot file not used", "path", p.cfg.SnapshotFile, "err", err)
		} else {
			p.ready.Store(true)
			p.log.Info("serving from snapshot file until the database answers", "path", p.cfg.SnapshotFile)
		}
	}

	// Register before loading: every change committed after this point gets
	// a webhook, and everything before it is in the initial load.
	q := db.New(p.cfg.Pool)
	p.register(ctx, q)
	r := &reloader{p: p, wake: make(chan struct{}, 1), wanted: map[int64]int64{}, cause: map[int64]string{}}
	if err := p.initialLoad(ctx, r); err != nil {
		return nil // ctx ended
	}

	wg.Add(2)
	go func() { defer wg.Done(); r.run(ctx) }()
	go func() { defer wg.Done(); p.registration(ctx) }()
	if !p.cfg.DisableNotify {
		wg.Add(2)
		go func() { defer wg.Done(); p.listen(ctx, r) }()
		go func() { defer wg.Done(); p.periodic(ctx, r) }()
	}
	<-ctx.Done()
	return nil
}

// initialLoad retries with exponential backoff (1 s .. 30 s, jittered)
// until the first full load succeeds or ctx ends.
func (p *Provider) initialLoad(ctx context.Context, r *reloader) error {
	backoff := time.Second
	for {
		err := r.loadAll(ctx, "start")
		if err == nil {
			p.ready.Store(true)
			p.log.Info("flag state loaded", "environments", len(p.world.Load().envs))
			return nil
		}
		p.log.Warn("cannot load flag state yet; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff/2 + rand.N(backoff/2+1)):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// reloader coalesces reload requests: a burst of notifications for one
// environment costs one database read of its newest state.
type reloader struct {
	p      *Provider
	mu     sync.Mutex
	wanted map[int64]int64 // environment -> newest revision heard of (0: check)
	cause  map[int64]string
	wake   chan struct{}
}

func (r *reloader) request(envID, revision int64, cause string) {
	if revision > 0 && revision <= r.p.Revision(envID) {
		return
	}
	r.mu.Lock()
	if cur, ok := r.wanted[envID]; !ok || revision > cur {
		r.wanted[envID] = revision
		r.cause[envID] = cause
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *reloader) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		}
		r.mu.Lock()
		wanted, causes := r.wanted, r.cause
		r.wanted, r.cause = map[int64]int64{}, map[int64]string{}
		r.mu.Unlock()
		changed := false
		keysFresh := false
		for envID, rev := range wanted {
			if rev > 0 && rev <= r.p.Revision(envID) {
				continue
			}
			if !keysFresh { // keys first: a revoked key gets no newer state
				r.reloadKeys(ctx)
				keysFresh = true
			}
			ok, err := r.reloadEnv(ctx, envID, causes[envID])
			if err != nil {
				r.p.log.Warn("reload failed; will retry", "environment_id", envID, "err", err)
				go func(envID, rev int64, cause string) { // retry later without blocking others
					select {
					case <-ctx.Done():
					case <-time.After(time.Second):
						r.request(envID, rev, cause)
					}
				}(envID, rev, causes[envID])
			}
			changed = changed || ok
		}
		if changed {
			r.p.writeSnapshotFile()
		}
	}
}

func (r *reloader) reloadEnv(ctx context.Context, envID int64, cause string) (bool, error) {
	set, err := loadEnvironment(ctx, r.p.cfg.Pool, envID)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return false, nil // environment deleted
		}
		return false, err
	}
	return r.p.applySet(envID, set, cause)
}

func (r *reloader) reloadKeys(ctx context.Context) {
	keys, err := loadKeys(ctx, r.p.cfg.Pool)
	if err != nil {
		r.p.log.Warn("reload keys failed", "err", err)
		return
	}
	r.p.applyKeys(keys, nil)
}

// loadAll reads every environment whose revision moved, then the keys.
func (r *reloader) loadAll(ctx context.Context, cause string) error {
	envs, err := db.New(r.p.cfg.Pool).ListEnvironmentRevisions(ctx)
	if err != nil {
		return fmt.Errorf("list environments: %w", err)
	}
	keys, err := loadKeys(ctx, r.p.cfg.Pool)
	if err != nil {
		return err
	}
	r.p.applyKeys(keys, nil)
	changed := false
	for _, e := range envs {
		if e.Revision <= r.p.Revision(e.ID) {
			continue
		}
		ok, err := r.reloadEnv(ctx, e.ID, cause)
		if err != nil {
			return err
		}
		changed = changed || ok
	}
	if changed {
		r.p.writeSnapshotFile()
	}
	return nil
}

// revisionHandler handles waypost_revision notifications; on every
// (re)connect its backlog hook compares all revisions, so whatever was
// announced while the connection was down is picked up.
type revisionHandler struct{ r *reloader }

func (h revisionHandler) HandleNotification(_ context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	var msg struct {
		EnvironmentID int64 `json:"environment_id"`
		Revision      int64 `json:"revision"`
	}
	if err := json.Unmarshal([]byte(n.Payload), &msg); err != nil || msg.EnvironmentID <= 0 {
		return fmt.Errorf("bad %s payload %q", RevisionChannel, n.Payload)
	}
	h.r.request(msg.EnvironmentID, msg.Revision, "notify")
	return nil
}

func (h revisionHandler) HandleBacklog(ctx context.Context, _ string, _ *pgx.Conn) error {
	envs, err := db.New(h.r.p.cfg.Pool).ListEnvironmentRevisions(ctx)
	if err != nil {
		return err
	}
	for _, e := range envs {
		h.r.request(e.ID, e.Revision, "reconnect")
	}
	return nil
}

func (p *Provider) listen(ctx context.Context, r *reloader) {
	l := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) {
			return pgx.ConnectConfig(ctx, p.cfg.Pool.Config().ConnConfig.Copy())
		},
		LogError: func(ctx context.Context, err error) {
			if ctx.Err() == nil {
				p.log.Warn("listen connection", "err", err)
			}
		},
		ReconnectDelay: time.Second,
	}
	l.Handle(RevisionChannel, revisionHandler{r: r})
	_ = l.Listen(ctx)
}

// periodic is the last resort: it compares every revision now and then.
func (p *Provider) periodic(ctx context.Context, r *reloader) {
	t := time.NewTicker(p.cfg.CheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			envs, err := db.New(p.cfg.Pool).ListEnvironmentRevisions(ctx)
			if err != nil {
				p.log.Warn("periodic revision check", "err", err)
				continue
			}
			for _, e := range envs {
				r.request(e.ID, e.Revision, "periodic")
			}
		}
	}
}

// registration keeps this provider's row in the providers table fresh (so
// workers send it webhooks), records SDK key use, and removes the row at
// shutdown.
func (p *Provider) registration(ctx context.Context) {
	q := db.New(p.cfg.Pool)
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if p.cfg.WebhookURL != "" {
				dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				_ = q.DeleteProvider(dctx, p.id)
				cancel()
			}
			return
		case <-t.C:
			p.register(ctx, q)
			_ = q.DeleteStaleProviders(ctx)
			if ids := p.takeUsedKeys(); len(ids) > 0 {
				if err := q.TouchSDKKeys(ctx, ids); err != nil && ctx.Err() == nil {
					p.log.Warn("record sdk key use", "err", err)
				}
			}
		}
	}
}

// register inserts or refreshes this provider's row.
func (p *Provider) register(ctx context.Context, q *db.Queries) {
	if p.cfg.WebhookURL == "" {
		return
	}
	n, err := q.HeartbeatProvider(ctx, p.id)
	if err == nil && n == 0 {
		err = q.RegisterProvider(ctx, db.RegisterProviderParams{ID: p.id, WebhookUrl: p.cfg.WebhookURL})
	}
	if err != nil && ctx.Err() == nil {
		p.log.Warn("provider registration", "err", err)
	}
}

// snapshotFile is the on-disk form of the last good state.
type snapshotFile struct {
	Environments map[int64]*eval.FlagSet `json:"environments"`
	Keys         []WebhookKeyWithEnv     `json:"keys"`
}

// WebhookKeyWithEnv is a key hash with its environment, for the snapshot file.
type WebhookKeyWithEnv struct {
	WebhookKey
	EnvironmentID int64 `json:"environmentId"`
}

func (p *Provider) writeSnapshotFile() {
	if p.cfg.SnapshotFile == "" {
		return
	}
	w := p.world.Load()
	out := snapshotFile{Environments: map[int64]*eval.FlagSet{}}
	for id, st := range w.envs {
		out.Environments[id] = st.set
	}
	for h, k := range w.keys {
		kind := "client"
		if k.server {
			kind = "server"
		}
		out.Keys = append(out.Keys, WebhookKeyWithEnv{WebhookKey: WebhookKey{ID: k.id, Kind: kind, SHA256: fmt.Sprintf("%x", h[:])}, EnvironmentID: k.envID})
	}
	b, err := json.Marshal(out)
	if err == nil {
		tmp := p.cfg.SnapshotFile + ".tmp"
		if err = os.MkdirAll(filepath.Dir(p.cfg.SnapshotFile), 0o700); err == nil {
			if err = os.WriteFile(tmp, b, 0o600); err == nil {
				err = os.Rename(tmp, p.cfg.SnapshotFile)
			}
		}
	}
	if err != nil {
		p.log.Warn("write snapshot file", "path", p.cfg.SnapshotFile, "err", err)
	}
}

func (p *Provider) loadSnapshotFile() error {
	b, err := os.ReadFile(p.cfg.SnapshotFile)
	if err != nil {
		return err
	}
	var in snapshotFile
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	for id, set := range in.Environments {
		if _, err := p.applySet(id, set, "snapshot_file"); err != nil {
			return err
		}
	}
	byEnv := map[int64][]WebhookKey{}
	for _, k := range in.Keys {
		byEnv[k.EnvironmentID] = append(byEnv[k.EnvironmentID], k.WebhookKey)
	}
	for envID, ks := range byEnv {
		keys, err := decodeWebhookKeys(WebhookPayload{EnvironmentID: envID, Keys: ks})
		if err != nil {
			return err
		}
		p.applyKeys(keys, []int64{envID})
	}
	return nil
}
