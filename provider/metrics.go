package provider

import (
	"fmt"
	"net/http"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
)

// metrics are exposed in the Prometheus text format at /metrics. They are
// plain atomics: the provider needs a dozen series, not a client library.
type metrics struct {
	streams       atomic.Int64
	closedLagging atomic.Int64
	authFailed    atomic.Int64
	reloadFailed  atomic.Int64
	ofrep         atomic.Int64

	// Events written to streams, by kind: on the broadcast hot path, so
	// plain atomics rather than a locked map.
	sentPut, sentPatch, sentPing, sentRefetch atomic.Int64
	lastBroadcastNanos                        atomic.Int64

	mu       sync.Mutex
	reloads  map[string]int64 // by cause
	webhooks map[string]int64 // by result
}

func newMetrics() *metrics {
	return &metrics{reloads: map[string]int64{}, webhooks: map[string]int64{}}
}

func (m *metrics) reload(cause string) { m.inc(m.reloads, cause) }
func (m *metrics) webhook(res string)  { m.inc(m.webhooks, res) }

func (m *metrics) inc(series map[string]int64, label string) {
	m.mu.Lock()
	series[label]++
	m.mu.Unlock()
}

func (m *metrics) count(series map[string]int64, label string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return series[label]
}

func (p *Provider) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	m := p.metrics
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# HELP waypost_provider_streams Open SSE streams.\n# TYPE waypost_provider_streams gauge\nwaypost_provider_streams %d\n", m.streams.Load())
	fmt.Fprintf(w, "# HELP waypost_provider_ready 1 when flag state is loaded.\n# TYPE waypost_provider_ready gauge\nwaypost_provider_ready %d\n", b2i(p.Ready()))
	fmt.Fprintf(w, "# TYPE waypost_provider_streams_closed_lagging_total counter\nwaypost_provider_streams_closed_lagging_total %d\n", m.closedLagging.Load())
	fmt.Fprintf(w, "# TYPE waypost_provider_auth_failures_total counter\nwaypost_provider_auth_failures_total %d\n", m.authFailed.Load())
	fmt.Fprintf(w, "# TYPE waypost_provider_reload_failures_total counter\nwaypost_provider_reload_failures_total %d\n", m.reloadFailed.Load())
	fmt.Fprintf(w, "# TYPE waypost_provider_ofrep_evaluations_total counter\nwaypost_provider_ofrep_evaluations_total %d\n", m.ofrep.Load())
	fmt.Fprintf(w, "# HELP waypost_provider_last_apply_unixnano When the newest revision was applied (for latency measurements).\n# TYPE waypost_provider_last_apply_unixnano gauge\nwaypost_provider_last_apply_unixnano %d\n", p.lastApply.Load())
	fmt.Fprintf(w, "# HELP waypost_provider_last_broadcast_seconds Time the last change took to be handed to every stream's socket.\n# TYPE waypost_provider_last_broadcast_seconds gauge\nwaypost_provider_last_broadcast_seconds %g\n", float64(m.lastBroadcastNanos.Load())/1e9)
	m.mu.Lock()
	writeSeries(w, "waypost_provider_reloads_total", "cause", m.reloads)
	writeSeries(w, "waypost_provider_webhooks_total", "result", m.webhooks)
	m.mu.Unlock()
	writeSeries(w, "waypost_provider_events_sent_total", "kind", map[string]int64{
		"put": m.sentPut.Load(), "patch": m.sentPatch.Load(), "ping": m.sentPing.Load(), "refetch": m.sentRefetch.Load()})
	fmt.Fprintf(w, "# TYPE waypost_provider_revision gauge\n")
	for _, st := range p.world.Load().envs {
		fmt.Fprintf(w, "waypost_provider_revision{project=%q,environment=%q} %d\n", st.project, st.key, st.revision)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(w, "# TYPE go_memstats_heap_inuse_bytes gauge\ngo_memstats_heap_inuse_bytes %d\n", ms.HeapInuse)
	fmt.Fprintf(w, "# TYPE go_memstats_stack_inuse_bytes gauge\ngo_memstats_stack_inuse_bytes %d\n", ms.StackInuse)
	fmt.Fprintf(w, "# TYPE go_goroutines gauge\ngo_goroutines %d\n", runtime.NumGoroutine())
}

func writeSeries(w http.ResponseWriter, name, label string, series map[string]int64) {
	fmt.Fprintf(w, "# TYPE %s counter\n", name)
	keys := make([]string, 0, len(series))
	for k := range series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s{%s=%q} %d\n", name, label, k, series[k])
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
