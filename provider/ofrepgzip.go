package provider

import (
	"bytes"
	"compress/gzip"
	"strings"
	"sync"
	"sync/atomic"
)

// maxGzipBodies bounds how many gzipped bulk bodies one revision keeps:
// one per distinct context (its ETag) seen; beyond it, bodies are still
// gzipped, per request.
const maxGzipBodies = 4096

// gzipCache holds one revision's gzipped bulk OFREP bodies by ETag, so
// that clients polling with the same context at the same revision cost
// one compression, not one per request or connection. A new revision is
// a new envState, hence a new, empty cache.
type gzipCache struct {
	bodies  sync.Map // ETag -> []byte
	n       atomic.Int64
	encodes atomic.Int64 // compressions done (tests)
}

// bulkGzip returns the gzip form of body, the bulk answer named etag at
// this revision, compressing it the first time only.
func (st *envState) bulkGzip(etag string, body []byte) []byte {
	c := &st.gz
	if v, ok := c.bodies.Load(etag); ok {
		return v.([]byte)
	}
	gz := gzipBytes(body)
	c.encodes.Add(1)
	if c.n.Load() < maxGzipBodies {
		if _, loaded := c.bodies.LoadOrStore(etag, gz); !loaded {
			c.n.Add(1)
		}
	}
	return gz
}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b)/3 + 64)
	w := gzipWriters.Get().(*gzip.Writer)
	w.Reset(&buf)
	_, _ = w.Write(b)
	_ = w.Close()
	gzipWriters.Put(w)
	return buf.Bytes()
}

// acceptsGzip reads Accept-Encoding (RFC 9110 section 12.5.3): gzip,
// x-gzip or * with a non-zero quality.
func acceptsGzip(lines []string) bool {
	for _, line := range lines {
		for rest, more := line, true; more; { // items, without strings.Split's slice
			var item string
			item, rest, more = strings.Cut(rest, ",")
			name, params, _ := strings.Cut(item, ";")
			name = strings.TrimSpace(name)
			if !strings.EqualFold(name, "gzip") && !strings.EqualFold(name, "x-gzip") && name != "*" {
				continue
			}
			q := "1"
			for ps, pmore := params, true; pmore; {
				var p string
				p, ps, pmore = strings.Cut(ps, ";")
				if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					q = strings.TrimSpace(v)
				}
			}
			if strings.Trim(q, "0.") != "" || q == "" {
				return true
			}
		}
	}
	return false
}
