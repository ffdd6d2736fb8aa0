package waypost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/waypost/waypost/sdk/eval"
)

// Client evaluates flags from the latest flag set of one environment,
// kept current by a background connection to a Waypost provider. All
// methods are safe for concurrent use.
type Client struct {
	cfg  Config
	log  *slog.Logger
	snap atomic.Pointer[eval.Snapshot]
	exp  *exposer // nil without Config.OnExposure

	mu        sync.Mutex // guards status, listeners, closed
	status    Status
	listeners map[int]func(Event)
	nextID    int
	closed    bool

	ready     chan struct{} // closed when a flag set is first served
	readyOnce sync.Once
	failed    chan struct{} // closed when the sync loop gave up for good
	failOnce  sync.Once

	wire *eval.FlagSet // wire form of the served set; sync goroutine only (and New)

	http      *http.Client
	transport *http.Transport // owned by the client, or nil
	cancel    context.CancelFunc
	loopDone  chan struct{}
	closeOnce sync.Once
}

// New returns a client and starts its background sync. It does not wait
// for the network: use WaitForReady. ctx bounds only New's own work
// (loading the bootstrap file); the client runs until Close.
func New(ctx context.Context, cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "waypost"),
		listeners: map[int]func(Event){},
		ready:     make(chan struct{}),
		failed:    make(chan struct{}),
		loopDone:  make(chan struct{}),
	}
	if err := c.loadBootstrap(ctx); err != nil {
		return nil, err
	}
	if cfg.OnChange != nil {
		c.listeners[c.nextID] = func(e Event) {
			if e.Kind == EventChange {
				cfg.OnChange(e.Change)
			}
		}
		c.nextID++
	}
	if cfg.OnExposure != nil {
		c.exp = newExposer(cfg.OnExposure, cfg.ExposureBuffer, cfg.ExposureDedupe, c.log)
	}
	if cfg.Offline {
		close(c.loopDone)
		return c, nil
	}
	c.http = cfg.HTTPClient
	if c.http == nil {
		c.transport = http.DefaultTransport.(*http.Transport).Clone()
		c.http = &http.Client{Transport: c.transport}
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go c.run(loopCtx)
	return c, nil
}

// WaitForReady blocks until a flag set is served (from the provider or a
// bootstrap), ctx ends, or the client can never become ready (the key was
// rejected before any flag set arrived, or the client was closed).
func (c *Client) WaitForReady(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	default:
	}
	select {
	case <-c.ready:
		return nil
	case <-c.failed:
		if err := c.Status().Err; err != nil {
			return fmt.Errorf("waypost: not ready: %w", err)
		}
		return errors.New("waypost: not ready")
	case <-ctx.Done():
		return fmt.Errorf("waypost: waiting for flags: %w", ctx.Err())
	}
}

// Status returns the client's connection state and the served revision.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// DroppedExposures returns how many exposures were dropped because the
// exposure queue was full (ExposureBuffer entries waiting for the hook).
func (c *Client) DroppedExposures() uint64 {
	if c.exp == nil {
		return 0
	}
	return c.exp.dropped.load()
}

// Listen registers fn for change and status events and returns a function
// that unregisters it. fn runs on the client's sync goroutine, one event at
// a time and in order; it must not block for long, nor call Close.
func (c *Client) Listen(fn func(Event)) (cancel func()) {
	c.mu.Lock()
	id := c.nextID
	c.nextID++
	c.listeners[id] = fn
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(c.listeners, id)
		c.mu.Unlock()
	}
}

// Close stops the background sync and the exposure goroutine, and waits
// for them. Evaluation keeps working on the last flag set. Close is
// idempotent.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		if c.cancel != nil {
			c.cancel()
		}
		<-c.loopDone
		if c.exp != nil {
			c.exp.close()
		}
		if c.transport != nil {
			c.transport.CloseIdleConnections()
		}
		c.setState(StateClosed, ErrClosed)
		c.failOnce.Do(func() { close(c.failed) })
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
	})
	return nil
}

// emit delivers e to the listeners, outside the lock.
func (c *Client) emit(e Event) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	fns := make([]func(Event), 0, len(c.listeners))
	for _, id := range slices.Sorted(maps.Keys(c.listeners)) { // registration order
		fns = append(fns, c.listeners[id])
	}
	c.mu.Unlock()
	for _, fn := range fns {
		fn(e)
	}
}

// setState records a connection state and notifies listeners when it
// changed.
func (c *Client) setState(s State, err error) {
	c.mu.Lock()
	changed := c.status.State != s
	c.status.State = s
	c.status.Err = err
	st := c.status
	c.mu.Unlock()
	if changed {
		c.emit(Event{Kind: EventStatus, Status: st})
	}
}

// install serves a new flag set. wire must not be modified afterwards.
func (c *Client) install(wire *eval.FlagSet, snap *eval.Snapshot, src Source) {
	old := c.wire
	c.wire = wire
	c.snap.Store(snap)
	c.mu.Lock()
	c.status.Source = src
	c.status.Revision = wire.Revision
	c.mu.Unlock()
	c.readyOnce.Do(func() { close(c.ready) })
	if src == SourceProvider && c.cfg.PersistBootstrap {
		if err := writeBootstrap(c.cfg.BootstrapFile, wire); err != nil {
			c.log.Warn("waypost: persisting bootstrap file", "path", c.cfg.BootstrapFile, "err", err)
		}
	}
	if old == nil {
		return
	}
	if keys := changedKeys(old, wire); len(keys) > 0 {
		c.emit(Event{Kind: EventChange, Change: ChangeEvent{Revision: wire.Revision, ChangedKeys: keys}})
	}
}
