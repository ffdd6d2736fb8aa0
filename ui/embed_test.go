package ui_test

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/go-chi/chi/v5"

	"github.com/waypost/waypost/api"
	"github.com/waypost/waypost/ui"
)

var build = fstest.MapFS{
	"index.html":             {Data: []byte(`<!doctype html><title>Waypost</title><script type="module" src="/assets/index-abc123.js"></script>`)},
	"assets/index-abc123.js": {Data: []byte(strings.Repeat("console.log('waypost');\n", 200))},
	"favicon.svg":            {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
	".gitkeep":               {Data: nil},
}

func get(t *testing.T, h http.Handler, method, path string, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mounted builds the real API router (no store: only routes that never
// reach it are exercised) with the dashboard handler for build on it.
func mounted(fsys fstest.MapFS) http.Handler {
	srv := api.New(nil, slog.New(slog.DiscardHandler))
	r := srv.Router()
	var nf http.Handler = http.NotFoundHandler()
	if m, ok := r.(*chi.Mux); ok {
		nf = m.NotFoundHandler()
	}
	h := ui.NewHandler(fsys, nf)
	r.Get("/*", h.ServeHTTP)
	r.Head("/*", h.ServeHTTP)
	return srv
}

func TestIndexAndClientRoutes(t *testing.T) {
	h := mounted(build)
	for _, p := range []string{"/", "/index.html", "/p/default/production/flags", "/p/default/production/flags/new-checkout"} {
		res := get(t, h, "GET", p)
		if res.StatusCode != 200 || !strings.Contains(body(t, res), "<title>Waypost</title>") {
			t.Errorf("GET %s: status %d, want the index page", p, res.StatusCode)
		}
		if cc := res.Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", p, cc)
		}
		if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: Content-Type %q", p, res.Header.Get("Content-Type"))
		}
		if res.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: no Content-Security-Policy", p)
		}
	}
}

func TestAssetsAreCachedForever(t *testing.T) {
	h := mounted(build)
	res := get(t, h, "GET", "/assets/index-abc123.js")
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
		t.Errorf("Cache-Control %q", cc)
	}
	if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("Content-Type %q", ct)
	}
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if res := get(t, h, "GET", "/assets/index-abc123.js", "If-None-Match", etag); res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", res.StatusCode)
	}
	// Unhashed root files are revalidated.
	if res := get(t, h, "GET", "/favicon.svg"); res.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("favicon Cache-Control %q", res.Header.Get("Cache-Control"))
	}
}

func TestGzip(t *testing.T) {
	h := mounted(build)
	res := get(t, h, "GET", "/assets/index-abc123.js", "Accept-Encoding", "gzip, br")
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q", res.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(zr)
	if string(b) != string(build["assets/index-abc123.js"].Data) {
		t.Error("gzip body differs from the file")
	}
	if !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
		t.Error("no Vary: Accept-Encoding")
	}
}

func TestDoesNotShadowAPI(t *testing.T) {
	h := mounted(build)
	res := get(t, h, "GET", "/healthz")
	if res.StatusCode != 200 || !strings.Contains(body(t, res), `"ok"`) {
		t.Errorf("/healthz: status %d", res.StatusCode)
	}
	for _, p := range []string{"/api/v1/nope", "/api/v2/projects", "/api", "/api/"} {
		res := get(t, h, "GET", p)
		if res.StatusCode != 404 {
			t.Errorf("GET %s: status %d, want 404", p, res.StatusCode)
		}
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		if err := json.NewDecoder(res.Body).Decode(&e); err != nil || e.Error.Code != "not_found" {
			t.Errorf("GET %s: want the API's JSON not_found, got %v %+v", p, err, e)
		}
	}
	if res := get(t, h, "GET", "/api/v1/openapi.json"); res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Type"), "json") {
		t.Errorf("openapi.json: status %d", res.StatusCode)
	}
	// Non-GET methods outside the API are not the dashboard's.
	if res := get(t, h, "POST", "/p/default/production/flags"); res.StatusCode == 200 {
		t.Errorf("POST on a page: status %d", res.StatusCode)
	}
}

func TestMissingFiles(t *testing.T) {
	h := mounted(build)
	for _, p := range []string{"/assets/gone-123.js", "/robots.txt", "/.gitkeep"} {
		if res := get(t, h, "GET", p); res.StatusCode != 404 {
			t.Errorf("GET %s: status %d, want 404", p, res.StatusCode)
		}
	}
}

func TestHead(t *testing.T) {
	h := mounted(build)
	res := get(t, h, "HEAD", "/p/default/production/flags")
	if res.StatusCode != 200 || body(t, res) != "" {
		t.Errorf("HEAD: status %d", res.StatusCode)
	}
}

func TestNotBuilt(t *testing.T) {
	h := mounted(fstest.MapFS{".gitkeep": {}})
	for _, p := range []string{"/", "/p/default/production/flags"} {
		res := get(t, h, "GET", p)
		b := body(t, res)
		if res.StatusCode != 200 || !strings.Contains(b, "not built") || !strings.Contains(b, "make ui") {
			t.Errorf("GET %s: status %d body %q", p, res.StatusCode, b)
		}
		if res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Cache-Control %q, want no-store", p, res.Header.Get("Cache-Control"))
		}
	}
	if res := get(t, h, "GET", "/healthz"); res.StatusCode != 200 {
		t.Errorf("/healthz: %d", res.StatusCode)
	}
}

// TestEmbedded checks the real embedded build, whichever it is.
func TestEmbedded(t *testing.T) {
	r := chi.NewRouter()
	ui.Mount(r)
	res := get(t, r, "GET", "/p/default/production/flags")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, Content-Type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	b := body(t, res)
	if ui.Built() {
		if !strings.Contains(b, `<div id="root">`) {
			t.Error("built, but index.html has no root element")
		}
	} else if !strings.Contains(b, "make ui") {
		t.Error("not built, but the page does not say how to build")
	}
}
