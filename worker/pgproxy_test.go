package worker_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pgProxy is a TCP proxy between a worker and PostgreSQL that a test can
// cut as if the database restarted: every connection through it dropped at
// once and new ones refused for a while, then accepted again. The shared
// PostgreSQL server itself is never touched.
//
// It reads the frontend messages passing through (Parse, Bind, Query), so
// a test can cut at a chosen point of a transaction: before a statement
// reaches the server, or after it was executed but before its answer
// reaches the client (a COMMIT that happened without the client knowing).
type pgProxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}

	// decide is called with every statement a client executes (the
	// connection's number and the SQL);
	// it says whether and where to cut. Set before traffic flows.
	decide atomic.Pointer[func(conn int64, sql string) cutPoint]
	nextID atomic.Int64
	cuts   atomic.Int32
	// outage is how long new connections are refused after a cut.
	outage time.Duration
}

type cutPoint int

const (
	noCut         cutPoint = iota
	cutBefore              // the statement never reaches the server
	cutAfterReply          // the server runs it; the client never hears back
)

func newPGProxy(t *testing.T, dsn string, outage time.Duration) *pgProxy {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &pgProxy{t: t, ln: ln, target: u.Host, conns: map[net.Conn]struct{}{}, outage: outage}
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for c := range p.conns {
			_ = c.Close()
		}
	})
	return p
}

// dsn is dsn with the proxy as its host.
func (p *pgProxy) dsn(dsn string) string {
	u, _ := url.Parse(dsn)
	u.Host = p.ln.Addr().String()
	return u.String()
}

// cut drops every connection and refuses new ones for p.outage.
func (p *pgProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return
	}
	p.down = true
	p.cuts.Add(1)
	for c := range p.conns {
		_ = c.Close()
	}
	p.conns = map[net.Conn]struct{}{}
	time.AfterFunc(p.outage, func() {
		p.mu.Lock()
		p.down = false
		p.mu.Unlock()
	})
}

func (p *pgProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		for _, c := range cs {
			_ = c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *pgProxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			_ = client.Close() // the database is restarting
			continue
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		if !p.track(client, server) {
			continue
		}
		var mute atomic.Bool
		go p.frontend(p.nextID.Add(1), client, server, &mute)
		go func() {
			// Backend to client, unless the client must not hear back.
			buf := make([]byte, 32<<10)
			for {
				n, err := server.Read(buf)
				if n > 0 && mute.Load() {
					p.cut()
					return
				}
				if n > 0 {
					if _, werr := client.Write(buf[:n]); werr != nil {
						break
					}
				}
				if err != nil {
					break
				}
			}
			_ = client.Close()
			_ = server.Close()
		}()
	}
}

// frontend forwards client messages to the server, message by message,
// asking decide about each statement executed.
func (p *pgProxy) frontend(id int64, client, server net.Conn, mute *atomic.Bool) {
	defer func() { _ = client.Close(); _ = server.Close() }()
	r := bufio.NewReader(client)
	// Startup (and SSL/GSS requests before it) have no type byte.
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(hdr[:4]))
		rest := make([]byte, n-8)
		if _, err := io.ReadFull(r, rest); err != nil {
			return
		}
		if _, err := server.Write(append(hdr[:], rest...)); err != nil {
			return
		}
		code := binary.BigEndian.Uint32(hdr[4:])
		if code != 80877103 && code != 80877104 { // not SSLRequest / GSSENCRequest
			break
		}
	}
	stmts := map[string]string{}
	for {
		var hdr [5]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(hdr[1:]))
		body := make([]byte, n-4)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		sql := ""
		switch hdr[0] {
		case 'P': // Parse: statement name, query
			name, q := cstring(body), cstring(body[len(cstring(body))+1:])
			stmts[name] = q
		case 'B': // Bind: portal name, statement name
			portal := cstring(body)
			sql = stmts[cstring(body[len(portal)+1:])]
		case 'Q': // simple query
			sql = cstring(body)
		}
		cp := noCut
		if f := p.decide.Load(); f != nil && sql != "" {
			cp = (*f)(id, sql)
		}
		if cp == cutBefore {
			p.cut()
			return
		}
		if cp == cutAfterReply {
			mute.Store(true)
		}
		if _, err := server.Write(append(hdr[:], body...)); err != nil {
			return
		}
	}
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return string(b[:i])
	}
	return string(b)
}

// inDecisionTx returns a decide function that cuts, once, the
// transaction of the connection that inserts a safe-rollout decision, at
// its first statement starting with at (e.g. "commit"), where says.
func inDecisionTx(at string, where cutPoint) *func(conn int64, sql string) cutPoint {
	var mu sync.Mutex
	seen, done := map[int64]bool{}, false
	f := func(conn int64, sql string) cutPoint {
		mu.Lock()
		defer mu.Unlock()
		s := strings.ToLower(strings.TrimSpace(sql))
		if done {
			return noCut
		}
		// sqlc's statements begin with a "-- name: ..." comment line.
		if _, after, ok := strings.Cut(s, "\n"); ok && strings.HasPrefix(s, "--") {
			s = strings.TrimSpace(after)
		}
		if strings.HasPrefix(s, "insert into safe_rollout_decisions") {
			seen[conn] = true
		}
		if seen[conn] && strings.HasPrefix(s, at) {
			done = true
			return where
		}
		if s == "commit" || s == "rollback" {
			delete(seen, conn)
		}
		return noCut
	}
	return &f
}
