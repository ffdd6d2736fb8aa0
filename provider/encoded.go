package provider

import (
	"bytes"
	"compress/flate"
	"sync"
)

// SSE over gzip. A stream that asked for Accept-Encoding: gzip gets one
// gzip body (RFC 1952 header, then DEFLATE) that never ends. Each event is
// compressed once per revision, for every such stream, as a "segment":
// DEFLATE blocks made by a fresh compressor (so they refer to nothing
// before them), ended by a sync flush (byte-aligned, not final). Segments
// therefore concatenate into a valid DEFLATE stream in any order, and the
// same bytes go to every stream whatever each has received before: gzip
// costs a stream nothing per event, unlike a compressor per stream (about
// a megabyte of state each, and the CPU of compressing per connection).
// The price is that an event cannot refer back to an earlier one, which
// matters little: the large events (puts) compress well on their own and
// patches are small. The body has no trailer (CRC-32 and size): streams
// end by a connection close, which SSE clients treat as a reconnect
// anyway. Decoders (browsers, curl, Go's gzip.Reader) hand out each event
// as soon as its sync flush arrives.

// gzipHeader is a gzip member header: deflate, no name, no time, OS unknown.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// gzipLevel trades ratio for the time a change spends being compressed
// (once per revision, on the delivery path): level 1 compresses a flag
// set's JSON about 5x, at a fraction of the default level's cost.
const gzipLevel = flate.BestSpeed

var flaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, gzipLevel)
	return w
}}

// deflateSegment compresses b into a self-contained, sync-flushed,
// non-final DEFLATE segment (see above).
func deflateSegment(b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b)/4 + 64)
	w := flaters.Get().(*flate.Writer)
	w.Reset(&buf)
	_, _ = w.Write(b) // a bytes.Buffer does not fail
	_ = w.Flush()
	flaters.Put(w)
	return buf.Bytes()
}

// encoded is one event's bytes, plain and (made on first use, once)
// as a gzip segment.
type encoded struct {
	plain []byte
	once  sync.Once
	gz    []byte
}

func newEncoded(b []byte) *encoded { return &encoded{plain: b} }

// get returns the plain bytes, or the gzip segment when gz.
func (e *encoded) get(gz bool) []byte {
	if !gz {
		return e.plain
	}
	e.once.Do(func() { e.gz = deflateSegment(e.plain) })
	return e.gz
}
