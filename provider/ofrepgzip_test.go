package provider

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func bulkPost(t *testing.T, p *Provider, secret, body, acceptEncoding string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("POST", "/ofrep/v1/evaluate/flags", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	w := httptest.NewRecorder()
	p.Handler().ServeHTTP(w, req)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	return w
}

func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return v
}

// TestOFREPBulkGzip: a client accepting gzip gets the same bulk answer
// compressed, compressed once per revision and context however many
// requests ask, and again after a new revision.
func TestOFREPBulkGzip(t *testing.T) {
	p, secret := benchProvider(t)
	const body = `{"context":{"targetingKey":"user-1","country":"C5","appVersion":"21.2.0","age":50}}`
	plain := bulkPost(t, p, secret, body, "")
	if plain.Header().Get("Content-Encoding") != "" {
		t.Fatalf("gzip without Accept-Encoding")
	}
	if !strings.Contains(plain.Header().Get("Vary"), "Accept-Encoding") {
		t.Fatalf("Vary = %q", plain.Header().Values("Vary"))
	}
	want := decodeJSON(t, plain.Body.Bytes())
	st := p.hub(1).cur.Load()
	for i, ae := range []string{"gzip", "br;q=1, gzip;q=0.5", "deflate, x-gzip", "*"} {
		w := bulkPost(t, p, secret, body, ae)
		if w.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("Accept-Encoding %q: Content-Encoding %q", ae, w.Header().Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(w.Body.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if got := decodeJSON(t, raw); !reflect.DeepEqual(got, want) {
			t.Fatalf("gzipped body %s, plain %s", raw, plain.Body)
		}
		if w.Header().Get("ETag") != plain.Header().Get("ETag") {
			t.Fatalf("ETag %q, plain %q", w.Header().Get("ETag"), plain.Header().Get("ETag"))
		}
		if n := st.gz.encodes.Load(); n != 1 {
			t.Fatalf("after %d gzip requests: %d compressions, want 1", i+1, n)
		}
	}
	for _, ae := range []string{"gzip;q=0", "identity", "br"} {
		if w := bulkPost(t, p, secret, body, ae); w.Header().Get("Content-Encoding") != "" {
			t.Fatalf("Accept-Encoding %q: got gzip", ae)
		}
	}
	// Another context: its own body, compressed once.
	bulkPost(t, p, secret, `{"context":{"targetingKey":"user-2"}}`, "gzip")
	bulkPost(t, p, secret, `{"context":{"targetingKey":"user-2"}}`, "gzip")
	if n := st.gz.encodes.Load(); n != 2 {
		t.Fatalf("two contexts: %d compressions, want 2", n)
	}
	// A new revision starts afresh.
	set := benchFlagSet()
	set.Revision = 8
	set.Flags[0].Enabled = false
	if _, err := p.applyEnv(1, set, map[keyHash]keyInfo{hashKey(secret): {id: 1, envID: 1}}, "test", true); err != nil {
		t.Fatal(err)
	}
	next := p.hub(1).cur.Load()
	if next == st || next.revision != 8 {
		t.Fatalf("revision %d not applied", next.revision)
	}
	bulkPost(t, p, secret, body, "gzip")
	bulkPost(t, p, secret, body, "gzip")
	if n := next.gz.encodes.Load(); n != 1 {
		t.Fatalf("new revision: %d compressions, want 1", n)
	}
}

// TestOFREPBulkBodyUnchanged: the hand-encoded bulk body decodes to what
// encoding/json made of the same answer before.
func TestOFREPBulkBodyUnchanged(t *testing.T) {
	p, secret := benchProvider(t)
	w := bulkPost(t, p, secret, ofrepRulesBody, "")
	st := p.hub(1).cur.Load()
	c := &ofrepCtx{body: []byte(ofrepRulesBody)}
	c.decode()
	type bulk struct {
		Flags        []any          `json:"flags"`
		Metadata     map[string]any `json:"metadata,omitempty"`
		EventStreams []eventStream  `json:"eventStreams,omitempty"`
	}
	ref := bulk{Metadata: map[string]any{"revision": st.revision}, EventStreams: []eventStream{p.eventStreamFor(secret)}}
	for _, k := range st.snap.Keys() {
		o := evaluateOFREP(st, k, &c.ctx)
		ref.Flags = append(ref.Flags, json.RawMessage(o.appendSuccess(nil)))
	}
	exp, _ := json.Marshal(ref)
	if got, want := decodeJSON(t, w.Body.Bytes()), decodeJSON(t, exp); !reflect.DeepEqual(got, want) {
		t.Fatalf("bulk body %s\nwant %s", w.Body, exp)
	}
	if !strings.HasSuffix(w.Body.String(), "}\n") {
		t.Fatalf("body does not end with a newline as before")
	}
}

// Accept-Encoding: gzip, x-gzip or * with a quality above zero, in any
// case, item or header line.
func TestAcceptsGzip(t *testing.T) {
	for lines, want := range map[string]bool{
		"gzip": true, "GZip": true, "x-gzip": true, "*": true, "br, gzip;q=0.5": true, " gzip ; q = 1 ": true,
		"gzip;q=0": false, "gzip;q=0.000": false, "*;q=0": false, "identity": false, "": false, "br|deflate,gzip;q=0": false,
		"br|gzip": true, "gzip;level=1;q=0.1": true, "gzip;q=": true, "gzipx": false, "deflate;q=1, x-gzip;q=0.0": false,
	} {
		if got := acceptsGzip(strings.Split(lines, "|")); got != want {
			t.Errorf("Accept-Encoding %q: gzip %v, want %v", lines, got, want)
		}
	}
}

// The bulk body's eventStreams entry is byte for byte what encoding/json
// makes of eventStreamFor, with and without a public URL.
func TestAppendEventStreamIsItsJSON(t *testing.T) {
	for _, u := range []string{"", "https://flags.example.com", "https://x.test/a&b<c>\u2028"} {
		for _, key := range []string{"wpc_abcDEF123", "a b&c/\"é"} {
			p := &Provider{cfg: Config{PublicURL: u}}
			want, err := json.Marshal(p.eventStreamFor(key))
			if err != nil {
				t.Fatal(err)
			}
			if got := appendEventStream(nil, u, key); string(got) != string(want) {
				t.Errorf("url %q key %q: %s, want %s", u, key, got, want)
			}
		}
	}
}
