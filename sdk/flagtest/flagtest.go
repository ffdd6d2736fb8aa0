// Package flagtest is a test data source for applications that use the
// Waypost Go SDK, like LaunchDarkly's TestData: a test sets flag values
// and gets a real *waypost.Client serving them, with no Waypost provider
// or database. Changes made while a client runs reach it as they would
// from a provider (a put event on its stream), so change listeners fire.
//
//	td := flagtest.New(t)
//	td.Set("new-checkout", true)
//	td.SetForUser("banner", "user-1", "holiday")
//	client := td.Client(t)
//	client.Bool("new-checkout", "anyone", false) // true
package flagtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	waypost "github.com/waypost/waypost/sdk"
	"github.com/waypost/waypost/sdk/eval"
)

// TestData holds the flags served to the clients it creates. It is safe
// for concurrent use.
type TestData struct {
	t       testing.TB
	srv     *httptest.Server
	mu      sync.Mutex
	set     eval.FlagSet
	streams map[chan []byte]struct{}
}

// New starts a test data source; it stops when the test ends.
func New(t testing.TB) *TestData {
	t.Helper()
	td := &TestData{t: t, set: eval.FlagSet{Project: "test", Environment: "test", Revision: 1}, streams: map[chan []byte]struct{}{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/flags", td.serveFlags)
	mux.HandleFunc("GET /v1/stream", td.serveStream)
	td.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		td.mu.Lock()
		for ch := range td.streams {
			close(ch)
			delete(td.streams, ch)
		}
		td.mu.Unlock()
		td.srv.Close()
	})
	return td
}

// Config returns a client configuration that reads from td. Add your own
// OnChange, OnExposure or Logger before calling waypost.New.
func (td *TestData) Config() waypost.Config {
	return waypost.Config{ProviderURL: td.srv.URL, SDKKey: "wps_flagtest", HeartbeatTimeout: time.Hour,
		InitialBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
}

// Client returns a ready client serving td's flags, closed when the test
// ends.
func (td *TestData) Client(t testing.TB) *waypost.Client {
	t.Helper()
	c, err := waypost.New(context.Background(), td.Config())
	if err != nil {
		t.Fatalf("flagtest: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitForReady(ctx); err != nil {
		t.Fatalf("flagtest: %v", err)
	}
	return c
}

// Set serves value to everybody for flag key, creating the flag if
// needed. The value's Go type gives the flag's kind: bool, string, a
// number (int, float64...), or anything else as json (it must marshal to
// a JSON object). Changing a flag's kind replaces the flag.
func (td *TestData) Set(key string, value any) {
	td.t.Helper()
	td.update(key, value, "")
}

// SetForUser serves value to userID only (an individual assignment);
// everybody else keeps what Set gave (the kind's zero value if Set was
// never called for key).
func (td *TestData) SetForUser(key, userID string, value any) {
	td.t.Helper()
	if userID == "" {
		td.t.Fatal("flagtest: SetForUser needs a non-empty user id")
	}
	td.update(key, value, userID)
}

// Disable turns flag key off: every user gets the off variant (false,
// "", 0 or {}), reason DISABLED.
func (td *TestData) Disable(key string) {
	td.t.Helper()
	td.mu.Lock()
	defer td.mu.Unlock()
	for i := range td.set.Flags {
		if td.set.Flags[i].Key == key {
			td.set.Flags[i].Enabled = false
			td.publishLocked()
			return
		}
	}
	td.t.Fatalf("flagtest: Disable(%q): no such flag", key)
}

// Remove deletes flag key (clients then answer FLAG_NOT_FOUND).
func (td *TestData) Remove(key string) {
	td.mu.Lock()
	defer td.mu.Unlock()
	flags := td.set.Flags[:0]
	for _, f := range td.set.Flags {
		if f.Key != key {
			flags = append(flags, f)
		}
	}
	td.set.Flags = flags
	td.publishLocked()
}

func kindOf(value any) (eval.Kind, json.RawMessage, error) {
	raw, err := json.Marshal(value)
	if err != nil {
		return "", nil, err
	}
	switch value.(type) {
	case bool:
		return eval.KindBoolean, raw, nil
	case string:
		return eval.KindString, raw, nil
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return eval.KindNumber, raw, nil
	}
	if len(raw) == 0 || raw[0] != '{' {
		return "", nil, fmt.Errorf("a json flag value must marshal to a JSON object, got %s", raw)
	}
	return eval.KindJSON, raw, nil
}

func offValue(k eval.Kind) json.RawMessage {
	switch k {
	case eval.KindBoolean:
		return json.RawMessage("false")
	case eval.KindString:
		return json.RawMessage(`""`)
	case eval.KindNumber:
		return json.RawMessage("0")
	}
	return json.RawMessage("{}")
}

func (td *TestData) update(key string, value any, userID string) {
	td.t.Helper()
	kind, raw, err := kindOf(value)
	if err != nil {
		td.t.Fatalf("flagtest: %s: %v", key, err)
	}
	td.mu.Lock()
	defer td.mu.Unlock()
	idx := -1
	for i, f := range td.set.Flags {
		if f.Key == key {
			idx = i
		}
	}
	if idx < 0 || td.set.Flags[idx].Kind != kind {
		f := newFlag(key, kind)
		if idx < 0 {
			td.set.Flags = append(td.set.Flags, f)
			idx = len(td.set.Flags) - 1
		} else {
			td.set.Flags[idx] = f
		}
	}
	f := &td.set.Flags[idx]
	f.Version++
	f.Enabled = true
	variant := variantFor(f, raw)
	if userID == "" {
		for i := range f.Rollout {
			f.Rollout[i].Weight = 0
			if f.Rollout[i].Variant == variant {
				f.Rollout[i].Weight = eval.Buckets
			}
		}
	} else {
		assignments := make(map[string]string, len(f.Assignments)+1)
		for u, v := range f.Assignments {
			assignments[u] = v
		}
		assignments[userID] = variant
		f.Assignments = assignments
	}
	td.publishLocked()
}

// newFlag is a flag of kind serving its off value to everybody.
func newFlag(key string, kind eval.Kind) eval.Flag {
	f := eval.Flag{Key: key, Kind: kind, Enabled: true, OffVariant: "off", Salt: "flagtest." + key}
	f.Variants = []eval.Variant{{Key: "off", Value: offValue(kind)}}
	if kind == eval.KindBoolean {
		f.Variants = append(f.Variants, eval.Variant{Key: "on", Value: json.RawMessage("true")})
	}
	for i, v := range f.Variants {
		w := 0
		if i == 0 {
			w = eval.Buckets
		}
		f.Rollout = append(f.Rollout, eval.WeightedVariant{Variant: v.Key, Weight: w})
	}
	return f
}

// variantFor returns the variant holding raw, adding one if needed
// (booleans have exactly off and on).
func variantFor(f *eval.Flag, raw json.RawMessage) string {
	for _, v := range f.Variants {
		if string(v.Value) == string(raw) {
			return v.Key
		}
	}
	key := "v" + strconv.Itoa(len(f.Variants))
	f.Variants = append(f.Variants, eval.Variant{Key: key, Value: raw})
	f.Rollout = append(f.Rollout, eval.WeightedVariant{Variant: key})
	return key
}

// publishLocked bumps the revision, checks the set compiles, and pushes
// it to every open stream.
func (td *TestData) publishLocked() {
	td.t.Helper()
	td.set.Revision++
	sort.Slice(td.set.Flags, func(i, j int) bool { return td.set.Flags[i].Key < td.set.Flags[j].Key })
	if _, err := eval.Compile(&td.set); err != nil {
		td.t.Fatalf("flagtest: invalid flag set: %v", err)
	}
	ev := td.putLocked()
	for ch := range td.streams {
		select {
		case ch <- ev:
		default: // a stuck client reconnects and gets a put
		}
	}
}

func (td *TestData) bodyLocked() []byte {
	b, err := json.Marshal(&td.set)
	if err != nil {
		panic(err) // eval types always marshal
	}
	return b
}

func (td *TestData) putLocked() []byte {
	return []byte("event: put\nid: " + strconv.FormatInt(td.set.Revision, 10) + "\ndata: " + string(td.bodyLocked()) + "\n\n")
}

func (td *TestData) serveFlags(w http.ResponseWriter, _ *http.Request) {
	td.mu.Lock()
	body, etag := td.bodyLocked(), `"`+strconv.FormatInt(td.set.Revision, 10)+`"`
	td.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", etag)
	_, _ = w.Write(body)
}

func (td *TestData) serveStream(w http.ResponseWriter, r *http.Request) {
	ch := make(chan []byte, 64)
	td.mu.Lock()
	td.streams[ch] = struct{}{}
	first := td.putLocked()
	td.mu.Unlock()
	defer func() {
		td.mu.Lock()
		if _, ok := td.streams[ch]; ok {
			delete(td.streams, ch)
		}
		td.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	_, _ = w.Write(first)
	_ = rc.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case ev, ok := <-ch:
			if !ok {
				return
			}
			if _, err := w.Write(ev); err != nil {
				return
			}
			_ = rc.Flush()
		}
	}
}
