package provider

import (
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
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

// broadcast installs st and writes it to every stream, in parallel chunks
// (one goroutine per core). Writes never block: a stream whose socket is
// full finishes in its own slow-lane goroutine (see flush).
func (h *hub) broadcast(st *envState) {
	start := time.Now()
	defer func() {
		d := time.Since(start)
		h.p.metrics.lastBroadcastNanos.Store(int64(d))
		h.p.metrics.broadcast.Observe(d.Seconds())
	}()
	h.cur.Store(st)
	h.mu.Lock()
	streams := make([]*stream, 0, len(h.set))
	for s := range h.set {
		streams = append(streams, s)
	}
	h.mu.Unlock()
	parts := runtime.GOMAXPROCS(0)
	if len(streams) < 256 {
		parts = 1
	}
	var wg sync.WaitGroup
	for i := 0; i < parts; i++ {
		chunk := streams[i*len(streams)/parts : (i+1)*len(streams)/parts]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, s := range chunk {
				s.flush()
			}
		}()
	}
	wg.Wait()
}

func (h *hub) add(s *stream) {
	h.mu.Lock()
	h.set[s] = struct{}{}
	h.mu.Unlock()
	h.p.metrics.streams.Add(1)
	if h.p.stopping.Load() { // registered after closeAll took its list
		s.shutdown("shutdown")
	}
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
	// tryWrite writes what it can without waiting and returns how much.
	tryWrite(b []byte) (int, error)
	// write writes all of b, waiting until deadline at most.
	write(b []byte, deadline time.Time) error
	close()
}

type stream struct {
	hub      *hub
	key      keyHash
	kind     streamKind
	sink     sink
	mu       sync.Mutex  // one writer at a time (held across a slow-lane write)
	lastSent int64       // revision of the last put/patch/refetch written (guarded by mu)
	pending  atomic.Bool // a flush was skipped while mu was held: redo when released
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
// It never waits on the connection: what the socket does not take at once
// is finished by a slow-lane goroutine with a deadline, and changes that
// arrive meanwhile are coalesced into one write of the latest state.
func (s *stream) flush() {
	s.queued.Store(false) // before reading state: a later change re-queues
	if s.closed.Load() {
		return
	}
	if !s.mu.TryLock() {
		s.pending.Store(true)
		return
	}
	p := s.hub.p
	if s.revoked.Load() {
		// OFREP streams just close: a named "error" event would fire a
		// browser EventSource's error listener, which OFREP clients take
		// for a transport fault. The reconnection is answered 401.
		if s.kind != streamOFREP {
			_ = s.sink.write(revokedEvent, time.Now().Add(p.cfg.WriteTimeout))
		}
		s.mu.Unlock()
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
		s.release()
		return
	}
	n, err := s.sink.tryWrite(out)
	if err != nil {
		s.mu.Unlock()
		p.log.Debug("stream write failed", "err", err)
		s.shutdown("write failed")
		return
	}
	counter.Add(1)
	if n < len(out) {
		go s.finishSlow(out[n:]) // keeps mu until done
		return
	}
	s.release()
}

// finishSlow completes a write the socket could not take at once. A
// client that stays stuck past the write timeout is closed; it will
// reconnect and get a put.
func (s *stream) finishSlow(rest []byte) {
	err := s.sink.write(rest, time.Now().Add(s.hub.p.cfg.WriteTimeout))
	if err != nil {
		s.mu.Unlock()
		s.shutdown("write failed")
		return
	}
	s.release()
}

// release unlocks the stream and redoes a flush skipped meanwhile.
func (s *stream) release() {
	s.mu.Unlock()
	if s.pending.Swap(false) {
		s.wake()
	}
}

func (s *stream) shutdown(why string) {
	if s.closed.Swap(true) {
		return
	}
	s.hub.p.log.Debug("closing stream", "why", why)
	s.hub.remove(s)
	s.sink.close()
	if why == "write failed" {
		s.hub.p.metrics.closedLagging.Add(1)
	}
}

// connSink writes to a hijacked connection. A write that times out
// part-way leaves the stream unusable, so the connection is closed (the
// client reconnects and gets a put).
type connSink struct {
	conn net.Conn
	raw  syscall.RawConn // for non-blocking writes without timers
}

func newConnSink(conn net.Conn) connSink {
	c := connSink{conn: conn}
	if sc, ok := conn.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	return c
}

// tryWrite makes one non-blocking write(2); EAGAIN means nothing was taken.
func (c connSink) tryWrite(b []byte) (int, error) {
	if c.raw == nil {
		return len(b), c.write(b, time.Now().Add(time.Second))
	}
	var n int
	var werr error
	err := c.raw.Write(func(fd uintptr) bool {
		for {
			n, werr = syscall.Write(int(fd), b)
			if werr != syscall.EINTR {
				return true // done, whatever happened: never park on the poller
			}
		}
	})
	if err != nil {
		return 0, err
	}
	if werr == syscall.EAGAIN {
		return 0, nil
	}
	if n < 0 {
		n = 0
	}
	return n, werr
}

func (c connSink) write(b []byte, deadline time.Time) error {
	if err := c.conn.SetWriteDeadline(deadline); err != nil {
		return err
	}
	_, err := c.conn.Write(b)
	if err != nil {
		return err
	}
	// Clear it again: tryWrite's raw writes would see an expired deadline.
	return c.conn.SetWriteDeadline(time.Time{})
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

func (c *writerSink) tryWrite(b []byte) (int, error) {
	return len(b), c.write(b, time.Now().Add(time.Second))
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
