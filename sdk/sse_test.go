package waypost

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/waypost/waypost/sdk/internal/require"
)

// parseAll returns every event of input (Data copied) and the final error.
func parseAll(r io.Reader, bufSize, max int) ([]sseEvent, *sseReader, error) {
	p := newSSEReader(r, bufSize, max)
	var evs []sseEvent
	for {
		ev, err := p.Next()
		if err != nil {
			return evs, p, err
		}
		ev.Data = append([]byte(nil), ev.Data...)
		evs = append(evs, ev)
	}
}

func TestSSEParser(t *testing.T) {
	ev := func(typ, id, data string) sseEvent { return sseEvent{Type: typ, ID: id, Data: []byte(data)} }
	for name, tc := range map[string]struct {
		in   string
		want []sseEvent
	}{
		"put":             {"retry: 1000\n\nevent: put\nid: 42\ndata: {\"a\":1}\n\n", []sseEvent{ev("put", "42", `{"a":1}`)}},
		"crlf":            {"event: patch\r\nid: 7\r\ndata: x\r\n\r\n", []sseEvent{ev("patch", "7", "x")}},
		"lone cr":         {"event: patch\rid: 7\rdata: x\r\rdata: y\r\r", []sseEvent{ev("patch", "7", "x"), ev("message", "7", "y")}},
		"multiline data":  {"data: a\ndata:b\ndata:  c\ndata\n\n", []sseEvent{ev("message", "", "a\nb\n c\n")}},
		"comments":        {": ping\n\n:\n\ndata: x\n: inside\n\n", []sseEvent{ev("message", "", "x")}},
		"no data":         {"event: put\nid: 3\n\ndata: x\n\n", []sseEvent{ev("message", "3", "x")}},
		"unknown fields":  {"foo: bar\nevent: put\nbaz\ndata: x\n\n", []sseEvent{ev("put", "", "x")}},
		"unterminated":    {"data: x\n\ndata: lost\n", []sseEvent{ev("message", "", "x")}},
		"bom":             {"\xEF\xBB\xBFdata: x\n\n", []sseEvent{ev("message", "", "x")}},
		"id with nul":     {"id: 1\ndata: a\n\nid: 2\x00\ndata: b\n\n", []sseEvent{ev("message", "1", "a"), ev("message", "1", "b")}},
		"empty id resets": {"id: 1\ndata: a\n\nid\ndata: b\n\n", []sseEvent{ev("message", "1", "a"), ev("message", "", "b")}},
		"colon in value":  {"data: a: b\n\n", []sseEvent{ev("message", "", "a: b")}},
	} {
		t.Run(name, func(t *testing.T) {
			for _, r := range []io.Reader{strings.NewReader(tc.in), iotest.OneByteReader(strings.NewReader(tc.in))} {
				got, _, err := parseAll(r, 16, 1<<20)
				require.ErrorIs(t, err, io.EOF)
				require.Equal(t, len(tc.want), len(got), "%q", got)
				for i := range got {
					require.Equal(t, tc.want[i].Type, got[i].Type)
					require.Equal(t, tc.want[i].ID, got[i].ID)
					require.Equal(t, string(tc.want[i].Data), string(got[i].Data))
				}
			}
		})
	}
}

func TestSSERetry(t *testing.T) {
	_, p, _ := parseAll(strings.NewReader("retry: 1500\n\nretry: x\n\nretry: -1\n\n"), 0, 0)
	require.Equal(t, 1500*time.Millisecond, p.Retry())
}

func TestSSEBound(t *testing.T) {
	big := "data: " + strings.Repeat("x", 100) + "\n\n"
	_, _, err := parseAll(strings.NewReader(big), 16, 100)
	require.ErrorIs(t, err, errEventTooLarge)
	// Many small lines also count.
	many := strings.Repeat("data: xxxxxxxx\n", 20) + "\n"
	_, _, err = parseAll(strings.NewReader(many), 16, 100)
	require.ErrorIs(t, err, errEventTooLarge)
	// The bound is per event.
	evs, _, err := parseAll(strings.NewReader(strings.Repeat("data: xxxxxxxx\n\n", 50)), 16, 100)
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, evs, 50)
}

func TestSSEVeryLongLine(t *testing.T) {
	payload := strings.Repeat("y", 3<<20)
	evs, _, err := parseAll(strings.NewReader("event: put\ndata: "+payload+"\n\n"), 0, DefaultMaxEventBytes)
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, evs, 1)
	require.Equal(t, len(payload), len(evs[0].Data))
}

func TestSSEReadError(t *testing.T) {
	boom := errors.New("boom")
	_, _, err := parseAll(io.MultiReader(strings.NewReader("data: x\n"), iotest.ErrReader(boom)), 0, 0)
	require.ErrorIs(t, err, boom)
}
