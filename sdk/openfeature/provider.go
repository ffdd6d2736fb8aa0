package openfeature

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"
	waypost "github.com/waypost/waypost/sdk"
	"github.com/waypost/waypost/sdk/eval"
)

// Name is the provider name reported in OpenFeature metadata and events.
const Name = "waypost"

// DefaultInitTimeout bounds Init when its context has no earlier deadline.
const DefaultInitTimeout = 30 * time.Second

// Provider is an OpenFeature FeatureProvider, StateHandler
// (ContextAwareStateHandler) and EventHandler over a *waypost.Client.
// Shutdown closes the client.
type Provider struct {
	client      *waypost.Client
	initTimeout time.Duration

	events   chan of.Event
	done     chan struct{}
	stop     func()
	shutOnce sync.Once

	mu       sync.Mutex
	started  bool // Init has returned: status changes are reported
	degraded bool // STALE or ERROR was reported last
}

var (
	_ of.FeatureProvider          = (*Provider)(nil)
	_ of.ContextAwareStateHandler = (*Provider)(nil)
	_ of.EventHandler             = (*Provider)(nil)
)

// Option configures a Provider.
type Option func(*Provider)

// WithInitTimeout bounds how long Init waits for the first flag set
// (default 30 s; a shorter context deadline wins).
func WithInitTimeout(d time.Duration) Option {
	return func(p *Provider) { p.initTimeout = d }
}

// NewProvider returns a provider evaluating through client.
func NewProvider(client *waypost.Client, opts ...Option) *Provider {
	p := &Provider{
		client:      client,
		initTimeout: DefaultInitTimeout,
		events:      make(chan of.Event, 16),
		done:        make(chan struct{}),
	}
	for _, o := range opts {
		o(p)
	}
	p.stop = client.Listen(p.onClientEvent)
	return p
}

// Metadata names the provider.
func (p *Provider) Metadata() of.Metadata { return of.Metadata{Name: Name} }

// Hooks returns no provider hooks.
func (p *Provider) Hooks() []of.Hook { return nil }

// EventChannel delivers the provider's events to OpenFeature.
func (p *Provider) EventChannel() <-chan of.Event { return p.events }

// Init waits for the client's first flag set (see InitWithContext).
func (p *Provider) Init(evalCtx of.EvaluationContext) error {
	return p.InitWithContext(context.Background(), evalCtx)
}

// InitWithContext waits until the client serves flags, ctx ends or the
// init timeout passes. A rejected SDK key is PROVIDER_FATAL; other
// failures leave the provider in ERROR until the client connects, which
// is then reported as PROVIDER_READY.
func (p *Provider) InitWithContext(ctx context.Context, _ of.EvaluationContext) error {
	ctx, cancel := context.WithTimeout(ctx, p.initTimeout)
	defer cancel()
	err := p.client.WaitForReady(ctx)
	p.mu.Lock()
	p.started = true
	p.degraded = err != nil
	p.mu.Unlock()
	if err == nil {
		return nil
	}
	code := of.ProviderNotReadyCode
	if errors.Is(err, waypost.ErrUnauthorized) || errors.Is(err, waypost.ErrForbidden) ||
		errors.Is(err, waypost.ErrKeyRevoked) || errors.Is(err, waypost.ErrClosed) {
		code = of.ProviderFatalCode
	}
	return &of.ProviderInitError{ErrorCode: code, Message: fmt.Sprintf("waypost: init: %v", err)}
}

// Shutdown stops event delivery and closes the client.
func (p *Provider) Shutdown() { _ = p.ShutdownWithContext(context.Background()) }

// ShutdownWithContext stops event delivery and closes the client.
func (p *Provider) ShutdownWithContext(context.Context) error {
	var err error
	p.shutOnce.Do(func() {
		p.stop()
		close(p.done) // unblocks a pending event send
		err = p.client.Close()
		close(p.events)
	})
	return err
}

// onClientEvent translates client events; it runs on the client's sync
// goroutine.
func (p *Provider) onClientEvent(e waypost.Event) {
	p.mu.Lock()
	if !p.started {
		p.mu.Unlock()
		return // the outcome of Init is OpenFeature's first event
	}
	var out *of.Event
	switch e.Kind {
	case waypost.EventChange:
		out = p.event(of.ProviderConfigChange, fmt.Sprintf("revision %d", e.Change.Revision))
		out.FlagChanges = e.Change.ChangedKeys
		out.EventMetadata = map[string]any{"revision": e.Change.Revision}
		if p.degraded {
			// A configuration change also marks the provider READY in
			// OpenFeature; keep the reported state honest.
			out = nil
		}
	case waypost.EventStatus:
		switch e.Status.State {
		case waypost.StateConnected:
			if p.degraded {
				out = p.event(of.ProviderReady, "connected")
				p.degraded = false
			}
		case waypost.StateDisconnected:
			if !p.degraded {
				out = p.event(of.ProviderStale, fmt.Sprintf("stream down, serving revision %d: %v", e.Status.Revision, e.Status.Err))
				p.degraded = true
			}
		case waypost.StateFailed:
			out = p.event(of.ProviderError, fmt.Sprintf("sdk key rejected, serving revision %d: %v", e.Status.Revision, e.Status.Err))
			out.ErrorCode = of.GeneralCode // not fatal: the last flags are still served
			p.degraded = true
		}
	}
	p.mu.Unlock()
	if out == nil {
		return
	}
	select {
	case p.events <- *out:
	case <-p.done:
	}
}

func (p *Provider) event(t of.EventType, msg string) *of.Event {
	return &of.Event{ProviderName: Name, EventType: t, ProviderEventDetails: of.ProviderEventDetails{Message: msg}}
}

// resolve reads the targeting key and evaluates with get, or returns def
// with the context error.
func resolve[T any](fc of.FlattenedContext, def T, get func(user string) (T, eval.Result)) (T, of.ProviderResolutionDetail) {
	user, rerr := targetingKey(fc)
	if rerr != nil {
		return def, errorDetail(*rerr)
	}
	v, r := get(user)
	return v, detail(r)
}

// BooleanEvaluation evaluates a boolean flag.
func (p *Provider) BooleanEvaluation(_ context.Context, flag string, def bool, fc of.FlattenedContext) of.BoolResolutionDetail {
	v, d := resolve(fc, def, func(u string) (bool, eval.Result) { return p.client.BoolDetail(flag, u, def) })
	return of.BoolResolutionDetail{Value: v, ProviderResolutionDetail: d}
}

// StringEvaluation evaluates a string flag.
func (p *Provider) StringEvaluation(_ context.Context, flag string, def string, fc of.FlattenedContext) of.StringResolutionDetail {
	v, d := resolve(fc, def, func(u string) (string, eval.Result) { return p.client.StringDetail(flag, u, def) })
	return of.StringResolutionDetail{Value: v, ProviderResolutionDetail: d}
}

// FloatEvaluation evaluates a number flag.
func (p *Provider) FloatEvaluation(_ context.Context, flag string, def float64, fc of.FlattenedContext) of.FloatResolutionDetail {
	v, d := resolve(fc, def, func(u string) (float64, eval.Result) { return p.client.FloatDetail(flag, u, def) })
	return of.FloatResolutionDetail{Value: v, ProviderResolutionDetail: d}
}

// IntEvaluation evaluates a number flag whose served value is integral.
func (p *Provider) IntEvaluation(_ context.Context, flag string, def int64, fc of.FlattenedContext) of.IntResolutionDetail {
	v, d := resolve(fc, def, func(u string) (int64, eval.Result) { return p.client.IntDetail(flag, u, def) })
	return of.IntResolutionDetail{Value: v, ProviderResolutionDetail: d}
}

// ObjectEvaluation evaluates a json flag and returns its decoded value
// (map[string]any, []any, string, float64, bool or nil).
func (p *Provider) ObjectEvaluation(_ context.Context, flag string, def any, fc of.FlattenedContext) of.InterfaceResolutionDetail {
	user, rerr := targetingKey(fc)
	if rerr != nil {
		return of.InterfaceResolutionDetail{Value: def, ProviderResolutionDetail: errorDetail(*rerr)}
	}
	raw, r := p.client.JSONDetail(flag, user, nil)
	if r.Reason == eval.ReasonError {
		return of.InterfaceResolutionDetail{Value: def, ProviderResolutionDetail: detail(r)}
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return of.InterfaceResolutionDetail{Value: def, ProviderResolutionDetail: errorDetail(
			of.NewParseErrorResolutionError(fmt.Sprintf("flag %q: decode value", flag), err))}
	}
	return of.InterfaceResolutionDetail{Value: v, ProviderResolutionDetail: detail(r)}
}
