package provider

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/waypost/waypost/sdk/eval"
)

// OFREP: OpenFeature Remote Evaluation Protocol (open-feature/protocol,
// service/openapi.yaml). Server and client keys may use it; results are
// evaluated here, so rules and assignment lists never leave the provider.

const maxOFREPBody = 64 << 10

type ofrepRequest struct {
	Context map[string]any `json:"context"`
}

type ofrepSuccess struct {
	Key      string          `json:"key"`
	Value    json.RawMessage `json:"value"`
	Reason   string          `json:"reason"`
	Variant  string          `json:"variant,omitempty"`
	Metadata map[string]any  `json:"metadata"`
}

type ofrepFailure struct {
	Key          string `json:"key,omitempty"`
	ErrorCode    string `json:"errorCode"`
	ErrorDetails string `json:"errorDetails,omitempty"`
}

// authOFREP authenticates any valid key; 401/403 carry no body (OFREP).
func (p *Provider) authOFREP(w http.ResponseWriter, r *http.Request) (*envState, bool) {
	_, st, ok := p.lookupKey(sdkKey(r, false))
	if !ok {
		p.metrics.authFailed.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		return nil, false
	}
	if st == nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"errorDetails": "flags for this environment are not loaded yet"})
		return nil, false
	}
	return st, true
}

// readContext parses {"context":{...}}; it returns the targeting key, or
// an OFREP error code and details.
func readContext(r *http.Request) (tk string, present bool, code, details string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxOFREPBody+1))
	if err != nil {
		return "", false, "GENERAL", "could not read the request body"
	}
	if len(body) > maxOFREPBody {
		return "", false, "GENERAL", "request body too large"
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return "", false, "", ""
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return "", false, "PARSE_ERROR", "the body must be a JSON object: " + err.Error()
	}
	ctxRaw, ok := raw["context"]
	if !ok || string(ctxRaw) == "null" {
		return "", false, "", ""
	}
	var ctx map[string]json.RawMessage
	if err := json.Unmarshal(ctxRaw, &ctx); err != nil {
		return "", false, "INVALID_CONTEXT", "context must be a JSON object"
	}
	tkRaw, ok := ctx["targetingKey"]
	if !ok || string(tkRaw) == "null" {
		return "", false, "", ""
	}
	if err := json.Unmarshal(tkRaw, &tk); err != nil {
		return "", false, "INVALID_CONTEXT", "targetingKey must be a string"
	}
	return tk, true, "", ""
}

// evaluateOFREP evaluates one flag; it returns the success body or an
// error code with the HTTP status to use.
func evaluateOFREP(st *envState, key, tk string, tkPresent bool) (*ofrepSuccess, *ofrepFailure, int) {
	res := st.snap.Evaluate(key, tk)
	if res.ErrorCode == eval.ErrorFlagNotFound {
		return nil, &ofrepFailure{Key: key, ErrorCode: "FLAG_NOT_FOUND", ErrorDetails: "flag " + strconv.Quote(key) + " is not in this environment"}, http.StatusNotFound
	}
	if res.Reason == eval.ReasonDefault && tk == "" && !tkPresent {
		return nil, &ofrepFailure{Key: key, ErrorCode: "TARGETING_KEY_MISSING", ErrorDetails: "this flag splits users: send context.targetingKey"}, http.StatusBadRequest
	}
	v, ok := res.Value()
	if !ok {
		return nil, &ofrepFailure{Key: key, ErrorCode: "GENERAL", ErrorDetails: "no variant could be served"}, http.StatusInternalServerError
	}
	meta := map[string]any{"version": res.FlagVersion}
	if res.ExperimentKey != "" {
		meta["experimentKey"] = res.ExperimentKey
	}
	return &ofrepSuccess{Key: key, Value: v.Raw, Reason: res.Reason, Variant: res.Variant, Metadata: meta}, nil, http.StatusOK
}

func (p *Provider) ofrepOne(w http.ResponseWriter, r *http.Request) {
	st, ok := p.authOFREP(w, r)
	if !ok {
		return
	}
	key := chi.URLParam(r, "key")
	if k, err := url.PathUnescape(key); err == nil {
		key = k
	}
	tk, present, code, details := readContext(r)
	if code != "" {
		writeJSON(w, http.StatusBadRequest, ofrepFailure{Key: key, ErrorCode: code, ErrorDetails: details})
		return
	}
	succ, fail, status := evaluateOFREP(st, key, tk, present)
	p.metrics.ofrep.Add(1)
	if fail != nil {
		writeJSON(w, status, fail)
		return
	}
	writeJSON(w, status, succ)
}

type ofrepBulk struct {
	Flags        []any          `json:"flags"`
	Metadata     map[string]any `json:"metadata,omitempty"`
	EventStreams []eventStream  `json:"eventStreams,omitempty"`
}

type eventStream struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

func (p *Provider) ofrepBulk(w http.ResponseWriter, r *http.Request) {
	st, ok := p.authOFREP(w, r)
	if !ok {
		return
	}
	tk, present, code, details := readContext(r)
	if code != "" {
		writeJSON(w, http.StatusBadRequest, ofrepFailure{ErrorCode: code, ErrorDetails: details})
		return
	}
	// The ETag covers the revision and the user: the same user at the same
	// revision always gets the same answer.
	sum := sha256.Sum256([]byte(tk))
	etag := `"` + strconv.FormatInt(st.revision, 10) + "-" + hex.EncodeToString(sum[:8]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-cache")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	keys := st.snap.Keys()
	out := ofrepBulk{Flags: make([]any, 0, len(keys)), Metadata: map[string]any{"revision": st.revision}}
	for _, k := range keys {
		succ, fail, _ := evaluateOFREP(st, k, tk, present)
		if fail != nil {
			out.Flags = append(out.Flags, fail)
		} else {
			out.Flags = append(out.Flags, succ)
		}
	}
	out.EventStreams = []eventStream{{Type: "sse", URL: externalBase(r) + "/ofrep/v1/events?sdk_key=" + url.QueryEscape(sdkKey(r, false))}}
	p.metrics.ofrep.Add(1)
	writeJSON(w, http.StatusOK, out)
}

// externalBase is the scheme and host the client used to reach us.
func externalBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// ofrepEvents is the OFREP change stream (ADR-0008): one
// refetchEvaluation message per change of the key's environment.
func (p *Provider) ofrepEvents(w http.ResponseWriter, r *http.Request) {
	secret := sdkKey(r, true)
	k, st, ok := p.lookupKey(secret)
	if !ok {
		p.metrics.authFailed.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if st == nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	extra := http.Header{}
	for _, h := range []string{"Access-Control-Allow-Origin", "Vary"} {
		if v := w.Header().Values(h); len(v) > 0 {
			extra[h] = v
		}
	}
	p.openStream(w, r, hashKey(secret), k.envID, streamOFREP, extra)
}

func refetchEvent(revision int64) []byte {
	rev := strconv.FormatInt(revision, 10)
	return []byte("event: message\nid: " + rev + "\ndata: {\"type\":\"refetchEvaluation\",\"etag\":\"" + rev + "\"}\n\n")
}
