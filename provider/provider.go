package provider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	wpmetrics "github.com/waypost/waypost/internal/metrics"

	"github.com/waypost/waypost/sdk/eval"
)

// Config configures a Provider. Zero durations take the defaults shown.
type Config struct {
	Pool          *pgxpool.Pool
	Log           *slog.Logger
	WebhookSecret string // HMAC key shared with workers
	// WebhookURL is registered in the providers table for workers to call
	// (e.g. http://10.0.0.5:8081/internal/webhook); empty: do not register.
	WebhookURL        string
	SnapshotFile      string        // optional: last good state, to start without the database
	HeartbeatInterval time.Duration // SSE ": ping" interval (15 s)
	CheckInterval     time.Duration // periodic revision check, the last resort (60 s)
	WriteTimeout      time.Duration // a write stuck this long closes the stream (250 ms)
	Writers           int           // goroutines serving single-stream wake-ups: new streams, pings, revocations (4)
	CORSOrigins       []string      // allowed browser origins for OFREP ("*" allows any)
	// PublicURL is the provider's base URL as clients reach it; OFREP's
	// eventStreams carry an absolute URL built from it. Empty: they carry
	// a path (endpoint.requestUri) that clients resolve against their own
	// configured base URL. Never derived from the request's Host header.
	PublicURL string
	// ConfigWait bounds how long a bulk evaluation waits for a revision a
	// client names in flagConfigEtag that this provider has not yet
	// applied (2 s); past it the answer is 503 with Retry-After.
	ConfigWait time.Duration
	// Version is reported in waypost_build_info ("dev" when empty).
	Version string
	// DisableNotify turns LISTEN/NOTIFY and the periodic check off, leaving
	// webhooks as the only way in (used to test each path on its own).
	DisableNotify bool
}

func (c *Config) defaults() {
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 15 * time.Second
	}
	if c.CheckInterval <= 0 {
		c.CheckInterval = 60 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 250 * time.Millisecond
	}
	if c.ConfigWait <= 0 {
		c.ConfigWait = 2 * time.Second
	}
	if c.Writers <= 0 {
		c.Writers = 4
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if len(c.CORSOrigins) == 0 {
		c.CORSOrigins = []string{"*"}
	}
}

// world is everything the provider serves, replaced as a whole.
type world struct {
	envs map[int64]*envState
	keys map[keyHash]keyInfo
}

// Provider holds flag sets in memory and serves them. Create with New,
// then run Run (data in) and serve Handler (data out).
type Provider struct {
	cfg Config
	id  string
	log *slog.Logger

	mu       sync.Mutex // serialises changes of world
	world    atomic.Pointer[world]
	ready    atomic.Bool
	stopping atomic.Bool // Run is ending: no new streams

	hubsMu sync.Mutex
	hubs   map[int64]*hub
	queue  chan *stream

	replay   *replayCache
	metrics  *metrics
	registry *prometheus.Registry // served at /metrics
	http     *wpmetrics.HTTP
	// learned records when each revision was applied (for latency figures).
	lastApply atomic.Int64
	// applied is closed (and replaced) whenever a revision is applied, for
	// requests waiting on a revision they know exists.
	applied atomic.Pointer[chan struct{}]
}

// New validates cfg and returns a provider that serves nothing until Run
// has loaded state.
func New(cfg Config) (*Provider, error) {
	cfg.defaults()
	if cfg.Pool == nil {
		return nil, errors.New("provider: a database pool is required")
	}
	if len(cfg.WebhookSecret) < 16 {
		return nil, errors.New("provider: the webhook secret must be at least 16 characters")
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("provider id: %w", err)
	}
	p := &Provider{
		cfg: cfg, id: hex.EncodeToString(b[:]), log: cfg.Log.With("component", "provider"),
		hubs: map[int64]*hub{}, queue: make(chan *stream, 1<<16),
		replay: newReplayCache(), metrics: newMetrics(),
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	p.registry = wpmetrics.NewRegistry("provider", cfg.Version)
	p.registry.MustRegister(collector{p}, p.metrics.broadcast)
	p.http = wpmetrics.NewHTTP(p.registry, "provider", "/v1/stream", "/ofrep/v1/events")
	p.world.Store(&world{envs: map[int64]*envState{}, keys: map[keyHash]keyInfo{}})
	applied := make(chan struct{})
	p.applied.Store(&applied)
	return p, nil
}

// ID is this provider instance's random id (its row in the providers table).
func (p *Provider) ID() string { return p.id }

// Ready reports whether the provider has state to serve and is not
// shutting down.
func (p *Provider) Ready() bool { return p.ready.Load() && !p.stopping.Load() }

// Revision returns the revision held for an environment (0 if none).
func (p *Provider) Revision(envID int64) int64 {
	if st := p.world.Load().envs[envID]; st != nil {
		return st.revision
	}
	return 0
}

// applySet installs a flag set for envID if it is newer than the one held.
// It reports whether it changed anything.
func (p *Provider) applySet(envID int64, set *eval.FlagSet, cause string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cur := p.world.Load()
	prev := cur.envs[envID]
	if prev != nil && set.Revision <= prev.revision {
		return false, nil
	}
	st, err := newEnvState(envID, set, prev)
	if err != nil {
		p.metrics.reloadFailed.Add(1)
		return false, err
	}
	envs := make(map[int64]*envState, len(cur.envs)+1)
	for k, v := range cur.envs {
		envs[k] = v
	}
	envs[envID] = st
	p.world.Store(&world{envs: envs, keys: cur.keys})
	p.lastApply.Store(time.Now().UnixNano())
	next := make(chan struct{})
	close(*p.applied.Swap(&next))
	p.metrics.reload(cause)
	p.hub(envID).broadcast(st)
	p.log.Debug("applied revision", "environment", st.key, "revision", st.revision, "cause", cause)
	return true, nil
}

// waitRevision returns the state of envID once it has at least revision
// want, or nil when that does not happen within ConfigWait.
func (p *Provider) waitRevision(ctx context.Context, envID, want int64) *envState {
	timer := time.NewTimer(p.cfg.ConfigWait)
	defer timer.Stop()
	for {
		ch := *p.applied.Load() // before reading state: a later apply closes it
		if st := p.world.Load().envs[envID]; st != nil && st.revision >= want {
			return st
		}
		select {
		case <-ch:
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// applyKeys replaces the valid keys of the given environments (all
// environments when envIDs is nil) and disconnects streams of keys that
// are no longer valid.
func (p *Provider) applyKeys(keys map[keyHash]keyInfo, envIDs []int64) {
	p.mu.Lock()
	cur := p.world.Load()
	next := make(map[keyHash]keyInfo, len(cur.keys)+len(keys))
	if envIDs != nil {
		only := map[int64]bool{}
		for _, id := range envIDs {
			only[id] = true
		}
		for h, k := range cur.keys {
			if !only[k.envID] {
				next[h] = k
			}
		}
	}
	for h, k := range keys {
		if old, ok := cur.keys[h]; ok && old.used != nil {
			k.used = old.used // keep the use mark across reloads
		} else if k.used == nil {
			k.used = new(atomic.Bool)
		}
		next[h] = k
	}
	p.world.Store(&world{envs: cur.envs, keys: next})
	p.mu.Unlock()

	removed := false
	for h := range cur.keys {
		if _, ok := next[h]; !ok {
			removed = true
			break
		}
	}
	if !removed { // nothing revoked: no stream to look at
		return
	}
	p.hubsMu.Lock()
	hubs := make([]*hub, 0, len(p.hubs))
	for _, h := range p.hubs {
		hubs = append(hubs, h)
	}
	p.hubsMu.Unlock()
	for _, h := range hubs {
		h.revokeMissing(next)
	}
}

// takeUsedKeys returns the ids of keys used since the last call.
func (p *Provider) takeUsedKeys() []int64 {
	var ids []int64
	for _, k := range p.world.Load().keys {
		if k.used != nil && k.used.Swap(false) {
			ids = append(ids, k.id)
		}
	}
	return ids
}

// notReady answers 503 with Retry-After while no state is loaded, so that
// clients retry instead of taking a 401 for a verdict on their key (which
// SDKs rightly treat as final). It reports whether it answered.
func (p *Provider) notReady(w http.ResponseWriter) bool {
	if p.Ready() {
		return false
	}
	w.Header().Set("Retry-After", "1")
	msg := "the provider is starting and has not loaded flags yet"
	if p.stopping.Load() {
		msg = "the provider is shutting down; another one will serve you"
	}
	writeError(w, http.StatusServiceUnavailable, "not_ready", msg)
	return true
}

// lookupKey authenticates an SDK key.
func (p *Provider) lookupKey(secret string) (keyInfo, *envState, bool) {
	if secret == "" {
		return keyInfo{}, nil, false
	}
	w := p.world.Load()
	k, ok := w.keys[hashKey(secret)]
	if !ok {
		return keyInfo{}, nil, false
	}
	if k.used != nil && !k.used.Load() {
		k.used.Store(true)
	}
	return k, w.envs[k.envID], true
}
