package provider

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waypost/waypost/sdk/eval"
)

// benchProvider is a provider holding one environment with 20 flags and a
// client key, without a database (state is applied directly).
func benchProvider(b testing.TB) (*Provider, string) {
	b.Helper()
	pool, err := pgxpool.New(context.Background(), "postgres://127.0.0.1:9/none")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	p, err := New(Config{Pool: pool, WebhookSecret: "bench-secret-0123456789-0123456789", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	set := benchFlagSet()
	secret := "wpc_benchbenchbenchbenchbenchbenchbenchbench123"
	if _, err := p.applyEnv(1, set, map[keyHash]keyInfo{hashKey(secret): {id: 1, envID: 1}}, "bench", true); err != nil {
		b.Fatal(err)
	}
	p.ready.Store(true)
	return p, secret
}

// benchFlagSet is 20 rule-less 50/50 flags and "rules", a flag of 5 rules
// x 3 clauses (rulesFlag).
func benchFlagSet() *eval.FlagSet {
	set := &eval.FlagSet{Project: "default", Environment: "production", Revision: 7}
	for i := 0; i < 20; i++ {
		set.Flags = append(set.Flags, eval.Flag{Key: "flag-" + strconv.Itoa(i), Kind: eval.KindBoolean, Enabled: true, OffVariant: "off",
			Salt: "salt" + strconv.Itoa(i), Version: 1,
			Variants: []eval.Variant{{Key: "off", Value: json.RawMessage("false")}, {Key: "on", Value: json.RawMessage("true")}},
			Rollout:  []eval.WeightedVariant{{Variant: "off", Weight: 5000}, {Variant: "on", Weight: 5000}}})
	}
	set.Flags = append(set.Flags, rulesFlag("rules"))
	return set
}

// BenchmarkOFREPSingleFlag measures the handler (routing, auth, context
// parsing, evaluation, encoding) without the network.
func BenchmarkOFREPSingleFlag(b *testing.B) {
	p, secret := benchProvider(b)
	h := p.Handler()
	body := `{"context":{"targetingKey":"user-12345","plan":"pro"}}`
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("POST", "/ofrep/v1/evaluate/flags/flag-3", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkOFREPSingleFlagRules compares, through the whole handler, a
// rule-less flag with the 5 rules x 3 clauses flag for the same context
// (the bound: rules no more than 15% slower).
func BenchmarkOFREPSingleFlagRules(b *testing.B) {
	p, secret := benchProvider(b)
	h := p.Handler()
	for _, key := range []string{"flag-3", "rules"} {
		b.Run(key, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				req := httptest.NewRequest("POST", "/ofrep/v1/evaluate/flags/"+key, strings.NewReader(ofrepRulesBody))
				req.Header.Set("Authorization", "Bearer "+secret)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps nothing but the status, so
// a benchmark sees the handler's own allocations (its header map is
// cleared, not replaced, between requests, as net/http's is not reused).
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }

// BenchmarkOFREPBulk measures the bulk handler (21 flags: auth, context,
// ETag, evaluation, encoding) without the network or the request's own
// construction, plain and gzip (the gzipped body is cached per revision
// and context: the same context again is a cache hit).
func BenchmarkOFREPBulk(b *testing.B) {
	p, secret := benchProvider(b)
	h := p.Handler()
	body := `{"context":{"targetingKey":"user-12345","plan":"pro","country":"CA"}}`
	for _, enc := range []string{"identity", "gzip"} {
		b.Run(enc, func(b *testing.B) {
			req := httptest.NewRequest("POST", "/ofrep/v1/evaluate/flags", nil)
			req.Header.Set("Authorization", "Bearer "+secret)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept-Encoding", enc)
			rd := strings.NewReader(body)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(body)
				req.Body = io.NopCloser(rd)
				clear(w.h)
				w.status = 200
				h.ServeHTTP(w, req)
				if w.status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
		})
	}
}
