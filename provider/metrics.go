package provider

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the provider's own series, served at /metrics with the
// process and Go collectors (internal/metrics). Counters on the hot paths
// are plain atomics read at scrape time by a collector, so an evaluation
// or a broadcast never takes a lock for them.
type metrics struct {
	streams       atomic.Int64
	closedLagging atomic.Int64
	authFailed    atomic.Int64
	reloadFailed  atomic.Int64
	ofrep         atomic.Int64

	// Events written to streams, by kind (sentKind).
	sent               [sentKinds]atomic.Int64
	lastBroadcastNanos atomic.Int64
	broadcast          prometheus.Histogram
	// stages times each change's way from its commit to the last stream.
	stages *prometheus.HistogramVec

	mu       sync.Mutex
	reloads  map[string]int64 // by cause
	webhooks map[string]int64 // by result
}

func newMetrics() *metrics {
	return &metrics{
		reloads: map[string]int64{}, webhooks: map[string]int64{},
		broadcast: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "waypost_provider_broadcast_duration_seconds",
			Help:    "Time from applying a revision to having handed it to the socket of every stream of its environment.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "waypost_provider_change_stage_seconds",
			Help: "A change's way to the streams, by stage: commit_to_heard (revision made to NOTIFY or webhook received), " +
				"heard_to_applied (database read, compile, encode, install), applied_to_first_byte and applied_to_last_byte " +
				"(first and last stream with all of the event's bytes in its socket), commit_to_last_byte (all of it); " +
				"via is how the provider heard of it (notify, webhook, periodic, reconnect).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .15, .25, .5, 1, 2.5, 5, 10},
		}, []string{"stage", "via"}),
	}
}

// count adds a batch of flushes to the events-sent counters.
func (m *metrics) count(c *sentCounts) {
	for k := sentPut; k < sentKinds; k++ {
		if c[k] != 0 {
			m.sent[k].Add(c[k])
		}
	}
}

func (m *metrics) reload(cause string) { m.inc(m.reloads, cause) }
func (m *metrics) webhook(res string)  { m.inc(m.webhooks, res) }

func (m *metrics) inc(series map[string]int64, label string) {
	m.mu.Lock()
	series[label]++
	m.mu.Unlock()
}

// collector turns the provider's atomics and state into Prometheus
// series at scrape time.
type collector struct{ p *Provider }

var (
	descStreams       = prometheus.NewDesc("waypost_provider_streams", "Open SSE streams (full-definition and OFREP change streams).", nil, nil)
	descReady         = prometheus.NewDesc("waypost_provider_ready", "1 when flag state is loaded and the provider is not shutting down.", nil, nil)
	descClosedLagging = prometheus.NewDesc("waypost_provider_streams_closed_lagging_total", "Streams closed because their client stopped reading (write timeout).", nil, nil)
	descAuthFailed    = prometheus.NewDesc("waypost_provider_auth_failures_total", "Requests refused for a missing, unknown or revoked SDK key.", nil, nil)
	descReloadFailed  = prometheus.NewDesc("waypost_provider_reload_failures_total", "Flag sets that failed validation and were not applied.", nil, nil)
	descOFREP         = prometheus.NewDesc("waypost_provider_ofrep_evaluations_total", "OFREP evaluation requests answered (single and bulk).", nil, nil)
	descLastApply     = prometheus.NewDesc("waypost_provider_last_apply_unixnano", "When the newest revision was applied, in Unix nanoseconds (for latency measurements).", nil, nil)
	descLastBroadcast = prometheus.NewDesc("waypost_provider_last_broadcast_seconds", "Time the last change took to be handed to every stream's socket.", nil, nil)
	descReloads       = prometheus.NewDesc("waypost_provider_reloads_total", "Revisions applied, by how they arrived (initial, notify, webhook, check, reconnect...).", []string{"cause"}, nil)
	descWebhooks      = prometheus.NewDesc("waypost_provider_webhooks_total", "Webhooks received from workers, by result.", []string{"result"}, nil)
	descEventsSent    = prometheus.NewDesc("waypost_provider_events_sent_total", "Events written to streams, by kind (put, patch, ping, refetch).", []string{"kind"}, nil)
	descRevision      = prometheus.NewDesc("waypost_provider_revision", "Revision of the flag set held, per project and environment.", []string{"project", "environment"}, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStreams, descReady, descClosedLagging, descAuthFailed, descReloadFailed, descOFREP,
		descLastApply, descLastBroadcast, descReloads, descWebhooks, descEventsSent, descRevision} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	p, m := c.p, c.p.metrics
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(descStreams, float64(m.streams.Load()))
	ready := 0.0
	if p.Ready() {
		ready = 1
	}
	gauge(descReady, ready)
	counter(descClosedLagging, m.closedLagging.Load())
	counter(descAuthFailed, m.authFailed.Load())
	counter(descReloadFailed, m.reloadFailed.Load())
	counter(descOFREP, m.ofrep.Load())
	gauge(descLastApply, float64(p.lastApply.Load()))
	gauge(descLastBroadcast, float64(m.lastBroadcastNanos.Load())/1e9)
	m.mu.Lock()
	for _, series := range []struct {
		d *prometheus.Desc
		m map[string]int64
	}{{descReloads, m.reloads}, {descWebhooks, m.webhooks}} {
		keys := make([]string, 0, len(series.m))
		for k := range series.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			counter(series.d, series.m[k], k)
		}
	}
	m.mu.Unlock()
	counter(descEventsSent, m.sent[sentPut].Load(), "put")
	counter(descEventsSent, m.sent[sentPatch].Load(), "patch")
	counter(descEventsSent, m.sent[sentPing].Load(), "ping")
	counter(descEventsSent, m.sent[sentRefetch].Load(), "refetch")
	for _, st := range p.world.Load().envs {
		gauge(descRevision, float64(st.revision), st.project, st.key)
	}
}
