package dbtest

import (
	"net"
	"net/url"
	"sync"
	"testing"
)

// Proxy is a TCP proxy in front of PostgreSQL for fault-injection tests:
// it can stall (hold every connection open and forward nothing, as a
// frozen server does), cut every connection (a restart), and refuse new
// ones (a server that is down).
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	stalled bool
	down    bool
	resume  chan struct{} // closed when a stall ends
	conns   map[net.Conn]bool
}

// NewProxy listens on a free port and forwards to the server of
// connString; it closes at cleanup.
func NewProxy(tb testing.TB, connString string) *Proxy {
	tb.Helper()
	u, err := url.Parse(connString)
	if err != nil {
		tb.Fatalf("dbtest: proxy: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("dbtest: proxy: %v", err)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "5432")
	}
	p := &Proxy{ln: ln, target: host, resume: make(chan struct{}), conns: map[net.Conn]bool{}}
	close(p.resume)
	go p.accept()
	tb.Cleanup(p.Close)
	return p
}

// URL returns connString pointed at the proxy.
func (p *Proxy) URL(connString string) string {
	u, _ := url.Parse(connString)
	u.Host = p.ln.Addr().String()
	return u.String()
}

// Stall stops forwarding bytes; connections stay open.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stalled {
		p.stalled = true
		p.resume = make(chan struct{})
	}
}

// Resume ends a stall.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled {
		p.stalled = false
		close(p.resume)
	}
}

// Down cuts every connection and refuses new ones until Up.
func (p *Proxy) Down() {
	p.mu.Lock()
	p.down = true
	p.mu.Unlock()
	p.Cut()
}

// Up accepts connections again.
func (p *Proxy) Up() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// Cut closes every open connection (as a server restart does).
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// Close stops the proxy and closes its connections.
func (p *Proxy) Close() {
	_ = p.ln.Close()
	p.Resume()
	p.Cut()
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			_ = c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[s] = true, true
		p.mu.Unlock()
		go p.pipe(c, s)
		go p.pipe(s, c)
	}
}

// pipe copies src to dst, holding every chunk while the proxy is stalled.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer func() { _ = dst.Close(); _ = src.Close() }()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			gate := p.resume
			p.mu.Unlock()
			<-gate
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
