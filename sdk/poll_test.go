package waypost

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waypost/waypost/sdk/internal/require"
)

// A proxy that answers the stream with an HTML page (SSE blocked): the
// client still follows changes by polling /v1/flags on each reconnection.
func TestPollingFallbackWhenStreamIsBlocked(t *testing.T) {
	t.Parallel()
	var rev atomic.Int64
	rev.Store(1)
	var notModified atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/flags":
			cur := rev.Load()
			etag := `"` + strconv.FormatInt(cur, 10) + `"`
			if r.Header.Get("If-None-Match") == etag {
				notModified.Add(1)
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", etag)
			w.Header().Set("Content-Type", "application/json")
			b, _ := json.Marshal(flagSet(cur, boolFlag("quote", int(cur%2)*10000, cur)))
			_, _ = w.Write(b)
		case "/v1/stream":
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>streaming is not allowed here</html>"))
		}
	}))
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL, func(cfg *Config) {
		cfg.InitialBackoff, cfg.MaxBackoff = 5*time.Millisecond, 20*time.Millisecond
	})
	waitRevision(t, c, 1)
	require.True(t, c.Bool("quote", "u", false))
	rev.Store(2)
	waitRevision(t, c, 2)
	require.False(t, c.Bool("quote", "u", true))
	waitFor(t, "a conditional poll answered 304", func() bool { return notModified.Load() > 0 })
}
