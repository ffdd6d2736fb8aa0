package waypost

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// DefaultMaxEventBytes bounds one Server-Sent Event (all its lines,
// comments included): a flag set larger than this is rejected.
const DefaultMaxEventBytes = 16 << 20

// errEventTooLarge is returned by sseReader.Next when an event or line
// exceeds the configured bound.
var errEventTooLarge = errors.New("waypost: sse: event exceeds size bound")

// sseEvent is one dispatched Server-Sent Event. Data is only valid until
// the next call to sseReader.Next.
type sseEvent struct {
	Type string // "message" when the stream did not name it
	ID   string // the last event id seen on the stream (SSE semantics)
	Data []byte // data lines joined with "\n"
}

// sseReader is a small, strict parser of the text/event-stream format
// (WHATWG HTML, "Server-sent events", section "Parsing an event stream").
// It accepts CRLF, LF and lone CR line endings, ignores comments and
// unknown fields, and rejects any event larger than max bytes.
type sseReader struct {
	r   *bufio.Reader
	max int

	line      []byte
	data      []byte
	eventType string
	lastID    string
	retry     time.Duration // last valid retry: field, 0 if none

	size    int  // bytes of the event being parsed
	skipLF  bool // the previous line ended with CR: a following LF belongs to it
	started bool // the optional leading BOM has been checked
}

// newSSEReader returns a parser reading r with a bufio buffer of bufSize
// bytes (bufio's default when <= 0) and an event bound of max bytes.
func newSSEReader(r io.Reader, bufSize, max int) *sseReader {
	if bufSize <= 0 {
		bufSize = 64 << 10
	}
	if max <= 0 {
		max = DefaultMaxEventBytes
	}
	return &sseReader{r: bufio.NewReaderSize(r, bufSize), max: max}
}

// Retry returns the last reconnection time the stream asked for, or 0.
func (p *sseReader) Retry() time.Duration { return p.retry }

// Next returns the next event. At the end of the stream it returns io.EOF
// (an unterminated event at the end is discarded, as the standard says);
// a read error is returned as is.
func (p *sseReader) Next() (sseEvent, error) {
	for {
		line, err := p.readLine()
		if err != nil {
			return sseEvent{}, err
		}
		if len(line) == 0 {
			ev, ok := p.dispatch()
			if ok {
				return ev, nil
			}
			continue
		}
		p.field(line)
	}
}

// dispatch ends the current event; ok is false when it had no data.
func (p *sseReader) dispatch() (sseEvent, bool) {
	p.size = 0
	typ := p.eventType
	p.eventType = ""
	if len(p.data) == 0 {
		return sseEvent{}, false
	}
	data := p.data[:len(p.data)-1] // strip the last "\n"
	p.data = p.data[:0]
	if typ == "" {
		typ = "message"
	}
	return sseEvent{Type: typ, ID: p.lastID, Data: data}, true
}

// field interprets one non-empty line.
func (p *sseReader) field(line []byte) {
	if line[0] == ':' {
		return // comment, e.g. ": ping"
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "event":
		p.eventType = string(value)
	case "data":
		p.data = append(p.data, value...)
		p.data = append(p.data, '\n')
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			p.lastID = string(value)
		}
	case "retry":
		if ms, err := strconv.ParseUint(string(value), 10, 31); err == nil && isDigits(value) {
			p.retry = time.Duration(ms) * time.Millisecond
		}
	}
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// readLine returns the next line without its terminator. The slice is
// only valid until the next call.
func (p *sseReader) readLine() ([]byte, error) {
	p.line = p.line[:0]
	if !p.started {
		p.started = true
		if b, err := p.r.Peek(3); err == nil && bytes.Equal(b, []byte("\xEF\xBB\xBF")) {
			_, _ = p.r.Discard(3)
		}
	}
	for {
		if p.r.Buffered() == 0 {
			if _, err := p.r.Peek(1); err != nil {
				if errors.Is(err, io.EOF) {
					return nil, io.EOF // a partial line or event is discarded
				}
				return nil, fmt.Errorf("waypost: sse: read: %w", err)
			}
		}
		buf, _ := p.r.Peek(p.r.Buffered())
		if p.skipLF {
			p.skipLF = false
			if buf[0] == '\n' {
				_, _ = p.r.Discard(1)
				continue
			}
		}
		i := bytes.IndexAny(buf, "\r\n")
		n := i
		if i < 0 {
			n = len(buf)
		}
		p.size += n
		if p.size > p.max {
			return nil, fmt.Errorf("%w (%d bytes)", errEventTooLarge, p.max)
		}
		p.line = append(p.line, buf[:n]...)
		if i < 0 {
			_, _ = p.r.Discard(n)
			continue
		}
		p.skipLF = buf[i] == '\r'
		_, _ = p.r.Discard(i + 1)
		p.size++ // the terminator
		return p.line, nil
	}
}
