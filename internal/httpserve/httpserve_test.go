package httpserve

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func serve(t *testing.T, to Timeouts) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}), nil, to)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// closedByServer waits (generously) for the server to close conn.
func closedByServer(t *testing.T, conn net.Conn) {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err := io.Copy(io.Discard, conn)
	require.NoError(t, err, "the server closed the connection (a read deadline here would mean it held it)")
}

// Finding 6: no server set read, header or idle timeouts, so dribbled
// headers and bodies and idle connections were held for as long as the
// client liked.
func TestDribblingAndIdleClientsAreCutOff(t *testing.T) {
	t.Parallel()
	addr := serve(t, Timeouts{ReadHeader: 100 * time.Millisecond, Read: 200 * time.Millisecond, Idle: 200 * time.Millisecond})

	headers, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer headers.Close()
	_, err = io.WriteString(headers, "POST / HTTP/1.1\r\nHost: x\r\n") // and never the end of the headers
	require.NoError(t, err)
	closedByServer(t, headers)

	body, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer body.Close()
	_, err = io.WriteString(body, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc") // the rest never comes
	require.NoError(t, err)
	closedByServer(t, body)

	idle, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer idle.Close()
	_, err = io.WriteString(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(idle), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	closedByServer(t, idle) // kept alive, then idle
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	srv := New(http.NotFoundHandler(), nil, Timeouts{})
	require.Positive(t, srv.ReadHeaderTimeout)
	require.Positive(t, srv.ReadTimeout)
	require.Positive(t, srv.IdleTimeout)
	require.Equal(t, MaxHeaderBytes, srv.MaxHeaderBytes)
}
