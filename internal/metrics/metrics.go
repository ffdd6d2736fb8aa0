// Package metrics builds each role's Prometheus registry (process and Go
// collectors, waypost_build_info), serves it, and times HTTP requests by
// route. Roles add their own collectors to the registry it returns.
package metrics

import (
	"context"
	"crypto/subtle"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry with the process and Go runtime
// collectors and waypost_build_info for role ("manager", "worker",
// "provider").
func NewRegistry(role, version string) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
	)
	revision := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "waypost_build_info",
		Help:        "Always 1; the labels say which build of Waypost runs in which role.",
		ConstLabels: prometheus.Labels{"role": role, "version": version, "revision": revision, "goversion": runtime.Version()},
	})
	info.Set(1)
	reg.MustRegister(info)
	return reg
}

// Handler serves reg in the Prometheus text format. With a non-empty
// token the request must carry "Authorization: Bearer <token>" (401
// otherwise), so /metrics need not be public.
func Handler(reg *prometheus.Registry, token string) http.Handler {
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need Authorization: Bearer <WAYPOST_METRICS_TOKEN>", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// HTTP times the requests a chi router serves, by route pattern (never
// the raw path, so the series stay few), method and status class.
type HTTP struct {
	duration *prometheus.HistogramVec
	skip     map[string]bool
	ctxPool  sync.Pool
}

// NewHTTP registers waypost_<role>_http_request_duration_seconds on reg.
// Routes in skip (long-lived streams) are not timed.
func NewHTTP(reg prometheus.Registerer, role string, skip ...string) *HTTP {
	m := &HTTP{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "waypost_" + role + "_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by chi route pattern, method and status class (2xx, 4xx...). Streams are not timed.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "code"}),
		skip: map[string]bool{},
	}
	for _, s := range skip {
		m.skip[s] = true
	}
	m.ctxPool.New = func() any { return chi.NewRouteContext() }
	reg.MustRegister(m.duration)
	return m
}

// Wrap instruments next, which must be (or route through) a chi router:
// the route context is created here so that the matched pattern is
// readable once next returns.
func (m *HTTP) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rctx := m.ctxPool.Get().(*chi.Context)
		rctx.Reset()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, rctx)))
		route := rctx.RoutePattern()
		m.ctxPool.Put(rctx)
		if rec.hijacked || m.skip[route] {
			return
		}
		if route == "" {
			route = "other"
		}
		m.duration.WithLabelValues(route, r.Method, statusClass(rec.status)).Observe(time.Since(start).Seconds())
	})
}

func statusClass(code int) string {
	if code == 0 {
		code = http.StatusOK
	}
	return strconv.Itoa(code/100) + "xx"
}

// statusRecorder remembers the status; Unwrap lets http.ResponseController
// reach the connection (flushes, hijacking for SSE).
type statusRecorder struct {
	http.ResponseWriter
	status   int
	hijacked bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter {
	s.hijacked = true // conservatively: whoever unwraps may hijack or stream
	return s.ResponseWriter
}

// Flush keeps http.Flusher working for handlers that assert it.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Lint returns the problems promtool-style checks find in reg's output
// (metric names, HELP on every family, counters ending in _total), for
// tests; CI also runs the real promtool.
func Lint(reg prometheus.Gatherer) []string {
	families, err := reg.Gather()
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	for _, f := range families {
		name := f.GetName()
		if strings.TrimSpace(f.GetHelp()) == "" {
			problems = append(problems, name+": no HELP")
		}
		if f.GetType().String() == "COUNTER" && !strings.HasSuffix(name, "_total") {
			problems = append(problems, name+": counter not ending in _total")
		}
	}
	return problems
}
