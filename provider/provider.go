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

	"github.com/waypost/waypost/internal/store"
	"github.com/waypost/waypost/sdk/eval"
)

// MinWebhookSecret is the shortest webhook secret accepted (bytes).
const MinWebhookSecret = 32

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

	st       *store.Store // every database read and write
	reloader *reloader    // the one reader of environment states
	snapWake chan struct{}

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
	if len(cfg.WebhookSecret) < MinWebhookSecret {
		return nil, fmt.Errorf("provider: the webhook secret must be at least %d bytes", MinWebhookSecret)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("provider id: %w", err)
	}
	p := &Provider{
		cfg: cfg, id: hex.EncodeToString(b[:]), log: cfg.Log.With("component", "provider"),
		hubs: map[int64]*hub{}, queue: make(chan *stream, 1<<16),
		replay: newReplayCache(), metrics: newMetrics(),
		st: store.New(cfg.Pool), snapWake: make(chan struct{}, 1),
	}
	p.reloader = &reloader{p: p, wake: make(chan struct{}, 1), wanted: map[int64]int64{}, cause: map[int64]string{}, heard: map[int64]time.Time{}}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	p.registry = wpmetrics.NewRegistry("provider", cfg.Version)
	p.registry.MustRegister(collector{p}, p.metrics.broadcast, p.metrics.stages)
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

// change says how a revision reached the provider, for the stage
// histograms (waypost_provider_change_stage_seconds).
type change struct {
	cause  string
	fromDB bool
	// heard is when the announcement (NOTIFY, webhook, check) arrived;
	// zero for loads nobody announced (start, snapshot file).
	heard time.Time
	// revised is when the revision was made (environments.revised_at);
	// zero when unknown.
	revised time.Time
}

// applyEnv installs an environment's flag set and its valid keys, read
// together (one snapshot), if the revision differs from the one held: a
// newer revision always, an older one only when it comes from the
// database (fromDB: the database was restored to an earlier revision, and
// its truth wins over what this provider held). Streams of keys that are
// no longer valid are closed before the new state is broadcast, so a
// revoked key never receives it. It reports whether it changed anything.
func (p *Provider) applyEnv(envID int64, set *eval.FlagSet, keys map[keyHash]keyInfo, cause string, fromDB bool) (bool, error) {
	return p.applyChange(envID, set, keys, change{cause: cause, fromDB: fromDB})
}

func (p *Provider) applyChange(envID int64, set *eval.FlagSet, keys map[keyHash]keyInfo, c change) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cur := p.world.Load()
	prev := cur.envs[envID]
	if prev != nil && set.Revision <= prev.revision {
		if set.Revision == prev.revision || !c.fromDB {
			return false, nil
		}
		p.log.Warn("the database holds an older revision than this provider: resetting to the database's (was it restored?)",
			"environment_id", envID, "held", prev.revision, "database", set.Revision)
		prev = nil // no patch across a reset: clients get the whole set
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
	keysNext, removed := replaceKeys(cur.keys, envID, keys)
	p.world.Store(&world{envs: envs, keys: keysNext})
	applied := time.Now()
	p.lastApply.Store(applied.UnixNano())
	appliedNext := make(chan struct{})
	close(*p.applied.Swap(&appliedNext))
	p.metrics.reload(c.cause)
	if removed {
		p.hub(envID).revokeMissing(keysNext)
	}
	p.hub(envID).broadcast(st, p.timeStages(c, applied))
	p.snapshotDue()
	p.log.Debug("applied revision", "environment", st.key, "revision", st.revision, "cause", c.cause)
	return true, nil
}

// timeStages records the stages of an announced change up to its apply,
// and returns the fanout that records the rest when the last stream has
// its bytes (nil for loads nobody announced).
func (p *Provider) timeStages(c change, applied time.Time) *fanout {
	if c.heard.IsZero() {
		return nil
	}
	observe := func(stage string, d time.Duration) {
		if d >= 0 {
			p.metrics.stages.WithLabelValues(stage, c.cause).Observe(d.Seconds())
		}
	}
	// The revision read may be newer than the one announced (coalesced):
	// then its time says nothing of this announcement.
	fromCommit := !c.revised.IsZero() && !c.heard.Before(c.revised)
	if fromCommit {
		observe("commit_to_heard", c.heard.Sub(c.revised))
	}
	observe("heard_to_applied", applied.Sub(c.heard))
	return newFanout(func(first, last int64) {
		if first == 0 {
			return // no stream took it
		}
		observe("applied_to_first_byte", time.Duration(first-applied.UnixNano()))
		observe("applied_to_last_byte", time.Duration(last-applied.UnixNano()))
		if fromCommit {
			observe("commit_to_last_byte", time.Unix(0, last).Sub(c.revised))
		}
	})
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

// dropKeys removes every key of an environment that no longer exists.
func (p *Provider) dropKeys(envID int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cur := p.world.Load()
	next, removed := replaceKeys(cur.keys, envID, nil)
	if !removed {
		return
	}
	p.world.Store(&world{envs: cur.envs, keys: next})
	p.hub(envID).revokeMissing(next)
	p.snapshotDue()
}

// replaceKeys returns cur with envID's keys replaced by keys (use marks
// kept), and whether a key of envID went away.
func replaceKeys(cur map[keyHash]keyInfo, envID int64, keys map[keyHash]keyInfo) (map[keyHash]keyInfo, bool) {
	next := make(map[keyHash]keyInfo, len(cur)+len(keys))
	removed := false
	for h, k := range cur {
		if k.envID != envID {
			next[h] = k
		} else if _, ok := keys[h]; !ok {
			removed = true
		}
	}
	for h, k := range keys {
		k.envID = envID
		if old, ok := cur[h]; ok && old.used != nil {
			k.used = old.used // keep the use mark across reloads
		} else if k.used == nil {
			k.used = new(atomic.Bool)
		}
		next[h] = k
	}
	return next, removed
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
