package provider_test

import (
	"bufio"
	"compress/gzip"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/provider"
)

// Every change that reaches a stream is timed stage by stage, labelled
// with the way the provider heard of it, so an operator can see which
// step is slow: with NOTIFY alone it is "notify", with webhooks alone
// "webhook".
func TestChangeStagesAreTimedByPath(t *testing.T) {
	t.Parallel()
	for _, via := range []string{"notify", "webhook"} {
		t.Run(via, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, via == "webhook")
			h.createFlag("quote")
			key, _ := h.sdkKey("server")
			prov := h.startProvider("", func(c *provider.Config) { c.DisableNotify = via == "webhook" })
			s, status := openStream(t, prov.url+"/v1/stream", key, "")
			require.Equal(t, 200, status)
			require.Equal(t, "put", s.next(t, false).name)
			h.toggle("quote", true)
			s.waitRevision(t, h.revision())
			// With NOTIFY on, a listener still connecting when the change
			// commits hears of it by its reconnect check instead.
			vias := map[string][]string{"notify": {"notify", "reconnect"}, "webhook": {"webhook"}}[via]
			value := func(kind, stage string) float64 {
				total := 0.0
				for _, v := range vias {
					total += metricValue(t, prov.url, `waypost_provider_change_stage_seconds_`+kind+`{stage="`+stage+`",via="`+v+`"}`)
				}
				return total
			}
			for _, stage := range []string{"commit_to_heard", "heard_to_applied", "applied_to_first_byte", "applied_to_last_byte", "commit_to_last_byte"} {
				require.Eventually(t, func() bool { return value("count", stage) == 1 }, 10*time.Second, 10*time.Millisecond, stage)
			}
			require.Greater(t, value("sum", "commit_to_last_byte"), value("sum", "commit_to_heard"), "the whole way is longer than its first stage")
		})
	}
}

// gzipStream opens /v1/stream asking for gzip and returns a reader of the
// decompressed events.
func gzipStream(t *testing.T, url, key string) *bufio.Reader {
	t.Helper()
	req, err := http.NewRequest("GET", url+"/v1/stream", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept-Encoding", "gzip") // set by hand: the transport does not decompress
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = res.Body.Close() })
	require.Equal(t, 200, res.StatusCode)
	require.Equal(t, "gzip", res.Header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(res.Body)
	require.NoError(t, err)
	return bufio.NewReaderSize(zr, 1<<20)
}

// readEvent returns the next event (name, id, data), skipping comments.
func readEvent(t *testing.T, r *bufio.Reader) sseEvent {
	t.Helper()
	var ev sseEvent
	for {
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "" && ev.name != "":
			return ev
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "id: "):
			ev.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
		}
	}
}

// A stream that accepts gzip gets one gzip body in which every event can
// be decoded as soon as it arrives: the put, then a patch per change,
// beside a plain stream receiving the same events.
func TestStreamHonoursAcceptEncodingGzip(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	h.createFlag("quote")
	h.createFlag("other")
	key, _ := h.sdkKey("server")
	prov := h.startProvider("")
	zs := []*bufio.Reader{gzipStream(t, prov.url, key), gzipStream(t, prov.url, key)}
	plain, _ := openStream(t, prov.url+"/v1/stream", key, "")
	for _, z := range zs {
		put := readEvent(t, z)
		require.Equal(t, "put", put.name)
		require.False(t, flagEnabled(t, put, "quote"))
	}
	require.Equal(t, "put", plain.next(t, false).name)
	for i, on := range []bool{true, false, true} {
		h.toggle("quote", on)
		rev := itoa(h.revision())
		want := plain.waitRevision(t, h.revision())
		for _, z := range zs {
			ev := readEvent(t, z)
			require.Equal(t, "patch", ev.name, "change %d", i)
			require.Equal(t, rev, ev.id)
			require.Equal(t, want.data, ev.data, "the same event as the plain stream")
			require.Equal(t, on, flagEnabled(t, ev, "quote"))
		}
	}
}
