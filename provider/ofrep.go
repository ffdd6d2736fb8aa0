package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

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

type ofrepFailure struct {
	Key          string `json:"key,omitempty"`
	ErrorCode    string `json:"errorCode"`
	ErrorDetails string `json:"errorDetails,omitempty"`
}

// authOFREP authenticates any valid key; 401/403 carry no body (OFREP).
func (p *Provider) authOFREP(w http.ResponseWriter, r *http.Request) (*envState, bool) {
	if p.notReady(w) {
		return nil, false
	}
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

// ofrepBody is the request body: the OpenFeature evaluation context, the
// targeting key and flat attributes (docs/evaluation.md).
type ofrepBody struct {
	Context *map[string]any `json:"context"`
}

// evalOutcome is one evaluation in OFREP terms.
type evalOutcome struct {
	key     string
	res     eval.Result
	raw     json.RawMessage
	failure *ofrepFailure
	status  int
}

// evaluateOFREP evaluates one flag for OFREP. A missing or empty
// targeting key is an anonymous evaluation, exactly as in every SDK
// (docs/evaluation.md): disabled flags answer DISABLED, partial rollouts
// and experiments the off variant with reason DEFAULT. It is never
// TARGETING_KEY_MISSING, so OFREP clients and local evaluation agree.
func evaluateOFREP(st *envState, key string, ctx *eval.Context) evalOutcome {
	res := st.snap.EvaluateContext(key, ctx)
	if res.ErrorCode == eval.ErrorFlagNotFound {
		return evalOutcome{key: key, status: http.StatusNotFound, failure: &ofrepFailure{Key: key, ErrorCode: "FLAG_NOT_FOUND",
			ErrorDetails: "flag " + strconv.Quote(key) + " is not in this environment"}}
	}
	v, ok := res.Value()
	if !ok {
		return evalOutcome{key: key, status: http.StatusInternalServerError, failure: &ofrepFailure{Key: key, ErrorCode: "GENERAL",
			ErrorDetails: "no variant could be served"}}
	}
	if v.Kind == eval.KindJSON && (len(v.Raw) == 0 || v.Raw[0] != '{') {
		// Saved before the manager refused non-objects: OFREP's object
		// type cannot carry it.
		return evalOutcome{key: key, status: http.StatusInternalServerError, failure: &ofrepFailure{Key: key, ErrorCode: "GENERAL",
			ErrorDetails: "json flag " + strconv.Quote(key) + " serves a value that is not a JSON object; save its variants as objects"}}
	}
	return evalOutcome{key: key, res: res, raw: v.Raw, status: http.StatusOK}
}

// appendSuccess encodes {"key","value","reason","variant","metadata"}.
// Flag and variant keys are validated slugs and reasons are constants, so
// they need no escaping; the value is the variant's stored JSON.
func (o evalOutcome) appendSuccess(b []byte) []byte {
	b = append(b, `{"key":"`...)
	b = append(b, o.key...)
	b = append(b, `","value":`...)
	b = append(b, o.raw...)
	b = append(b, `,"reason":"`...)
	b = append(b, o.res.Reason...)
	b = append(b, `","variant":"`...)
	b = append(b, o.res.Variant...)
	b = append(b, `","metadata":{"version":`...)
	b = strconv.AppendInt(b, o.res.FlagVersion, 10)
	if o.res.ExperimentKey != "" {
		b = append(b, `,"experimentKey":"`...)
		b = append(b, o.res.ExperimentKey...)
		b = append(b, '"')
	}
	if o.res.RuleID != "" {
		b = append(b, `,"ruleId":`...)
		b = appendJSONString(b, o.res.RuleID) // rule ids are free text: JSON-escape them
	}
	return append(b, "}}"...)
}

func (p *Provider) ofrepOne(w http.ResponseWriter, r *http.Request) {
	st, ok := p.authOFREP(w, r)
	if !ok {
		return
	}
	key := chi.URLParam(r, "key")
	if strings.IndexByte(key, '%') >= 0 {
		if k, err := url.PathUnescape(key); err == nil {
			key = k
		}
	}
	c := getOFREPCtx()
	defer c.release()
	if code, details := c.read(r); code != "" {
		writeJSON(w, http.StatusBadRequest, ofrepFailure{Key: key, ErrorCode: code, ErrorDetails: details})
		return
	}
	b, out := evaluateOne(st, key, &c.ctx, c.out[:0])
	c.out = b
	p.metrics.ofrep.Add(1)
	if out.failure != nil {
		writeJSON(w, out.status, out.failure)
		return
	}
	w.Header()["Content-Type"] = jsonContentType
	_, _ = w.Write(b)
}

// evaluateOne evaluates key for ctx and appends the OFREP success body to
// b (b is returned unchanged on failure). With a decoded context it does
// not allocate (BenchmarkOFREPEvalPath).
func evaluateOne(st *envState, key string, ctx *eval.Context, b []byte) ([]byte, evalOutcome) {
	out := evaluateOFREP(st, key, ctx)
	if out.failure != nil {
		return b, out
	}
	return out.appendSuccess(b), out
}

// Header values set by assigning these shared slices: one allocation
// less per header per request. Nothing modifies a header value in place.
var (
	jsonContentType    = []string{"application/json"}
	noCache            = []string{"no-cache"}
	varyAcceptEncoding = []string{"Accept-Encoding"}
)

// eventStream is one ADR-0008 entry: an absolute url when the provider's
// public URL is configured, else an endpoint whose requestUri the client
// resolves against its own OFREP base URL.
type eventStream struct {
	Type     string               `json:"type"`
	URL      string               `json:"url,omitempty"`
	Endpoint *eventStreamEndpoint `json:"endpoint,omitempty"`
}

type eventStreamEndpoint struct {
	RequestURI string `json:"requestUri"`
}

func (p *Provider) ofrepBulk(w http.ResponseWriter, r *http.Request) {
	st, ok := p.authOFREP(w, r)
	if !ok {
		return
	}
	c := getOFREPCtx()
	defer c.release()
	if code, details := c.read(r); code != "" {
		writeJSON(w, http.StatusBadRequest, ofrepFailure{ErrorCode: code, ErrorDetails: details})
		return
	}
	ectx := &c.ctx
	// flagConfigEtag (ADR-0008) echoes the revision of a refetchEvaluation
	// event. A revision this provider has not applied yet (another
	// provider announced it) is waited for briefly; a differing one rules
	// out a 304, whatever If-None-Match says.
	var configEtag string
	if r.URL.RawQuery != "" { // parsing an absent query costs a map
		configEtag = r.URL.Query().Get("flagConfigEtag")
	}
	configRev, named := parseConfigEtag(configEtag)
	if named && configRev > st.revision {
		if st = p.waitRevision(r.Context(), st.id, configRev); st == nil {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{
				"errorDetails": "this provider has not received revision " + strconv.FormatInt(configRev, 10) + " yet; retry"})
			return
		}
	}
	// The ETag covers the revision and the user: the same user at the same
	// revision always gets the same answer.
	// The context's attributes are part of the key too: json.Marshal sorts
	// the names, so equal contexts hash equally.
	// The hashed bytes (targeting key, then a 0 and the attributes' JSON
	// when there are any) are assembled in the request's buffer, hashed
	// with Sum256 (no digest or sum on the heap), and the ETag is written
	// in one string: the bulk path allocates little per request
	// (BenchmarkOFREPBulk).
	hashed := append(c.out[:0], ectx.TargetingKey...)
	if ectx.Attributes != nil || ectx.Attrs != nil {
		var err error
		hashed = append(hashed, 0)
		if hashed, err = appendContextJSON(hashed, ectx); err != nil {
			writeJSON(w, http.StatusBadRequest, ofrepFailure{ErrorCode: "INVALID_CONTEXT", ErrorDetails: "context attributes cannot be encoded"})
			return
		}
	}
	c.out = hashed
	sum := sha256.Sum256(hashed)
	var eb [48]byte
	e := append(eb[:0], '"')
	e = strconv.AppendInt(e, st.revision, 10)
	e = append(e, '-')
	e = hex.AppendEncode(e, sum[:8])
	etag := string(append(e, '"'))
	hdr := w.Header()
	hdr["Etag"] = []string{etag}
	hdr["Cache-Control"] = noCache
	if (!named || configRev == st.revision) && ifNoneMatch(r.Header.Values("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	b := appendBulk(c.out[:0], st, ectx, p.cfg.PublicURL, sdkKey(r, false))
	c.out = b
	p.metrics.ofrep.Add(1)
	if v := hdr["Vary"]; len(v) == 0 {
		hdr["Vary"] = varyAcceptEncoding
	} else {
		hdr["Vary"] = append(v[:len(v):len(v)], "Accept-Encoding") // never into a shared array
	}
	hdr["Content-Type"] = jsonContentType
	if acceptsGzip(r.Header.Values("Accept-Encoding")) {
		if gz := st.bulkGzip(etag, b); gz != nil {
			hdr.Set("Content-Encoding", "gzip")
			_, _ = w.Write(gz)
			return
		}
	}
	_, _ = w.Write(b)
}

// appendBulk appends the bulk evaluation body, as json.Encoder writes an
// ofrepBulk: {"flags":[...],"metadata":{"revision":N},"eventStreams":[...]},
// the stream advertised for key (see eventStreamFor) with publicURL.
func appendBulk(b []byte, st *envState, ctx *eval.Context, publicURL, key string) []byte {
	b = append(b, `{"flags":[`...)
	for i, k := range st.keys {
		if i > 0 {
			b = append(b, ',')
		}
		o := evaluateOFREP(st, k, ctx)
		if o.failure != nil {
			f, _ := json.Marshal(o.failure)
			b = append(b, f...)
		} else {
			b = o.appendSuccess(b)
		}
	}
	b = append(b, `],"metadata":{"revision":`...)
	b = strconv.AppendInt(b, st.revision, 10)
	b = append(b, `},"eventStreams":[`...)
	b = appendEventStream(b, publicURL, key)
	return append(b, "]}\n"...)
}

// appendEventStream appends json.Marshal(eventStreamFor(key)) with the
// given public URL, without building the value.
func appendEventStream(b []byte, publicURL, key string) []byte {
	path := url.QueryEscape(key) // keys need no escaping: no allocation
	if publicURL != "" {
		b = append(b, `{"type":"sse","url":`...)
		b = appendJSONString(b, publicURL+eventsPath+path)
		return append(b, '}')
	}
	b = append(b, `{"type":"sse","endpoint":{"requestUri":`...)
	b = appendJSONString(b, eventsPath+path)
	return append(b, "}}"...)
}

const eventsPath = "/ofrep/v1/events?sdk_key="

// eventStreamFor advertises the change stream for key. The request's Host
// header plays no part: a forged Host must not redirect a client (and its
// key) elsewhere.
func (p *Provider) eventStreamFor(key string) eventStream {
	path := eventsPath + url.QueryEscape(key)
	if p.cfg.PublicURL != "" {
		return eventStream{Type: "sse", URL: p.cfg.PublicURL + path}
	}
	return eventStream{Type: "sse", Endpoint: &eventStreamEndpoint{RequestURI: path}}
}

// parseConfigEtag reads a flagConfigEtag: the revision, bare or as an
// entity tag ("42", W/"42"). Anything else is not ours and is ignored.
func parseConfigEtag(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// ofrepEvents is the OFREP change stream (ADR-0008): one
// refetchEvaluation message per change of the key's environment.
func (p *Provider) ofrepEvents(w http.ResponseWriter, r *http.Request) {
	if p.notReady(w) {
		return
	}
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
