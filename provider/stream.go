package provider

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// A hub holds the streams of one environment. Broadcasting marks each
// stream dirty and queues it once for the writer pool; it never writes to
// or waits on a connection. A stream that is queued again before a writer
// reaches it is written once, with the latest state (coalescing).
type hub struct {
	p   *Provider
	mu  sync.Mutex
	set map[*stream]struct{}
	cur atomic.Pointer[envState]
}

func (p *Provider) hub(envID int64) *hub {
	p.hubsMu.Lock()
	defer p.hubsMu.Unlock()
	h := p.hubs[envID]
	if h == nil {
		h = &hub{p: p, set: map[*stream]struct{}{}}
		if st := p.world.Load().envs[envID]; st != nil {
			h.cur.Store(st)
		}
		p.hubs[envID] = h
	}
	return h
}

func (h *hub) broadcast(st *envState) {
	h.cur.Store(st)
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.set {
		s.wake()
	}
}

func (h *hub) add(s *stream) {
	h.mu.Lock()
	h.set[s] = struct{}{}
	h.mu.Unlock()
	h.p.metrics.streams.Add(1)
}

func (h *hub) remove(s *stream) {
	h.mu.Lock()
	_, ok := h.set[s]
	delete(h.set, s)
	h.mu.Unlock()
	if ok {
		h.p.metrics.streams.Add(-1)
	}
}

// revokeMissing closes the streams whose key is no longer valid.
func (h *hub) revokeMissing(keys map[keyHash]keyInfo) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.set {
		if _, ok := keys[s.key]; !ok {
			s.revoked.Store(true)
			s.wake()
		}
	}
}

func (h *hub) ping() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.set {
		s.needPing.Store(true)
		s.wake()
	}
}

// streamKind selects what a stream carries.
type streamKind uint8

const (
	streamFlags streamKind = iota // put/patch of full definitions (server keys)
	streamOFREP                   // refetchEvaluation notifications (OFREP clients)
)

// sink is where a stream's bytes go: a hijacked connection normally, the
// ResponseWriter when hijacking is impossible (HTTP/2).
type sink interface {
	write(b []byte, deadline time.Time) error
	close()
}

type stream struct {
	hub      *hub
	key      keyHash
	kind     streamKind
	sink     sink
	mu       sync.Mutex // one writer at a time
	lastSent int64      // revision of the last put/patch/refetch written (guarded by mu)
	queued   atomic.Bool
	needPing atomic.Bool
	revoked  atomic.Bool
	closed   atomic.Bool
}

func (s *stream) wake() {
	if s.closed.Load() || s.queued.Swap(true) {
		return
	}
	s.hub.p.queue <- s
}

// writeLoop is one of the writer goroutines.
func (p *Provider) writeLoop(done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case s := <-p.queue:
			s.flush()
		}
	}
}

var (
	pingEvent    = []byte(": ping\n\n")
	revokedEvent = []byte("event: error\ndata: {\"code\":\"key_revoked\"}\n\n")
)

// flush writes what the stream is missing: the latest state as a patch
// when the stream is exactly at its base revision, else a put; or a ping.
func (s *stream) flush() {
	s.queued.Store(false) // before reading state: a later change re-queues
	if s.closed.Load() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.hub.p
	deadline := time.Now().Add(p.cfg.WriteTimeout)
	if s.revoked.Load() {
		_ = s.sink.write(revokedEvent, deadline)
		s.shutdown("revoked")
		return
	}
	var out []byte
	var counter *atomic.Int64
	if st := s.hub.cur.Load(); st != nil && st.revision > s.lastSent {
		switch {
		case s.kind == streamOFREP:
			out, counter = st.refetch, &p.metrics.sentRefetch
		case st.patch != nil && st.patch.base == s.lastSent:
			out, counter = st.patch.bytes, &p.metrics.sentPatch
		default:
			out, counter = st.put, &p.metrics.sentPut
		}
		s.lastSent = st.revision
	} else if s.needPing.Load() {
		out, counter = pingEvent, &p.metrics.sentPing
	}
	s.needPing.Store(false)
	if out == nil {
		return
	}
	if err := s.sink.write(out, deadline); err != nil {
		s.shutdown("write failed")
		return
	}
	counter.Add(1)
}

func (s *stream) shutdown(why string) {
	if s.closed.Swap(true) {
		return
	}
	s.hub.remove(s)
	s.sink.close()
	if why == "write failed" {
		s.hub.p.metrics.closedLagging.Add(1)
	}
}

// connSink writes to a hijacked connection. Each event is one Write: a
// write that times out part-way leaves the stream unusable, so the
// connection is closed (the client reconnects and gets a put).
type connSink struct{ conn net.Conn }

func (c connSink) write(b []byte, deadline time.Time) error {
	if err := c.conn.SetWriteDeadline(deadline); err != nil {
		return err
	}
	_, err := c.conn.Write(b)
	return err
}

func (c connSink) close() { _ = c.conn.Close() }

// writerSink serves a stream from the handler goroutine when the
// connection cannot be hijacked.
type writerSink struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	done chan struct{}
	once sync.Once
}

func (c *writerSink) write(b []byte, deadline time.Time) error {
	_ = c.rc.SetWriteDeadline(deadline)
	if _, err := c.w.Write(b); err != nil {
		return err
	}
	return c.rc.Flush()
}

func (c *writerSink) close() { c.once.Do(func() { close(c.done) }) }

// heartbeats pings every stream at the configured interval.
func (p *Provider) heartbeats(done <-chan struct{}) {
	t := time.NewTicker(p.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			p.hubsMu.Lock()
			hubs := make([]*hub, 0, len(p.hubs))
			for _, h := range p.hubs {
				hubs = append(hubs, h)
			}
			p.hubsMu.Unlock()
			for _, h := range hubs {
				h.ping()
			}
		}
	}
}

// closeAll ends every stream (at shutdown).
func (p *Provider) closeAll() {
	p.hubsMu.Lock()
	hubs := make([]*hub, 0, len(p.hubs))
	for _, h := range p.hubs {
		hubs = append(hubs, h)
	}
	p.hubsMu.Unlock()
	for _, h := range hubs {
		h.mu.Lock()
		ss := make([]*stream, 0, len(h.set))
		for s := range h.set {
			ss = append(ss, s)
		}
		h.mu.Unlock()
		for _, s := range ss {
			s.shutdown("shutdown")
		}
	}
}
