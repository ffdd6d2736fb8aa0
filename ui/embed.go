// Package ui serves Waypost's dashboard: the production build of the React
// app in this directory (npm run build, or `make ui`, writes it to dist/),
// embedded in the waypost binary.
//
// Only dist/.gitkeep is committed, so a plain `go build` works without a UI
// build; the binary then answers every dashboard URL with a short page that
// says how to build it.
package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the embedded build, rooted at dist/.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // cannot happen: dist is embedded
	}
	return sub
}

// Built reports whether the embedded build holds a dashboard (index.html).
func Built() bool {
	_, err := fs.Stat(Dist(), "index.html")
	return err == nil
}

// Mount serves the embedded dashboard on r: GET and HEAD of every path that
// no other route claims. Paths under /api/ that reach it (unknown API
// routes) get r's own not-found answer, never the dashboard.
func Mount(r chi.Router) {
	var notFound http.Handler = http.NotFoundHandler()
	if m, ok := r.(interface{ NotFoundHandler() http.HandlerFunc }); ok {
		notFound = m.NotFoundHandler()
	}
	h := NewHandler(Dist(), notFound)
	r.Get("/*", h.ServeHTTP)
	r.Head("/*", h.ServeHTTP)
}

// file is one build file, read once at start-up.
type file struct {
	body  []byte
	gzip  []byte // nil when not worth compressing
	etag  string
	ctype string
}

// Handler serves a single-page app from a file system.
type Handler struct {
	files    map[string]*file
	index    *file
	notFound http.Handler
}

// NewHandler serves fsys (a Vite build: index.html, assets/...):
//
//   - existing files as they are; hashed files under assets/ with a one-year
//     immutable cache, everything else with Cache-Control: no-cache and an
//     ETag, so that a new deployment is picked up at once;
//   - any other path without a file extension (a client-side route such as
//     /p/default/production/flags) as index.html;
//   - missing files with an extension, and paths under /api/, with notFound.
//
// When fsys has no index.html, every page is a short HTML note explaining
// how to build the dashboard.
func NewHandler(fsys fs.FS, notFound http.Handler) *Handler {
	h := &Handler{files: map[string]*file{}, notFound: notFound}
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(path.Base(p), ".") {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil
		}
		h.files["/"+p] = newFile(p, b)
		return nil
	})
	if f, ok := h.files["/index.html"]; ok {
		h.index = f
	} else {
		h.index = newFile("index.html", []byte(notBuiltPage))
		h.index.etag = "" // never cached: the next binary may have a build
	}
	return h
}

func newFile(name string, b []byte) *file {
	sum := sha256.Sum256(b)
	f := &file{body: b, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
	f.ctype = mime.TypeByExtension(path.Ext(name))
	if f.ctype == "" {
		f.ctype = http.DetectContentType(b)
	}
	if compressible(f.ctype) && len(b) > 1024 {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(b)
		_ = zw.Close()
		if buf.Len() < len(b)*9/10 {
			f.gzip = buf.Bytes()
		}
	}
	return f
}

func compressible(ctype string) bool {
	for _, p := range []string{"text/", "application/javascript", "application/json", "image/svg+xml", "application/wasm"} {
		if strings.HasPrefix(ctype, p) {
			return true
		}
	}
	return false
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "/api" || strings.HasPrefix(p, "/api/") {
		h.notFound.ServeHTTP(w, r)
		return
	}
	if p == "/" || p == "/index.html" {
		h.serveIndex(w, r)
		return
	}
	if f, ok := h.files[p]; ok {
		if strings.HasPrefix(p, "/assets/") {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		h.serve(w, r, f)
		return
	}
	if strings.HasPrefix(p, "/assets/") || path.Ext(p) != "" {
		h.notFound.ServeHTTP(w, r)
		return
	}
	h.serveIndex(w, r)
}

// serveIndex answers with the app shell, which routes on the client.
func (h *Handler) serveIndex(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	if h.index.etag == "" {
		hd.Set("Cache-Control", "no-store")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "+
		"script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	h.serve(w, r, h.index)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, f *file) {
	hd := w.Header()
	hd.Set("Content-Type", f.ctype)
	hd.Set("X-Content-Type-Options", "nosniff")
	body, etag := f.body, f.etag
	if f.gzip != nil {
		hd.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			hd.Set("Content-Encoding", "gzip")
			body = f.gzip
			if etag != "" {
				etag = strings.TrimSuffix(etag, `"`) + `-gz"`
			}
		}
	}
	if etag != "" {
		hd.Set("ETag", etag)
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			q = strings.ReplaceAll(q, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

const notBuiltPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Waypost: dashboard not built</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem; color: #1f2937; }
code, pre { font-family: ui-monospace, monospace; background: #f3f4f6; border-radius: 4px; }
pre { padding: .75rem 1rem; }
code { padding: .1rem .3rem; }
</style>
</head>
<body>
<h1>The Waypost dashboard is not built</h1>
<p>This <code>waypost</code> binary was compiled without the dashboard. The management
API works as usual under <a href="/api/v1/openapi.json"><code>/api/v1</code></a>.</p>
<p>To include the dashboard, build the UI and then the binary, from the repository root:</p>
<pre>make ui
go build ./cmd/waypost</pre>
<p>(<code>make ui</code> runs <code>cd ui &amp;&amp; npm ci &amp;&amp; npm run build</code>, which needs Node.js 20 or later.)</p>
</body>
</html>
`
