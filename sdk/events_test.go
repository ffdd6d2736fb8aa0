package waypost

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
