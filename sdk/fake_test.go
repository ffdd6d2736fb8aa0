package waypost

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/waypost/waypost/sdk/eval"
)

const testKey = "wps_test"

// fakeProvider speaks the provider side of docs/protocol.md over
// httptest, with knobs for failure modes.
type fakeProvider struct {
	t   testing.TB
	srv *httptest.Server

	mu          sync.Mutex
	set         eval.FlagSet
	status      int // non-zero: every request is answered with it
	flagsCalls  int
	streamCalls int

	streams chan *fakeStream // every accepted stream connection
}

// fakeStream is one open /v1/stream connection.
type fakeStream struct {
	lastEventID string
	out         chan string   // raw SSE text to write
	end         chan struct{} // closed: the handler returns
	endOnce     sync.Once
}

func (s *fakeStream) send(raw string) { s.out <- raw }
func (s *fakeStream) close()          { s.endOnce.Do(func() { close(s.end) }) }

func newFakeProvider(t testing.TB, set eval.FlagSet) *fakeProvider {
	t.Helper()
	fp := &fakeProvider{t: t, set: set, streams: make(chan *fakeStream, 64)}
	fp.srv = httptest.NewServer(fp.handler())
	t.Cleanup(fp.stop)
	return fp
}

// stop ends every stream and closes the server.
func (fp *fakeProvider) stop() {
	fp.srv.CloseClientConnections()
	fp.srv.Close()
}

// restart closes the server and serves the same address again with set.
func (fp *fakeProvider) restart(set eval.FlagSet) {
	addr := fp.srv.Listener.Addr().String()
	fp.stop()
	fp.mu.Lock()
	fp.set = set
	fp.mu.Unlock()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fp.t.Fatalf("relisten on %s: %v", addr, err)
	}
	fp.srv = httptest.NewUnstartedServer(fp.handler())
	fp.srv.Listener.Close()
	fp.srv.Listener = l
	fp.srv.Start()
}

func (fp *fakeProvider) url() string { return fp.srv.URL }

func (fp *fakeProvider) setStatus(code int) {
	fp.mu.Lock()
	fp.status = code
	fp.mu.Unlock()
}

// update replaces the current set (the revision is whatever set says).
func (fp *fakeProvider) update(set eval.FlagSet) {
	fp.mu.Lock()
	fp.set = set
	fp.mu.Unlock()
}

func (fp *fakeProvider) counts() (flags, streams int) {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	return fp.flagsCalls, fp.streamCalls
}

// nextStream waits for the next stream connection.
func (fp *fakeProvider) nextStream() *fakeStream {
	fp.t.Helper()
	select {
	case s := <-fp.streams:
		return s
	case <-time.After(10 * time.Second):
		fp.t.Fatal("timed out waiting for a stream connection")
		return nil
	}
}

func (fp *fakeProvider) authorize(w http.ResponseWriter, r *http.Request) bool {
	fp.mu.Lock()
	status := fp.status
	fp.mu.Unlock()
	if status == 0 && r.Header.Get("Authorization") != "Bearer "+testKey {
		status = http.StatusUnauthorized
	}
	if status == 0 {
		return true
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":"x","message":"status %d"}}`, status)
	return false
}

func (fp *fakeProvider) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/flags", func(w http.ResponseWriter, r *http.Request) {
		fp.mu.Lock()
		fp.flagsCalls++
		set := fp.set
		fp.mu.Unlock()
		if !fp.authorize(w, r) {
			return
		}
		etag := strconv.Quote(strconv.FormatInt(set.Revision, 10))
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	})
	mux.HandleFunc("GET /v1/stream", func(w http.ResponseWriter, r *http.Request) {
		fp.mu.Lock()
		fp.streamCalls++
		set := fp.set
		fp.mu.Unlock()
		if !fp.authorize(w, r) {
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "retry: 1000\n\n")
		last := r.Header.Get("Last-Event-ID")
		if last != strconv.FormatInt(set.Revision, 10) {
			io.WriteString(w, putEvent(fp.t, set))
		}
		w.(http.Flusher).Flush()
		s := &fakeStream{lastEventID: last, out: make(chan string, 16), end: make(chan struct{})}
		fp.streams <- s
		for {
			select {
			case raw := <-s.out:
				if _, err := io.WriteString(w, raw); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			case <-s.end:
				// Events sent before close are written first: select picks
				// at random among ready cases, and a send followed by close
				// must not lose the send.
				for {
					select {
					case raw := <-s.out:
						_, _ = io.WriteString(w, raw)
					default:
						w.(http.Flusher).Flush()
						return
					}
				}
			case <-r.Context().Done():
				return
			}
		}
	})
	return mux
}

func putEvent(t testing.TB, set eval.FlagSet) string {
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return fmt.Sprintf("event: put\nid: %d\ndata: %s\n\n", set.Revision, b)
}

func patchEventText(t testing.TB, base, rev int64, flags []eval.Flag, deleted []string) string {
	b, err := json.Marshal(patchEvent{Revision: rev, BaseRevision: base, Flags: flags, Deleted: deleted})
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return fmt.Sprintf("event: patch\nid: %d\ndata: %s\n\n", rev, b)
}

// boolFlag is a boolean flag serving "on" to onWeight basis points.
func boolFlag(key string, onWeight int, version int64) eval.Flag {
	return eval.Flag{
		Key: key, Kind: eval.KindBoolean, Enabled: true, OffVariant: "off",
		Variants: []eval.Variant{{Key: "off", Value: json.RawMessage("false")}, {Key: "on", Value: json.RawMessage("true")}},
		Rollout:  []eval.WeightedVariant{{Variant: "off", Weight: eval.Buckets - onWeight}, {Variant: "on", Weight: onWeight}},
		Salt:     "salt-" + key, Version: version,
	}
}

func flagSet(rev int64, flags ...eval.Flag) eval.FlagSet {
	return eval.FlagSet{Project: "default", Environment: "test", Revision: rev, Flags: flags}
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newTestClient starts a client against url with fast retries; it is
// closed at cleanup.
func newTestClient(t testing.TB, url string, tweak func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		ProviderURL:    url,
		SDKKey:         testKey,
		Logger:         testLogger(t),
		InitialBackoff: time.Millisecond,
		MaxBackoff:     10 * time.Millisecond,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor polls cond until it holds or a generous timeout expires.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func waitRevision(t testing.TB, c *Client, rev int64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("revision %d", rev), func() bool { return c.Status().Revision == rev })
}

func waitState(t testing.TB, c *Client, s State) {
	t.Helper()
	waitFor(t, "state "+s.String(), func() bool { return c.Status().State == s })
}

// changeRecorder collects OnChange events.
type changeRecorder struct {
	mu     sync.Mutex
	events []ChangeEvent
}

func (r *changeRecorder) record(e ChangeEvent) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *changeRecorder) get() []ChangeEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ChangeEvent(nil), r.events...)
}
