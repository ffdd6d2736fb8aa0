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

// A hub holds the streams of one environment. Broadcasting writes the
// new state to every stream from a few goroutines (one per core); it never
// waits on a connection: a stream whose socket is full finishes in its own
// slow-lane goroutine. Single-stream wake-ups (new streams, pings,
// revocations) go through the writer pool; a stream woken again before a
// writer reaches it is written once, with the latest state (coalescing).
//
// The stream list is a slice (each stream knows its index, so removal is
// a swap) and broadcasts share a read-only copy of it, made once per
// change of membership: a change never walks a map, and the lock is held
// only for the copy, never while writing.
type hub struct {
	p    *Provider
	mu   sync.Mutex
	list []*stream // guarded by mu; list[s.idx-1] == s
	view []*stream // read-only copy of list for broadcasts (nil: stale)
	cur  atomic.Pointer[envState]
}

func (p *Provider) hub(envID int64) *hub {
	p.hubsMu.Lock()
	defer p.hubsMu.Unlock()
	h := p.hubs[envID]
	if h == nil {
		h = &hub{p: p}
		if st := p.world.Load().envs[envID]; st != nil {
			h.cur.Store(st)
		}
		p.hubs[envID] = h
	}
	return h
}

// streams returns the hub's streams (read-only: shared by every caller
// until the membership changes).
func (h *hub) streams() []*stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.view == nil {
		h.view = append(make([]*stream, 0, len(h.list)), h.list...)
	}
	return h.view
}

// broadcast installs st and writes it to every stream, in parallel chunks
// (one goroutine per core). Writes never block: a stream whose socket is
// full finishes in its own slow-lane goroutine (see flush). fo (may be
// nil) is told when the first and the last stream have their bytes.
func (h *hub) broadcast(st *envState, fo *fanout) {
	start := time.Now()
	h.cur.Store(st)
	streams := h.streams()
	parts := runtime.GOMAXPROCS(0)
	if len(streams) < 256 {
		parts = 1
	}
	now := start.UnixNano() // every stream's last-write mark (heartbeats)
	run := func(chunk []*stream) {
		var sent sentCounts
		for _, s := range chunk {
			sent[s.flush(fo, now)]++
		}
		h.p.metrics.count(&sent)
	}
	var wg sync.WaitGroup
	for i := 1; i < parts; i++ {
		chunk := streams[i*len(streams)/parts : (i+1)*len(streams)/parts]
		wg.Add(1)
		go func() { defer wg.Done(); run(chunk) }()
	}
	run(streams[:len(streams)/parts])
	wg.Wait()
	d := time.Since(start)
	h.p.metrics.lastBroadcastNanos.Store(int64(d))
	h.p.metrics.broadcast.Observe(d.Seconds())
	fo.finish()
}

func (h *hub) add(s *stream) {
	h.mu.Lock()
	h.list = append(h.list, s)
	s.idx = len(h.list)
	h.view = nil
	h.mu.Unlock()
	h.p.metrics.streams.Add(1)
	// A key revoked between this stream's authentication and now: the
	// revocation's list may have been taken before this stream joined.
	if _, ok := h.p.world.Load().keys[s.key]; !ok {
		s.revoked.Store(true)
	}
	if h.p.stopping.Load() { // registered after closeAll took its list
		s.shutdown("shutdown")
	}
}

func (h *hub) remove(s *stream) {
	h.mu.Lock()
	i := s.idx - 1
	if i >= 0 {
		last := len(h.list) - 1
		h.list[i] = h.list[last]
		h.list[i].idx = i + 1
		h.list[last] = nil
		h.list = h.list[:last]
		s.idx = 0
		h.view = nil
	}
	h.mu.Unlock()
	if i >= 0 {
		h.p.metrics.streams.Add(-1)
	}
}

// revokeMissing closes the streams whose key is no longer valid.
func (h *hub) revokeMissing(keys map[keyHash]keyInfo) {
	for _, s := range h.streams() {
		if _, ok := keys[s.key]; !ok {
			s.revoked.Store(true)
			s.wake()
		}
	}
}

// ping queues a heartbeat for every stream that has not been written to
// in the last half interval: a stream that just received an event needs
// no ping, and the longest silence stays under 1.5 intervals.
func (h *hub) ping(now int64) {
	recent := now - int64(h.p.cfg.HeartbeatInterval/2)
	for _, s := range h.streams() {
		if s.lastWrite.Load() > recent {
			continue
		}
		s.needPing.Store(true)
		s.wake()
	}
}

// fanout follows one broadcast until every stream it wrote has all of its
// bytes (slow lanes included), for the stage histograms.
type fanout struct {
	first   atomic.Int64 // unix nanos when the first stream had all its bytes (0: none yet)
	pending atomic.Int64 // slow-lane writes running, plus 1 until the broadcast returns
	end     func(first, last int64)
}

func newFanout(end func(first, last int64)) *fanout {
	f := &fanout{end: end}
	f.pending.Store(1)
	return f
}

// wrote records that a stream has all of the event's bytes.
func (f *fanout) wrote() {
	if f != nil && f.first.Load() == 0 {
		f.first.CompareAndSwap(0, time.Now().UnixNano())
	}
}

func (f *fanout) finish() {
	if f != nil && f.pending.Add(-1) == 0 {
		f.end(f.first.Load(), time.Now().UnixNano())
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
	hub       *hub
	key       keyHash
	kind      streamKind
	gzip      bool // the body is one gzip stream (Accept-Encoding: gzip)
	sink      sink
	idx       int          // position in hub.list + 1; 0: not in it (guarded by hub.mu)
	mu        sync.Mutex   // one writer at a time (held across a slow-lane write)
	lastSent  int64        // revision of the last put/patch/refetch written (guarded by mu)
	lastWrite atomic.Int64 // unix nanos of the last write (heartbeats skip recent ones)
	pending   atomic.Bool  // a flush was skipped while mu was held: redo when released
	queued    atomic.Bool
	needPing  atomic.Bool
	revoked   atomic.Bool
	closed    atomic.Bool
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
			var sent sentCounts
			sent[s.flush(nil, time.Now().UnixNano())]++
			p.metrics.count(&sent)
		}
	}
}

var (
	pingEvent    = newEncoded([]byte(": ping\n\n"))
	revokedEvent = newEncoded([]byte("event: error\ndata: {\"code\":\"key_revoked\"}\n\n"))
)

// sentKind is what a flush wrote (sentNone: nothing).
type sentKind uint8

const (
	sentNone sentKind = iota
	sentPut
	sentPatch
	sentPing
	sentRefetch
	sentKinds
)

// sentCounts counts a batch of flushes, added to the shared counters
// once per batch rather than once per stream.
type sentCounts [sentKinds]int64

// flush writes what the stream is missing: the latest state as a patch
// when the stream is exactly at its base revision, else a put; or a ping.
// It never waits on the connection: what the socket does not take at once
// is finished by a slow-lane goroutine with a deadline, and changes that
// arrive meanwhile are coalesced into one write of the latest state. now
// becomes the stream's last-write mark; fo (may be nil) is the broadcast
// being followed.
func (s *stream) flush(fo *fanout, now int64) sentKind {
	if s.queued.Load() {
		s.queued.Store(false) // before reading state: a later change re-queues
	}
	if s.closed.Load() {
		return sentNone
	}
	if !s.mu.TryLock() {
		s.pending.Store(true)
		return sentNone
	}
	p := s.hub.p
	if s.revoked.Load() {
		// OFREP streams just close: a named "error" event would fire a
		// browser EventSource's error listener, which OFREP clients take
		// for a transport fault. The reconnection is answered 401.
		if s.kind != streamOFREP {
			_ = s.sink.write(revokedEvent.get(s.gzip), time.Now().Add(p.cfg.WriteTimeout))
		}
		s.mu.Unlock()
		s.shutdown("revoked")
		return sentNone
	}
	var ev *encoded
	kind := sentNone
	if st := s.hub.cur.Load(); st != nil && st.revision > s.lastSent {
		switch {
		case s.kind == streamOFREP:
			ev, kind = st.refetch, sentRefetch
		case st.patch != nil && st.patch.base == s.lastSent:
			ev, kind = st.patch.event, sentPatch
		default:
			ev, kind = st.put, sentPut
		}
		s.lastSent = st.revision
	} else if s.needPing.Load() {
		ev, kind = pingEvent, sentPing
	}
	if s.needPing.Load() {
		s.needPing.Store(false)
	}
	if ev == nil {
		s.release()
		return sentNone
	}
	if kind == sentPing {
		fo = nil // a broadcast follows events only
	}
	out := ev.get(s.gzip)
	n, err := s.sink.tryWrite(out)
	if err != nil {
		s.mu.Unlock()
		p.log.Debug("stream write failed", "err", err)
		s.shutdown("write failed")
		return sentNone
	}
	s.lastWrite.Store(now)
	if n < len(out) {
		if fo != nil {
			fo.pending.Add(1)
		}
		go s.finishSlow(out[n:], fo) // keeps mu until done
		return kind
	}
	fo.wrote()
	s.release()
	return kind
}

// finishSlow completes a write the socket could not take at once. A
// client that stays stuck past the write timeout is closed; it will
// reconnect and get a put.
func (s *stream) finishSlow(rest []byte, fo *fanout) {
	defer fo.finish()
	err := s.sink.write(rest, time.Now().Add(s.hub.p.cfg.WriteTimeout))
	if err != nil {
		s.mu.Unlock()
		s.shutdown("write failed")
		return
	}
	fo.wrote()
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
// client reconnects and gets a put). Its writes are serialised by the
// stream's mu, so the raw-write callback and its arguments live in the
// sink: a write allocates nothing.
type connSink struct {
	conn net.Conn
	raw  syscall.RawConn // for non-blocking writes without timers
	fn   func(fd uintptr) bool
	buf  []byte
	n    int
	err  error
}

func newConnSink(conn net.Conn) *connSink {
	c := &connSink{conn: conn}
	if sc, ok := conn.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	c.fn = c.writeFD
	return c
}

// writeFD makes one write(2) of c.buf: done, whatever happened (never
// park on the poller).
func (c *connSink) writeFD(fd uintptr) bool {
	for {
		c.n, c.err = syscall.Write(int(fd), c.buf)
		if c.err != syscall.EINTR {
			return true
		}
	}
}

// tryWrite makes one non-blocking write(2); EAGAIN means nothing was taken.
func (c *connSink) tryWrite(b []byte) (int, error) {
	if c.raw == nil {
		return len(b), c.write(b, time.Now().Add(time.Second))
	}
	c.buf = b
	err := c.raw.Write(c.fn)
	n, werr := c.n, c.err
	c.buf, c.err = nil, nil
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

func (c *connSink) write(b []byte, deadline time.Time) error {
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

func (c *connSink) close() { _ = c.conn.Close() }

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

// heartbeats pings, at the configured interval, every stream not
// written to recently.
func (p *Provider) heartbeats(done <-chan struct{}) {
	t := time.NewTicker(p.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			for _, h := range p.allHubs() {
				h.ping(now.UnixNano())
			}
		}
	}
}

func (p *Provider) allHubs() []*hub {
	p.hubsMu.Lock()
	defer p.hubsMu.Unlock()
	hubs := make([]*hub, 0, len(p.hubs))
	for _, h := range p.hubs {
		hubs = append(hubs, h)
	}
	return hubs
}

// closeAll ends every stream (at shutdown).
func (p *Provider) closeAll() {
	for _, h := range p.allHubs() {
		for _, s := range h.streams() {
			s.shutdown("shutdown")
		}
	}
}
