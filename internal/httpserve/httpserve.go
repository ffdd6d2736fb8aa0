// Package httpserve builds the HTTP servers of every Waypost role with
// timeouts, so a client that dribbles its headers or body, or holds an idle
// connection, cannot hold a goroutine and a socket for long. Long-lived SSE
// streams are not affected: the provider hijacks their connections, and a
// hijacked connection is no longer read by net/http.
package httpserve

import (
	"log"
	"net/http"
	"time"
)

// Timeouts of a server; zero fields take the defaults shown.
type Timeouts struct {
	ReadHeader time.Duration // request line and headers (5 s)
	Read       time.Duration // the whole request, body included (30 s)
	Idle       time.Duration // between requests on a kept-alive connection (60 s)
}

func (t *Timeouts) defaults() {
	if t.ReadHeader <= 0 {
		t.ReadHeader = 5 * time.Second
	}
	if t.Read <= 0 {
		t.Read = 30 * time.Second
	}
	if t.Idle <= 0 {
		t.Idle = 60 * time.Second
	}
}

// MaxHeaderBytes bounds request headers.
const MaxHeaderBytes = 64 << 10

// New returns a server for h with the timeouts and header limit set.
// Bodies are bounded per route by the handlers (http.MaxBytesReader).
func New(h http.Handler, errLog *log.Logger, t Timeouts) *http.Server {
	t.defaults()
	return &http.Server{Handler: h, ErrorLog: errLog, MaxHeaderBytes: MaxHeaderBytes,
		ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read, IdleTimeout: t.Idle}
}
