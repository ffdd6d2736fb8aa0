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
	// Buffer is the queue length; events beyond it are dropped and counted
	// (default 10,000).
	Buffer int
	// MaxAttempts per batch (default 6); InitialBackoff and MaxBackoff
	// bound the delay between attempts (defaults 500 ms and 30 s,
	// doubling, with full jitter).
	MaxAttempts    int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	Logger         *slog.Logger
}

// EventSender batches exposure and metric events and POSTs them to a
// provider's /v1/events (the built-in events store). Every event gets an
// idempotency key when queued and keeps it across retries, so a batch
// retried after a lost response is not counted twice. Use it as the
// client's exposure hook:
//
//	sender, _ := waypost.NewEventSender(waypost.EventSenderConfig{ProviderURL: url, SDKKey: key})
//	defer sender.Close(context.Background())
//	client, _ := waypost.New(waypost.Config{ProviderURL: url, SDKKey: key, OnExposure: sender.Exposure})
type EventSender struct {
	cfg     EventSenderConfig
	ch      chan wireEvent
	flush   chan chan error
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once
	dropped atomic.Uint64
	sent    atomic.Uint64
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
		cfg.Buffer = 10000
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
	s := &EventSender{cfg: cfg, ch: make(chan wireEvent, cfg.Buffer), flush: make(chan chan error),
		done: make(chan struct{}), stopped: make(chan struct{})}
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
		s.dropped.Add(1)
		return
	default:
	}
	select {
	case s.ch <- e:
	default:
		s.dropped.Add(1)
	}
}

func newIdempotencyKey() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Dropped returns how many events were dropped (queue full, or a batch
// refused or still failing after every attempt).
func (s *EventSender) Dropped() uint64 { return s.dropped.Load() }

// Sent returns how many events the provider accepted.
func (s *EventSender) Sent() uint64 { return s.sent.Load() }

// Flush sends everything queued so far and waits for it.
func (s *EventSender) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case s.flush <- reply:
	case <-s.stopped:
		return errors.New("waypost: event sender is closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close sends what is queued and stops the sender.
func (s *EventSender) Close(ctx context.Context) error {
	err := s.Flush(ctx)
	s.once.Do(func() { close(s.done) })
	select {
	case <-s.stopped:
	case <-ctx.Done():
		return ctx.Err()
	}
	return err
}

func (s *EventSender) run() {
	defer close(s.stopped)
	ticker := time.NewTicker(s.cfg.FlushInterval)
	defer ticker.Stop()
	var batch []wireEvent
	send := func() error {
		var last error
		for len(batch) > 0 {
			n := min(len(batch), s.cfg.BatchSize)
			if err := s.send(batch[:n]); err != nil {
				last = err
			}
			batch = batch[n:]
		}
		batch = nil
		return last
	}
	drain := func() {
		for {
			select {
			case e := <-s.ch:
				batch = append(batch, e)
			default:
				return
			}
		}
	}
	for {
		select {
		case e := <-s.ch:
			batch = append(batch, e)
			if len(batch) >= s.cfg.BatchSize {
				_ = send()
			}
		case <-ticker.C:
			_ = send()
		case reply := <-s.flush:
			drain()
			reply <- send()
		case <-s.done:
			drain()
			_ = send()
			return
		}
	}
}

// send posts one batch, retrying server errors and network failures with
// backoff; a 4xx answer (other than 429) drops the batch: retrying the
// same events cannot succeed.
func (s *EventSender) send(events []wireEvent) error {
	body, err := json.Marshal(map[string]any{"events": events})
	if err != nil {
		s.dropped.Add(uint64(len(events)))
		return fmt.Errorf("waypost: encode events: %w", err)
	}
	url := strings.TrimSuffix(s.cfg.ProviderURL, "/") + "/v1/events"
	backoff := s.cfg.InitialBackoff
	for attempt := 1; ; attempt++ {
		status, msg, err := s.post(url, body)
		switch {
		case err == nil && status/100 == 2:
			s.sent.Add(uint64(len(events)))
			return nil
		case err == nil && status/100 == 4 && status != http.StatusTooManyRequests:
			s.dropped.Add(uint64(len(events)))
			s.cfg.Logger.Error("waypost: events refused", "status", status, "response", msg, "events", len(events))
			return fmt.Errorf("waypost: events refused with %d: %s", status, msg)
		}
		if err == nil {
			err = fmt.Errorf("provider answered %d: %s", status, msg)
		}
		if attempt >= s.cfg.MaxAttempts {
			s.dropped.Add(uint64(len(events)))
			s.cfg.Logger.Error("waypost: events not delivered", "attempts", attempt, "err", err, "events", len(events))
			return fmt.Errorf("waypost: events not delivered after %d attempts: %w", attempt, err)
		}
		s.cfg.Logger.Warn("waypost: sending events failed; retrying", "attempt", attempt, "err", err)
		time.Sleep(time.Duration(rand.Int64N(int64(backoff)) + 1))
		backoff = min(backoff*2, s.cfg.MaxBackoff)
	}
}

func (s *EventSender) post(url string, body []byte) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.cfg.SDKKey)
	res, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	return res.StatusCode, strings.TrimSpace(string(b)), nil
}
