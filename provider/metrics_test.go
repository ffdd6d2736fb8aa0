package provider_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/metrics/metricstest"
)

// The provider's /metrics passes promtool and carries the series
// operators build dashboards on: build info, process and Go collectors,
// request and broadcast duration histograms.
func TestProviderMetricsPassPromtool(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	h.createFlag("quote")
	client, _ := h.sdkKey("client")
	prov := h.startProvider("")
	status, _, _, _ := ofrepPost(t, prov.url+"/ofrep/v1/evaluate/flags/quote", client, `{"context":{"targetingKey":"u"}}`)
	require.Equal(t, 200, status)
	es, _ := openStream(t, prov.url+"/ofrep/v1/events?sdk_key="+client, "", "")
	h.toggle("quote", true)
	es.waitRevision(t, h.revision())

	text := metricstest.Scrape(t, prov.url+"/metrics")
	metricstest.Promtool(t, text)
	fam := metricstest.Families(text)
	for name, typ := range map[string]string{
		"waypost_build_info": "gauge", "process_cpu_seconds_total": "counter", "go_goroutines": "gauge",
		"waypost_provider_http_request_duration_seconds": "histogram", "waypost_provider_broadcast_duration_seconds": "histogram",
		"waypost_provider_streams": "gauge", "waypost_provider_events_sent_total": "counter", "waypost_provider_revision": "gauge",
	} {
		require.Equal(t, typ, fam[name], name)
	}
	require.Contains(t, text, `waypost_build_info{goversion=`)
	require.Contains(t, text, `role="provider"`)
	require.Contains(t, text, `waypost_provider_http_request_duration_seconds_count{code="2xx",method="POST",route="/ofrep/v1/evaluate/flags/{key}"} 1`)
	require.NotContains(t, text, `route="/ofrep/v1/events"`, "streams are not timed")
	require.Positive(t, metricValue(t, prov.url, `waypost_provider_events_sent_total{kind="refetch"}`))
	require.Positive(t, metricValue(t, prov.url, "waypost_provider_broadcast_duration_seconds_count"))
}
