package waypost

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// EventSenderConfig configures an EventSender. ProviderURL and SDKKey are
// required.
type EventSenderConfig struct {
	ProviderURL string
	SDKKey      string
	HTTPClient  *http.Client // default: a client with a 10 s timeout
	// BatchSize is the most events per request (default and maximum 1000).
	BatchSize int
	// FlushInterval sends a partial batch after this long (default 2 s).
	FlushInterval time.Duration
	// Buffer bounds the queue (default 500,000 events, about 200 bytes
	// each while queued; the queue only grows while the provider is slow
	// or down). Only events beyond it are dropped, counted and warned
	// about.
	Buffer int
	// MaxAttempts per batch in one round (default 6); InitialBackoff and
	// MaxBackoff bound the delay between attempts (defaults 500 ms and
	// 30 s, doubling, with full jitter; a 429's Retry-After is honoured).
	// A batch still failing goes back to the head of the queue and is
	// retried on the next interval; only Close gives up on it (after
	// MaxAttempts more, or when its context ends).
	MaxAttempts    int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	Logger         *slog.Logger
}

// DefaultEventBuffer is EventSenderConfig.Buffer's default.
const DefaultEventBuffer = 500_000

// EventSender batches exposure and metric events and POSTs them to a
// provider's /v1/events (the built-in events store). Every event gets an
// idempotency key when queued and keeps it across retries, so a batch
// retried after a lost response is not counted twice. Queuing never
// blocks; the queue grows with a burst up to Buffer. Close sends
// everything queued. Use it as the client's exposure hook:
//
//	sender, _ := waypost.NewEventSender(waypost.EventSenderConfig{ProviderURL: url, SDKKey: key})
//	defer sender.Close(context.Background())
//	client, _ := waypost.New(waypost.Config{ProviderURL: url, SDKKey: key, OnExposure: sender.Exposure})
//	defer client.Close() // runs first: its queued exposures reach the sender
type EventSender struct {
	cfg      EventSenderConfig
	q        *queue[wireEvent]
	flush    chan flushRequest
	done     chan struct{}
	stopped  chan struct{}
	once     sync.Once
	closeCtx context.Context
	dropped  dropCounter
	sent     atomic.Uint64
}

type flushRequest struct {
	ctx   context.Context
	reply chan error
}

type wireEvent struct {
	Type           string    `json:"type"`
	IdempotencyKey string    `json:"idempotencyKey"`
	ExperimentKey  string    `json:"experimentKey,omitempty"`
	UserID         string    `json:"userId"`
	Variant        string    `json:"variant,omitempty"`
	Metric         string    `json:"metric,omitempty"`
	Value          *float64  `json:"value,omitempty"`
	Timestamp      time.Time `json:"timestamp"`
}

// NewEventSender starts a sender.
func NewEventSender(cfg EventSenderConfig) (*EventSender, error) {
	if cfg.ProviderURL == "" || cfg.SDKKey == "" {
		return nil, errors.New("waypost: EventSender needs ProviderURL and SDKKey")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.BatchSize <= 0 || cfg.BatchSize > 1000 {
		cfg.BatchSize = 1000
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 2 * time.Second
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultEventBuffer
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 6
	}
	if cfg.InitialBackoff <= 0 {
		cfg.InitialBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &EventSender{cfg: cfg, q: newQueue[wireEvent](cfg.Buffer), flush: make(chan flushRequest),
		done: make(chan struct{}), stopped: make(chan struct{}), closeCtx: context.Background(),
		dropped: dropCounter{log: cfg.Logger, what: "events"}}
	go s.run()
	return s, nil
}

// Exposure queues an exposure; its signature fits Config.OnExposure.
func (s *EventSender) Exposure(x Exposure) {
	ts := x.Timestamp
	if ts.IsZero() {
		ts = time.Now()
	}
	s.offer(wireEvent{Type: "exposure", ExperimentKey: x.ExperimentKey, UserID: x.UserID, Variant: x.Variant, Timestamp: ts})
}

// Track queues a metric event (value may be nil for binomial and count
// metrics).
func (s *EventSender) Track(userID, metric string, value *float64) {
	s.offer(wireEvent{Type: "metric", UserID: userID, Metric: metric, Value: value, Timestamp: time.Now()})
}

func (s *EventSender) offer(e wireEvent) {
	e.IdempotencyKey = newIdempotencyKey()
	e.Timestamp = e.Timestamp.UTC()
	select {
	case <-s.done:
		s.dropped.add(1, "sender closed")
		return
	default:
	}
	if !s.q.push(e) {
		s.dropped.add(1, "queue full (Buffer): the provider is not keeping up")
	}
}

func newIdempotencyKey() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Dropped returns how many events were dropped: queued beyond Buffer or
// after Close, refused by the provider (a 4xx other than 429), or still
// failing when Close gave up.
func (s *EventSender) Dropped() uint64 { return s.dropped.load() }

// Sent returns how many events the provider accepted.
func (s *EventSender) Sent() uint64 { return s.sent.Load() }

// Pending returns how many events are queued, not yet sent.
func (s *EventSender) Pending() int { return s.q.len() }

// Flush sends everything queued so far and waits for it; ctx bounds the
// retries (events not sent stay queued).
func (s *EventSender) Flush(ctx context.Context) error {
	req := flushRequest{ctx: ctx, reply: make(chan error, 1)}
	select {
	case s.flush <- req:
	case <-s.stopped:
		return errors.New("waypost: event sender is closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close sends everything queued (each batch gets MaxAttempts more
// attempts, within ctx) and stops the sender. Events it could not deliver
// are counted in Dropped and the error says how many.
func (s *EventSender) Close(ctx context.Context) error {
	s.once.Do(func() {
		s.closeCtx = ctx
		close(s.done)
	})
	<-s.stopped // promptly once ctx ends: requests and backoff use it
	if n := s.q.len(); n > 0 {
		s.dropped.add(n, "not delivered before Close gave up")
		s.q.pop(n)
		if err := context.Cause(ctx); err != nil {
			return fmt.Errorf("waypost: %d events not delivered: %w", n, err)
		}
		return fmt.Errorf("waypost: %d events not delivered (queued while closing)", n)
	}
	return nil
}

func (s *EventSender) run() {
	defer close(s.stopped)
	ticker := time.NewTicker(s.cfg.FlushInterval)
	defer ticker.Stop()
	// A round in progress when Close is called ends at once (its batch
	// goes back to the queue) so the final round can start.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		select {
		case <-s.q.ready:
			for s.q.len() >= s.cfg.BatchSize { // full batches now; a partial one waits for the interval
				if s.sendQueued(ctx, true, false) != nil {
					break
				}
			}
		case <-ticker.C:
			_ = s.sendQueued(ctx, false, false)
		case req := <-s.flush:
			req.reply <- s.sendQueued(req.ctx, false, false)
		case <-s.done:
			_ = s.sendQueued(s.closeCtx, false, true)
			return
		}
	}
}

// sendQueued sends the queue's batches in order (only full ones if
// fullOnly). A batch that still fails after its attempts goes back to the
// head of the queue and the round ends, unless final (Close), where it is
// dropped and the round goes on.
func (s *EventSender) sendQueued(ctx context.Context, fullOnly, final bool) error {
	var last error
	for {
		if fullOnly && s.q.len() < s.cfg.BatchSize {
			return last
		}
		batch := s.q.pop(s.cfg.BatchSize)
		if batch == nil {
			return last
		}
		retry, err := s.send(ctx, batch)
		if err == nil {
			continue
		}
		last = err
		if !retry {
			continue // refused: dropped and logged by send
		}
		if final && ctx.Err() == nil {
			s.dropped.add(len(batch), "provider unreachable at Close")
			s.cfg.Logger.Error("waypost: events not delivered at Close", "err", err, "events", len(batch))
			continue
		}
		s.q.pushFront(batch)
		return last
	}
}

// send posts one batch, retrying server errors, 429 and network failures
// with backoff up to MaxAttempts. It reports whether a failure may
// succeed later (retry); a 4xx answer other than 429 drops the batch:
// retrying the same events cannot succeed.
func (s *EventSender) send(ctx context.Context, events []wireEvent) (retry bool, err error) {
	body, err := json.Marshal(map[string]any{"events": events})
	if err != nil {
		s.dropped.add(len(events), "encoding failed")
		return false, fmt.Errorf("waypost: encode events: %w", err)
	}
	url := strings.TrimSuffix(s.cfg.ProviderURL, "/") + "/v1/events"
	backoff := s.cfg.InitialBackoff
	for attempt := 1; ; attempt++ {
		status, msg, wait, err := s.post(ctx, url, body)
		switch {
		case err == nil && status/100 == 2:
			s.sent.Add(uint64(len(events)))
			return false, nil
		case err == nil && status/100 == 4 && status != http.StatusTooManyRequests:
			s.dropped.add(len(events), "refused by the provider")
			s.cfg.Logger.Error("waypost: events refused", "status", status, "response", msg, "events", len(events))
			return false, fmt.Errorf("waypost: events refused with %d: %s", status, msg)
		}
		if err == nil {
			err = fmt.Errorf("provider answered %d: %s", status, msg)
		}
		if attempt >= s.cfg.MaxAttempts || ctx.Err() != nil {
			s.cfg.Logger.Warn("waypost: events not delivered yet; kept queued", "attempts", attempt, "err", err, "events", len(events))
			return true, fmt.Errorf("waypost: events not delivered after %d attempts: %w", attempt, err)
		}
		s.cfg.Logger.Warn("waypost: sending events failed; retrying", "attempt", attempt, "err", err)
		if wait <= 0 {
			wait = time.Duration(rand.Int64N(int64(backoff)) + 1)
		}
		t := time.NewTimer(min(wait, s.cfg.MaxBackoff))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		backoff = min(backoff*2, s.cfg.MaxBackoff)
	}
}

func (s *EventSender) post(ctx context.Context, url string, body []byte) (status int, msg string, retryAfter time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.cfg.SDKKey)
	res, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, "", 0, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if secs, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && secs > 0 {
		retryAfter = time.Duration(secs) * time.Second
	}
	return res.StatusCode, strings.TrimSpace(string(b)), retryAfter, nil
}
