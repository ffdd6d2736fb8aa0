package provider_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/provider"
)

// Finding 9: a NUL character in an event's user id gave 503 "retry later",
// so the Go SDK retried six times and dropped the whole batch. A bad row is
// now a client error (4xx, which SDKs do not retry) naming the row, and
// nothing of the batch is stored; invalid UTF-8 too.
func TestEventsWithNulOrInvalidUTF8AreClientErrorsNamingTheRow(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	key, _ := h.sdkKey("server")
	p := h.startProvider("")
	ts := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339Nano)
	for body, field := range map[string]string{
		fmt.Sprintf(`{"events":[{"type":"metric","idempotencyKey":"a","metric":"m","userId":"ok","timestamp":%q},
		  {"type":"metric","idempotencyKey":"b","metric":"m","userId":"u\u0000","timestamp":%q}]}`, ts, ts): "events[1].userId",
		fmt.Sprintf("{\"events\":[{\"type\":\"metric\",\"idempotencyKey\":\"a\",\"metric\":\"m\xff\",\"userId\":\"u\",\"timestamp\":%q}]}", ts): "events[0].metric",
	} {
		code, out := postEvents(t, p.url, key, body)
		require.Equal(t, http.StatusBadRequest, code, "%v", out)
		require.Equal(t, field, out["error"].(map[string]any)["field"])
	}
	var n int
	require.NoError(t, h.pool.QueryRow(context.Background(), "SELECT count(*) FROM events_metric").Scan(&n))
	require.Zero(t, n, "nothing of the batches was stored")
}

// Finding 6: the provider read up to 32 MiB of a webhook body before
// checking its signature (10 concurrent requests took RSS from 94 to 549
// MiB). Headers are checked first, and at most 64 KiB is ever read.
func TestWebhookBodyIsNotReadBeforeTheHeadersAreChecked(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	prov := h.startProvider("", func(c *provider.Config) { c.DisableNotify = true })
	// Raw requests whose body never comes: an answer proves the handler
	// did not wait for (read) it.
	send := func(headers string) int {
		t.Helper()
		conn, err := net.Dial("tcp", strings.TrimPrefix(prov.url, "http://"))
		require.NoError(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, "POST /internal/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+headers+"\r\n")
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err, "answered before the body was read")
		_ = res.Body.Close()
		return res.StatusCode
	}
	require.Equal(t, 401, send("Content-Length: 1000\r\n"), "unsigned")
	now := time.Now()
	signed := "X-Waypost-Timestamp: " + strconv.FormatInt(now.Unix(), 10) + "\r\nX-Waypost-Signature: " + provider.Sign(secret, now, []byte("x")) + "\r\n"
	require.Equal(t, 413, send(signed+"Content-Length: 33554432\r\n"), "signed headers announcing 32 MiB")
}
