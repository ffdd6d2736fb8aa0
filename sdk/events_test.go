package waypost

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEventSenderRetriesWithSameIdempotencyKeys(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies [][]wireEvent
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/events" || r.Header.Get("Authorization") != "Bearer wps_test" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		var b struct{ Events []wireEvent }
		_ = json.NewDecoder(r.Body).Decode(&b)
		mu.Lock()
		defer mu.Unlock()
		calls++
		bodies = append(bodies, b.Events)
		if calls < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	s, err := NewEventSender(EventSenderConfig{ProviderURL: srv.URL, SDKKey: "wps_test", InitialBackoff: time.Millisecond,
		FlushInterval: time.Hour, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	s.Exposure(Exposure{ExperimentKey: "e", Variant: "on", UserID: "u1", Timestamp: time.Now()})
	v := 3.5
	s.Track("u1", "purchase", &v)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls != 3 || s.Sent() != 2 || s.Dropped() != 0 {
		t.Fatalf("calls %d sent %d dropped %d", calls, s.Sent(), s.Dropped())
	}
	for _, b := range bodies[1:] {
		for i := range b {
			if b[i].IdempotencyKey != bodies[0][i].IdempotencyKey || b[i].IdempotencyKey == "" {
				t.Fatal("a retried batch must keep its idempotency keys")
			}
		}
	}
	if bodies[0][0].Type != "exposure" || bodies[0][1].Type != "metric" || *bodies[0][1].Value != 3.5 {
		t.Fatalf("events %+v", bodies[0])
	}
}

func TestEventSenderDropsRefusedBatch(t *testing.T) {
	t.Parallel()
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.WriteHeader(http.StatusUnprocessableEntity)
	}))
	defer srv.Close()
	s, _ := NewEventSender(EventSenderConfig{ProviderURL: srv.URL, SDKKey: "k", FlushInterval: time.Hour, Logger: quietLogger()})
	s.Exposure(Exposure{ExperimentKey: "e", Variant: "on", UserID: "u1"})
	if err := s.Flush(context.Background()); err == nil {
		t.Fatal("a refused batch is reported")
	}
	_ = s.Close(context.Background())
	if calls != 1 || s.Dropped() != 1 {
		t.Fatalf("calls %d dropped %d: a 422 is not retried", calls, s.Dropped())
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// eventsServer records the idempotency keys it accepts; fail(n) makes the
// next n requests answer 503.
type eventsServer struct {
	*httptest.Server
	mu       sync.Mutex
	keys     map[string]int
	requests int
	failing  int
}

func newEventsServer(t *testing.T) *eventsServer {
	es := &eventsServer{keys: map[string]int{}}
	es.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b struct{ Events []wireEvent }
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		es.mu.Lock()
		defer es.mu.Unlock()
		es.requests++
		if es.failing > 0 {
			es.failing--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		for _, e := range b.Events {
			es.keys[e.IdempotencyKey]++
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(es.Close)
	return es
}

func (es *eventsServer) fail(n int) { es.mu.Lock(); es.failing = n; es.mu.Unlock() }

func (es *eventsServer) accepted() int { es.mu.Lock(); defer es.mu.Unlock(); return len(es.keys) }

func TestEventSenderCloseFlushesEverythingQueued(t *testing.T) {
	t.Parallel()
	es := newEventsServer(t)
	s, err := NewEventSender(EventSenderConfig{ProviderURL: es.URL, SDKKey: "k", FlushInterval: time.Hour, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	const n = 25_500 // many full batches and a partial one, far beyond the old 10,000 buffer
	for i := range n {
		s.Exposure(Exposure{ExperimentKey: "e", Variant: "on", UserID: "u" + strconv.Itoa(i)})
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if es.accepted() != n || s.Sent() != n || s.Dropped() != 0 || s.Pending() != 0 {
		t.Fatalf("accepted %d sent %d dropped %d pending %d, want %d sent", es.accepted(), s.Sent(), s.Dropped(), s.Pending(), n)
	}
	s.Exposure(Exposure{ExperimentKey: "e", Variant: "on", UserID: "late"})
	if s.Dropped() != 1 {
		t.Fatal("an event after Close is counted as dropped")
	}
}

// An outage longer than one batch's attempts keeps the events queued (in
// order, same keys); they are delivered once the provider is back.
func TestEventSenderKeepsEventsThroughAnOutage(t *testing.T) {
	t.Parallel()
	es := newEventsServer(t)
	es.fail(10)
	s, _ := NewEventSender(EventSenderConfig{ProviderURL: es.URL, SDKKey: "k", FlushInterval: time.Hour, MaxAttempts: 2,
		InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond, Logger: quietLogger()})
	for i := range 900 { // under BatchSize: only Flush sends
		s.Exposure(Exposure{ExperimentKey: "e", Variant: "on", UserID: "u" + strconv.Itoa(i)})
	}
	ctx := context.Background()
	for range 5 { // 2 attempts each: 10 failures
		if err := s.Flush(ctx); err == nil {
			t.Fatal("a flush during the outage reports it")
		}
		if s.Dropped() != 0 {
			t.Fatalf("dropped %d during an outage", s.Dropped())
		}
	}
	if s.Pending() != 900 {
		t.Fatalf("pending %d, want all 900 kept", s.Pending())
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if es.accepted() != 900 || s.Dropped() != 0 {
		t.Fatalf("accepted %d dropped %d", es.accepted(), s.Dropped())
	}
}

// Close gives up when its context ends, and says how many were lost.
func TestEventSenderCloseGivesUpWithContext(t *testing.T) {
	t.Parallel()
	es := newEventsServer(t)
	es.fail(1 << 30)
	s, _ := NewEventSender(EventSenderConfig{ProviderURL: es.URL, SDKKey: "k", FlushInterval: time.Hour, MaxAttempts: 1 << 20,
		InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Logger: quietLogger()})
	for i := range 10 {
		s.Track("u"+strconv.Itoa(i), "purchase", nil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := s.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "10 events not delivered") || s.Dropped() != 10 {
		t.Fatalf("err %v dropped %d", err, s.Dropped())
	}
}

// Events beyond Buffer are dropped and counted, with one warning for the
// whole overload rather than one per event.
func TestEventSenderQueueBoundDropsAndCounts(t *testing.T) {
	t.Parallel()
	es := newEventsServer(t)
	var log syncBuffer
	s, _ := NewEventSender(EventSenderConfig{ProviderURL: es.URL, SDKKey: "k", FlushInterval: time.Hour, BatchSize: 1000,
		Buffer: 100, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	for i := range 150 {
		s.Track("u"+strconv.Itoa(i), "purchase", nil)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.Dropped() != 50 || es.accepted() != 100 {
		t.Fatalf("dropped %d accepted %d", s.Dropped(), es.accepted())
	}
	if n := strings.Count(log.String(), "waypost: dropping events"); n != 1 {
		t.Fatalf("%d drop warnings, want 1:\n%s", n, log.String())
	}
}

// A partial batch goes out when FlushInterval passes: a running client's
// exposures reach the provider without Flush or Close.
func TestEventSenderSendsAPartialBatchEveryInterval(t *testing.T) {
	t.Parallel()
	es := newEventsServer(t)
	s, err := NewEventSender(EventSenderConfig{ProviderURL: es.URL, SDKKey: "k", FlushInterval: 50 * time.Millisecond,
		BatchSize: 1000, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	set := experimentSet()
	c, err := New(t.Context(), Config{Offline: true, Bootstrap: &set, Logger: quietLogger(), OnExposure: s.Exposure})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	const users = 10
	for i := range users {
		c.Bool("exp", "user-"+strconv.Itoa(i), false)
	}
	// Wait for the sender's own count too: the server has the batch before
	// the sender has read its answer and counted it sent.
	deadline := time.Now().Add(15 * time.Second) // generous: the interval is 50 ms
	for (es.accepted() < users || s.Sent() < users) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if es.accepted() != users || s.Sent() != users || s.Pending() != 0 || s.Dropped() != 0 {
		t.Fatalf("accepted %d sent %d pending %d dropped %d, want %d sent with no Close", es.accepted(), s.Sent(), s.Pending(), s.Dropped(), users)
	}
}
