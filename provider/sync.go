package provider

import (
	"context"
	"encoding/hex"
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

	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/migrate"
	"github.com/waypost/waypost/internal/store"
	"github.com/waypost/waypost/sdk/eval"
)

// RevisionChannel is the NOTIFY channel the database triggers announce new
// environment revisions on, with payload {"environment_id":1,"revision":42}.
const RevisionChannel = "waypost_revision"

// reloadTimeout bounds one environment read.
const reloadTimeout = 10 * time.Second

// snapshotEvery bounds how often the snapshot file is rewritten.
const snapshotEvery = time.Second

// Run loads state and keeps it current until ctx ends: the snapshot file
// first (serving from it at once when there is one), then the schema check
// and the initial load from the database (retried with backoff in the
// background while the database is down), webhook announcements (served
// by Handler), LISTEN/NOTIFY with a reload on every (re)connect, a
// periodic check, and the registration heartbeat. It returns nil when ctx
// ends, and an error when the database's schema is older than this binary.
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
		wg.Add(1)
		go func() { defer wg.Done(); p.snapshotWriter(done) }()
	}

	r := p.reloader
	if err := p.initialLoad(ctx, r); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
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
// until the schema check, the registration and the first full load
// succeed, or ctx ends. A schema older than this binary ends it with
// migrate.ErrSchemaBehind.
func (p *Provider) initialLoad(ctx context.Context, r *reloader) error {
	backoff := time.Second
	for {
		err := migrate.Check(ctx, p.cfg.Pool)
		if errors.Is(err, migrate.ErrSchemaBehind) {
			return err
		}
		if err == nil {
			// Register before loading: every change committed after this
			// point gets a webhook, and everything before it is in the load.
			err = p.register(ctx)
		}
		if err == nil {
			err = r.loadAll(ctx, "start")
		}
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
// environment costs one database read of its newest state. It is the only
// reader of environment states after the initial load, so its reads are
// in commit order and an older revision read from the database means the
// database went back (a restore), never a stale read.
type reloader struct {
	p      *Provider
	mu     sync.Mutex
	wanted map[int64]int64 // environment -> newest revision heard of (0: check)
	cause  map[int64]string
	heard  map[int64]time.Time // when the first request still wanted arrived
	wake   chan struct{}
}

// request asks for a reload of envID. revision > 0 is an announced
// revision (skipped when already held); 0 asks to check whatever the
// database holds, also an older revision.
func (r *reloader) request(envID, revision int64, cause string) {
	if revision > 0 && revision <= r.p.Revision(envID) {
		return
	}
	now := time.Now()
	r.mu.Lock()
	if cur, ok := r.wanted[envID]; !ok || (cur != 0 && (revision == 0 || revision > cur)) {
		r.wanted[envID] = revision
		r.cause[envID] = cause
	}
	if _, ok := r.heard[envID]; !ok {
		r.heard[envID] = now
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// compare requests a reload of every environment whose database revision
// differs from the one held (newer: load it; older: a restore, check it).
func (r *reloader) compare(envs []store.EnvRevision, cause string) {
	for _, e := range envs {
		held := r.p.Revision(e.ID)
		switch {
		case e.Revision > held:
			r.request(e.ID, e.Revision, cause)
		case e.Revision < held:
			r.request(e.ID, 0, cause)
		}
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
		wanted, causes, heard := r.wanted, r.cause, r.heard
		r.wanted, r.cause, r.heard = map[int64]int64{}, map[int64]string{}, map[int64]time.Time{}
		r.mu.Unlock()
		for envID, rev := range wanted {
			if rev > 0 && rev <= r.p.Revision(envID) {
				continue
			}
			if _, err := r.reloadEnv(ctx, envID, causes[envID], heard[envID]); err != nil && ctx.Err() == nil {
				r.p.log.Warn("reload failed; will retry", "environment_id", envID, "err", err)
				go func(envID, rev int64, cause string) { // retry later without blocking others
					select {
					case <-ctx.Done():
					case <-time.After(time.Second):
						r.request(envID, rev, cause)
					}
				}(envID, rev, causes[envID])
			}
		}
	}
}

// reloadEnv reads envID's flags and keys (one snapshot) and applies them;
// heard is when the reload was asked for (zero: not announced).
func (r *reloader) reloadEnv(ctx context.Context, envID int64, cause string, heard time.Time) (bool, error) {
	// A frozen database must not hold the reloader: give up and retry.
	ctx, cancel := context.WithTimeout(ctx, reloadTimeout)
	defer cancel()
	es, err := r.p.st.EnvironmentState(ctx, envID)
	if errs.IsKind(err, errs.KindNotFound) {
		r.p.dropKeys(envID) // environment deleted: its keys are gone
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return r.p.applyChange(envID, es.Set, keysOf(envID, es.Keys), change{cause: cause, fromDB: true, heard: heard, revised: es.RevisedAt})
}

func keysOf(envID int64, ks []store.ProviderKey) map[keyHash]keyInfo {
	out := make(map[keyHash]keyInfo, len(ks))
	for _, k := range ks {
		var h keyHash
		if len(k.Hash) != len(h) {
			continue
		}
		copy(h[:], k.Hash)
		out[h] = keyInfo{id: k.ID, envID: envID, server: k.Server}
	}
	return out
}

// loadAll reads every environment whose revision differs from the one
// held, and forgets the keys of environments that no longer exist.
func (r *reloader) loadAll(ctx context.Context, cause string) error {
	envs, err := r.p.st.EnvironmentRevisions(ctx)
	if err != nil {
		return err
	}
	exists := make(map[int64]bool, len(envs))
	for _, e := range envs {
		exists[e.ID] = true
		if e.Revision == r.p.Revision(e.ID) {
			continue
		}
		if _, err := r.reloadEnv(ctx, e.ID, cause, time.Time{}); err != nil {
			return err
		}
	}
	for id := range r.p.world.Load().envs {
		if !exists[id] {
			r.p.dropKeys(id)
		}
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
	envs, err := h.r.p.st.EnvironmentRevisions(ctx)
	if err != nil {
		return err
	}
	h.r.compare(envs, "reconnect")
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
			envs, err := p.st.EnvironmentRevisions(ctx)
			if err != nil {
				p.log.Warn("periodic revision check", "err", err)
				continue
			}
			r.compare(envs, "periodic")
		}
	}
}

// registration keeps this provider's row in the providers table fresh (so
// workers send it webhooks), records SDK key use, and removes the row at
// shutdown.
func (p *Provider) registration(ctx context.Context) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if p.cfg.WebhookURL != "" {
				dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				_ = p.st.DeleteProvider(dctx, p.id)
				cancel()
			}
			return
		case <-t.C:
			if err := p.register(ctx); err != nil && ctx.Err() == nil {
				p.log.Warn("provider registration", "err", err)
			}
			_ = p.st.DeleteStaleProviders(ctx)
			if ids := p.takeUsedKeys(); len(ids) > 0 {
				if err := p.st.TouchSDKKeys(ctx, ids); err != nil && ctx.Err() == nil {
					p.log.Warn("record sdk key use", "err", err)
				}
			}
		}
	}
}

// register inserts or refreshes this provider's row.
func (p *Provider) register(ctx context.Context) error {
	if p.cfg.WebhookURL == "" {
		return nil
	}
	return p.st.HeartbeatProvider(ctx, p.id, p.cfg.WebhookURL)
}

// snapshotFile is the on-disk form of the last good state.
type snapshotFile struct {
	Environments map[int64]*eval.FlagSet `json:"environments"`
	Keys         []WebhookKeyWithEnv     `json:"keys"`
}

// WebhookKeyWithEnv is a key hash with its environment, for the snapshot file.
type WebhookKeyWithEnv struct {
	ID            int64  `json:"id"`
	Kind          string `json:"kind"`
	SHA256        string `json:"sha256"` // hex
	EnvironmentID int64  `json:"environmentId"`
}

// snapshotDue asks the snapshot writer for a new file (called with p.mu
// held after every applied change).
func (p *Provider) snapshotDue() {
	if p.cfg.SnapshotFile == "" {
		return
	}
	select {
	case p.snapWake <- struct{}{}:
	default:
	}
}

// snapshotWriter writes the snapshot file after changes, at most once per
// snapshotEvery, and once more at shutdown when a change is pending.
func (p *Provider) snapshotWriter(done <-chan struct{}) {
	last := time.Time{}
	for {
		select {
		case <-done:
			select {
			case <-p.snapWake:
				p.writeSnapshotFile()
			default:
			}
			return
		case <-p.snapWake:
		}
		if wait := snapshotEvery - time.Since(last); wait > 0 {
			select {
			case <-done:
				p.writeSnapshotFile()
				return
			case <-time.After(wait):
			}
		}
		p.writeSnapshotFile()
		last = time.Now()
	}
}

// writeSnapshotFile writes the state held now, atomically (a temporary
// file renamed over the old one).
func (p *Provider) writeSnapshotFile() {
	w := p.world.Load()
	out := snapshotFile{Environments: map[int64]*eval.FlagSet{}, Keys: []WebhookKeyWithEnv{}}
	for id, st := range w.envs {
		out.Environments[id] = st.set
	}
	for h, k := range w.keys {
		kind := "client"
		if k.server {
			kind = "server"
		}
		out.Keys = append(out.Keys, WebhookKeyWithEnv{ID: k.id, Kind: kind, SHA256: hex.EncodeToString(h[:]), EnvironmentID: k.envID})
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
	byEnv := map[int64]map[keyHash]keyInfo{}
	for _, k := range in.Keys {
		raw, err := hex.DecodeString(k.SHA256)
		var h keyHash
		if err != nil || len(raw) != len(h) || (k.Kind != "server" && k.Kind != "client") {
			return fmt.Errorf("malformed key %d", k.ID)
		}
		copy(h[:], raw)
		if byEnv[k.EnvironmentID] == nil {
			byEnv[k.EnvironmentID] = map[keyHash]keyInfo{}
		}
		byEnv[k.EnvironmentID][h] = keyInfo{id: k.ID, envID: k.EnvironmentID, server: k.Kind == "server"}
	}
	for id, set := range in.Environments {
		if set == nil {
			return fmt.Errorf("environment %d: no flag set", id)
		}
		if _, err := p.applyEnv(id, set, byEnv[id], "snapshot_file", false); err != nil {
			return err
		}
	}
	return nil
}
