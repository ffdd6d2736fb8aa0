package openfeature_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/waypost/waypost/sdk/internal/require"
	"go.uber.org/goleak"

	waypost "github.com/waypost/waypost/sdk"
	"github.com/waypost/waypost/sdk/eval"
	wpof "github.com/waypost/waypost/sdk/openfeature"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const key = "wps_of_test"

// provider is a minimal Waypost provider: /v1/flags and /v1/stream, with
// streams fed by the test.
type provider struct {
	srv     *httptest.Server
	mu      sync.Mutex
	set     eval.FlagSet
	status  int
	streams chan chan string
}

func newProvider(t *testing.T, set eval.FlagSet) *provider {
	p := &provider{set: set, streams: make(chan chan string, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/flags", func(w http.ResponseWriter, r *http.Request) {
		set, ok := p.auth(w, r)
		if !ok {
			return
		}
		w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(set.Revision, 10)))
		_ = json.NewEncoder(w).Encode(set)
	})
	mux.HandleFunc("GET /v1/stream", func(w http.ResponseWriter, r *http.Request) {
		set, ok := p.auth(w, r)
		if !ok {
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		if r.Header.Get("Last-Event-ID") != strconv.FormatInt(set.Revision, 10) {
			b, _ := json.Marshal(set)
			fmt.Fprintf(w, "event: put\nid: %d\ndata: %s\n\n", set.Revision, b)
		}
		w.(http.Flusher).Flush()
		out := make(chan string, 16)
		p.streams <- out
		for {
			select {
			case raw, ok := <-out:
				if !ok {
					return
				}
				io.WriteString(w, raw)
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				return
			}
		}
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(func() { p.srv.CloseClientConnections(); p.srv.Close() })
	return p
}

func (p *provider) auth(w http.ResponseWriter, r *http.Request) (eval.FlagSet, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	status := p.status
	if status == 0 && r.Header.Get("Authorization") != "Bearer "+key {
		status = http.StatusUnauthorized
	}
	if status != 0 {
		w.WriteHeader(status)
		return p.set, false
	}
	return p.set, true
}

func (p *provider) setStatus(code int) { p.mu.Lock(); p.status = code; p.mu.Unlock() }

func (p *provider) nextStream(t *testing.T) chan string {
	t.Helper()
	select {
	case s := <-p.streams:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no stream connection")
		return nil
	}
}

func variants(kv ...string) []eval.Variant {
	var vs []eval.Variant
	for i := 0; i < len(kv); i += 2 {
		vs = append(vs, eval.Variant{Key: kv[i], Value: json.RawMessage(kv[i+1])})
	}
	return vs
}

func static(key string, kind eval.Kind, vs []eval.Variant, serve string) eval.Flag {
	var rollout []eval.WeightedVariant
	for _, v := range vs {
		w := 0
		if v.Key == serve {
			w = eval.Buckets
		}
		rollout = append(rollout, eval.WeightedVariant{Variant: v.Key, Weight: w})
	}
	return eval.Flag{Key: key, Kind: kind, Variants: vs, Enabled: true, OffVariant: vs[0].Key, Rollout: rollout, Salt: "s-" + key, Version: 4}
}

func testSet(rev int64) eval.FlagSet {
	boolVs := variants("off", "false", "on", "true")
	exp := static("exp", eval.KindBoolean, boolVs, "on")
	exp.Experiment = &eval.Experiment{Key: "exp-key", Traffic: eval.Buckets}
	split := static("split", eval.KindBoolean, boolVs, "on")
	split.Rollout = []eval.WeightedVariant{{Variant: "off", Weight: 5000}, {Variant: "on", Weight: 5000}}
	split.Assignments = map[string]string{"vip": "on"}
	disabled := static("disabled", eval.KindBoolean, boolVs, "on")
	disabled.Enabled = false
	return eval.FlagSet{Project: "p", Environment: "e", Revision: rev, Flags: []eval.Flag{
		static("bool", eval.KindBoolean, boolVs, "on"),
		static("str", eval.KindString, variants("a", `"alpha"`, "b", `"beta"`), "b"),
		static("num", eval.KindNumber, variants("one", "1", "half", "0.5"), "one"),
		static("frac", eval.KindNumber, variants("one", "1", "half", "0.5"), "half"),
		static("obj", eval.KindJSON, variants("x", `{"title":"Hi","sizes":[1,2]}`), "x"),
		exp, split, disabled,
	}}
}

// setup registers a Waypost provider on the global OpenFeature API.
func setup(t *testing.T, p *provider, tweak func(*waypost.Config)) (*waypost.Client, *wpof.Provider) {
	t.Helper()
	cfg := waypost.Config{
		ProviderURL: p.srv.URL, SDKKey: key,
		Logger:         slog.New(slog.NewTextHandler(t.Output(), nil)),
		InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := waypost.New(t.Context(), cfg)
	require.NoError(t, err)
	prov := wpof.NewProvider(c, wpof.WithInitTimeout(10*time.Second))
	t.Cleanup(of.Shutdown) // shuts the provider down, which closes the client
	t.Cleanup(func() { c.Close() })
	return c, prov
}

func evalCtx(user string) of.EvaluationContext { return of.NewEvaluationContext(user, nil) }

func TestEvaluationsThroughOpenFeature(t *testing.T) {
	p := newProvider(t, testSet(1))
	_, prov := setup(t, p, nil)
	require.NoError(t, of.SetProviderAndWait(prov))
	client := of.NewDefaultClient()
	ctx := context.Background()

	b, err := client.BooleanValueDetails(ctx, "bool", false, evalCtx("u"))
	require.NoError(t, err)
	require.True(t, b.Value)
	require.Equal(t, of.StaticReason, b.Reason)
	require.Equal(t, "on", b.Variant)
	v, err := b.FlagMetadata.GetInt("version")
	require.NoError(t, err)
	require.EqualValues(t, 4, v)

	s, err := client.StringValueDetails(ctx, "str", "d", evalCtx("u"))
	require.NoError(t, err)
	require.Equal(t, "beta", s.Value)

	f, err := client.FloatValueDetails(ctx, "frac", 0, evalCtx("u"))
	require.NoError(t, err)
	require.Equal(t, 0.5, f.Value)

	i, err := client.IntValueDetails(ctx, "num", 0, evalCtx("u"))
	require.NoError(t, err)
	require.EqualValues(t, 1, i.Value)

	i, err = client.IntValueDetails(ctx, "frac", 7, evalCtx("u"))
	require.Error(t, err)
	require.EqualValues(t, 7, i.Value)
	require.Equal(t, of.TypeMismatchCode, i.ErrorCode)

	o, err := client.ObjectValueDetails(ctx, "obj", nil, evalCtx("u"))
	require.NoError(t, err)
	require.Equal(t, map[string]any{"title": "Hi", "sizes": []any{1.0, 2.0}}, o.Value)

	e, err := client.BooleanValueDetails(ctx, "exp", false, evalCtx("u"))
	require.NoError(t, err)
	require.Equal(t, of.SplitReason, e.Reason)
	ek, err := e.FlagMetadata.GetString("experimentKey")
	require.NoError(t, err)
	require.Equal(t, "exp-key", ek)

	vip, err := client.BooleanValueDetails(ctx, "split", false, evalCtx("vip"))
	require.NoError(t, err)
	require.Equal(t, of.TargetingMatchReason, vip.Reason)

	anon, err := client.BooleanValueDetails(ctx, "split", true, of.NewTargetlessEvaluationContext(nil))
	require.NoError(t, err, "a missing targeting key is an anonymous evaluation")
	require.False(t, anon.Value)
	require.Equal(t, of.DefaultReason, anon.Reason)

	d, err := client.BooleanValueDetails(ctx, "disabled", true, evalCtx("u"))
	require.NoError(t, err)
	require.False(t, d.Value)
	require.Equal(t, of.DisabledReason, d.Reason)

	nf, err := client.BooleanValueDetails(ctx, "nope", true, evalCtx("u"))
	require.Error(t, err)
	require.True(t, nf.Value)
	require.Equal(t, of.FlagNotFoundCode, nf.ErrorCode)
	require.Equal(t, of.ErrorReason, nf.Reason)

	tm, err := client.StringValueDetails(ctx, "bool", "d", evalCtx("u"))
	require.Error(t, err)
	require.Equal(t, "d", tm.Value)
	require.Equal(t, of.TypeMismatchCode, tm.ErrorCode)

	bad, err := client.BooleanValueDetails(ctx, "bool", false, of.NewTargetlessEvaluationContext(map[string]any{"targetingKey": 42}))
	require.Error(t, err)
	require.False(t, bad.Value)
	require.Equal(t, of.InvalidContextCode, bad.ErrorCode)
}

// events records OpenFeature events of the given types.
func events(t *testing.T, types ...of.EventType) <-chan of.EventDetails {
	ch := make(chan of.EventDetails, 64)
	for _, typ := range types {
		typ := typ
		cb := func(d of.EventDetails) {
			d.EventMetadata = map[string]any{"type": string(typ)}
			ch <- d
		}
		of.AddHandler(typ, &cb)
	}
	return ch
}

func next(t *testing.T, ch <-chan of.EventDetails, want of.EventType) of.EventDetails {
	t.Helper()
	select {
	case d := <-ch:
		require.Equal(t, string(want), d.EventMetadata["type"], "event %+v", d)
		return d
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s event", want)
		return of.EventDetails{}
	}
}

func TestEventsThroughOpenFeature(t *testing.T) {
	p := newProvider(t, testSet(1))
	_, prov := setup(t, p, nil)
	ch := events(t, of.ProviderReady, of.ProviderConfigChange, of.ProviderStale, of.ProviderError)
	require.NoError(t, of.SetProviderAndWait(prov))
	next(t, ch, of.ProviderReady)
	client := of.NewDefaultClient()
	stream := p.nextStream(t)

	// A change of one flag.
	set := testSet(2)
	set.Flags[0].Rollout[0].Weight, set.Flags[0].Rollout[1].Weight = eval.Buckets, 0
	set.Flags[0].Version = 5
	b, _ := json.Marshal(map[string]any{"revision": 2, "baseRevision": 1, "flags": []eval.Flag{set.Flags[0]}})
	stream <- fmt.Sprintf("event: patch\nid: 2\ndata: %s\n\n", b)
	d := next(t, ch, of.ProviderConfigChange)
	require.Equal(t, []string{"bool"}, d.FlagChanges)
	require.False(t, client.Boolean(context.Background(), "bool", true, evalCtx("u")))

	// The stream drops and reconnects fail: STALE, still serving.
	p.setStatus(http.StatusServiceUnavailable)
	close(stream)
	next(t, ch, of.ProviderStale)
	require.Equal(t, of.StaleState, client.State())
	require.False(t, client.Boolean(context.Background(), "bool", true, evalCtx("u")))

	// Back: READY.
	p.setStatus(0)
	stream = p.nextStream(t)
	next(t, ch, of.ProviderReady)
	require.Equal(t, of.ReadyState, client.State())

	// Revoked: ERROR, and the last flags are still served.
	p.setStatus(http.StatusUnauthorized)
	stream <- "event: error\ndata: {\"code\":\"key_revoked\"}\n\n"
	next(t, ch, of.ProviderError)
	require.Equal(t, of.ErrorState, client.State())
	v, err := client.BooleanValueDetails(context.Background(), "bool", true, evalCtx("u"))
	require.NoError(t, err)
	require.False(t, v.Value)
}

func TestInitWithRejectedKeyIsFatal(t *testing.T) {
	p := newProvider(t, testSet(1))
	p.setStatus(http.StatusUnauthorized)
	_, prov := setup(t, p, nil)
	err := of.SetProviderAndWait(prov)
	require.Error(t, err)
	client := of.NewDefaultClient()
	require.Equal(t, of.FatalState, client.State())
	_, err = client.BooleanValueDetails(context.Background(), "bool", false, evalCtx("u"))
	require.Error(t, err)
}

func TestInitFromBootstrapWhileProviderDown(t *testing.T) {
	p := newProvider(t, testSet(1))
	p.setStatus(http.StatusServiceUnavailable)
	boot := testSet(1)
	_, prov := setup(t, p, func(c *waypost.Config) { c.Bootstrap = &boot })
	require.NoError(t, of.SetProviderAndWait(prov))
	client := of.NewDefaultClient()
	v, err := client.StringValue(context.Background(), "str", "d", evalCtx("u"))
	require.NoError(t, err)
	require.Equal(t, "beta", v)
}

func TestNotReadyMapping(t *testing.T) {
	// Evaluating through the provider directly before any flags load.
	p := newProvider(t, testSet(1))
	p.setStatus(http.StatusServiceUnavailable)
	_, prov := setup(t, p, nil)
	r := prov.BooleanEvaluation(context.Background(), "bool", true, of.FlattenedContext{"targetingKey": "u"})
	require.True(t, r.Value)
	require.Equal(t, of.ErrorReason, r.Reason)
	require.Equal(t, of.ProviderNotReadyCode, r.ResolutionDetail().ErrorCode)
	prov.Shutdown()
}
