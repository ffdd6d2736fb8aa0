package provider

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	wpmetrics "github.com/waypost/waypost/internal/metrics"
)

// Handler returns the provider's HTTP routes (docs/protocol.md).
func (p *Provider) Handler() http.Handler {
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	r.Get("/readyz", p.readyz)
	r.Method(http.MethodGet, "/metrics", wpmetrics.Handler(p.registry, ""))
	r.Get("/v1/flags", p.getFlags)
	r.Get("/v1/stream", p.stream)
	r.Post("/internal/webhook", p.webhook)
	r.With(p.cors).HandleFunc("/v1/events", p.events)
	r.Group(func(r chi.Router) {
		r.Use(p.cors)
		r.Options("/ofrep/*", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
		r.Post("/ofrep/v1/evaluate/flags/{key}", p.ofrepOne)
		r.Post("/ofrep/v1/evaluate/flags", p.ofrepBulk)
		r.Get("/ofrep/v1/events", p.ofrepEvents)
	})
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) { writeError(w, 404, "not_found", "no such route") })
	return p.http.Wrap(r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (p *Provider) readyz(w http.ResponseWriter, _ *http.Request) {
	if !p.Ready() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "reason": "flag state not loaded yet"})
		return
	}
	envs := map[string]int64{}
	for _, st := range p.world.Load().envs {
		envs[st.project+"/"+st.key] = st.revision
	}
	writeJSON(w, http.StatusOK, map[string]any{"ready": true, "revisions": envs})
}

// sdkKey reads the key from Authorization: Bearer, X-API-Key, or (streams
// only) the sdk_key query parameter.
func sdkKey(r *http.Request, allowQuery bool) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if k, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(k)
		}
		return ""
	}
	if k := r.Header.Get("X-API-Key"); k != "" {
		return k
	}
	if allowQuery {
		return r.URL.Query().Get("sdk_key")
	}
	return ""
}

// authServer authenticates a server key for full definitions; it answers
// the request itself (401/403/503) and returns ok=false when it may not
// go on.
func (p *Provider) authServer(w http.ResponseWriter, r *http.Request, allowQuery bool) (keyHash, *envState, bool) {
	if p.notReady(w) {
		return keyHash{}, nil, false
	}
	secret := sdkKey(r, allowQuery)
	k, st, ok := p.lookupKey(secret)
	if !ok {
		p.metrics.authFailed.Add(1)
		writeError(w, http.StatusUnauthorized, "unauthorized", "missing, unknown or revoked SDK key")
		return keyHash{}, nil, false
	}
	if !k.server {
		writeError(w, http.StatusForbidden, "forbidden", "client keys may only use the OFREP endpoints; full flag definitions need a server key")
		return keyHash{}, nil, false
	}
	if st == nil {
		writeError(w, http.StatusServiceUnavailable, "not_ready", "this environment's flags are not loaded yet")
		return keyHash{}, nil, false
	}
	return hashKey(secret), st, true
}

func (p *Provider) getFlags(w http.ResponseWriter, r *http.Request) {
	_, st, ok := p.authServer(w, r, false)
	if !ok {
		return
	}
	w.Header().Set("ETag", st.etag)
	w.Header().Set("Cache-Control", "no-cache")
	if ifNoneMatch(r.Header.Values("If-None-Match"), st.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(st.body)
}

// stream serves GET /v1/stream (docs/protocol.md). After the headers the
// connection is hijacked: it costs a net.Conn and a small struct, no
// goroutine and no buffers, and the writer pool feeds it.
func (p *Provider) stream(w http.ResponseWriter, r *http.Request) {
	key, st, ok := p.authServer(w, r, true)
	if !ok {
		return
	}
	p.openStream(w, r, key, st.id, streamFlags, nil)
}

func (p *Provider) openStream(w http.ResponseWriter, r *http.Request, key keyHash, envID int64, kind streamKind, extraHeaders http.Header) {
	if int(p.metrics.streams.Load()) >= cap(p.queue)-1 {
		writeError(w, http.StatusServiceUnavailable, "too_many_streams", "this provider holds as many streams as it can; try another")
		return
	}
	var last int64
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		if n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64); err == nil && n > 0 {
			last = n
		}
	}
	h := p.hub(envID)
	if kind == streamOFREP && last == 0 {
		// The client has just fetched the bulk evaluation (or re-fetches
		// in full after any reconnect, as ADR-0008 requires): a
		// refetchEvaluation now would only cause a needless re-fetch. Only
		// later changes, or a Last-Event-ID behind the current revision,
		// send one.
		if st := h.cur.Load(); st != nil {
			last = st.revision
		}
	}
	s := &stream{hub: h, key: key, kind: kind, lastSent: last, gzip: acceptsGzip(r.Header.Values("Accept-Encoding"))}
	head := "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\nConnection: close\r\nVary: Accept-Encoding\r\n"
	if s.gzip {
		head += "Content-Encoding: gzip\r\n"
	}
	for k, vs := range extraHeaders {
		for _, v := range vs {
			head += k + ": " + v + "\r\n"
		}
	}
	head += "\r\n"
	opening := retryEvent.plain
	if s.gzip {
		opening = gzipOpening
	}

	rc := http.NewResponseController(w)
	conn, buf, err := rc.Hijack()
	if err == nil {
		// Discard what net/http buffered; from here on the conn is ours.
		_ = buf.Writer.Flush()
		cs := newConnSink(conn)
		if err := cs.write(append([]byte(head), opening...), time.Now().Add(p.cfg.WriteTimeout)); err != nil {
			_ = conn.Close()
			return
		}
		// No read goroutine: SSE clients send nothing after the request,
		// and a goroutine per stream would cost 8 KiB of stack. Dead peers
		// are found by the heartbeat writes failing.
		s.sink = cs
		h.add(s)
		s.wake()
		return
	}
	// No hijacking (e.g. HTTP/2): serve from this goroutine.
	for k, vs := range extraHeaders {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Add("Vary", "Accept-Encoding")
	if s.gzip {
		w.Header().Set("Content-Encoding", "gzip")
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(opening)
	_ = rc.Flush()
	ws := &writerSink{w: w, rc: rc, done: make(chan struct{})}
	s.sink = ws
	h.add(s)
	s.wake()
	select {
	case <-ws.done:
	case <-r.Context().Done():
		s.shutdown("client gone")
	}
	s.mu.Lock() // let an in-flight write finish before the handler returns
	s.mu.Unlock()
}

var (
	// retryEvent opens every stream: reconnect after a second.
	retryEvent = newEncoded([]byte("retry: 1000\n\n"))
	// gzipOpening opens a gzip stream: the gzip header, then retryEvent.
	gzipOpening = append(append([]byte(nil), gzipHeader...), retryEvent.get(true)...)
)

func (p *Provider) cors(next http.Handler) http.Handler {
	allowAll := false
	allowed := map[string]bool{}
	for _, o := range p.cfg.CORSOrigins {
		if o == "*" {
			allowAll = true
		}
		allowed[o] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && (allowAll || allowed[origin]) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, X-API-Key, Content-Type, If-None-Match, Last-Event-ID")
			h.Set("Access-Control-Expose-Headers", "ETag")
			h.Set("Access-Control-Max-Age", "600")
		}
		next.ServeHTTP(w, r)
	})
}
