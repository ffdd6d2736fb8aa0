package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/waypost/waypost/api"
	"github.com/waypost/waypost/internal/metrics/metricstest"
)

// The manager answers /metrics with Prometheus text (not the dashboard),
// behind WAYPOST_METRICS_TOKEN when one is set.
func TestManagerMetrics(t *testing.T) {
	t.Parallel()
	srv := api.New(nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h := mountMetrics(srv, "s3cret-token")
	mountDashboard(srv)
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)

	for _, auth := range []string{"", "Bearer wrong", "s3cret-token"} {
		req, _ := http.NewRequest("GET", hs.URL+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != 401 {
			t.Fatalf("Authorization %q: status %d, want 401", auth, res.StatusCode)
		}
	}
	if res, err := http.Get(hs.URL + "/healthz"); err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	text := metricstest.Scrape(t, hs.URL+"/metrics", "Authorization", "Bearer s3cret-token")
	if strings.Contains(text, "<html") || !strings.Contains(text, `role="manager"`) {
		t.Fatalf("not the manager's metrics:\n%.300s", text)
	}
	if !strings.Contains(text, `waypost_manager_http_request_duration_seconds_count{code="2xx",method="GET",route="/healthz"} 1`) {
		t.Fatalf("the healthz request is not timed:\n%s", text)
	}
	metricstest.Promtool(t, text)
	fam := metricstest.Families(text)
	for _, name := range []string{"waypost_build_info", "process_cpu_seconds_total", "go_goroutines", "waypost_manager_http_request_duration_seconds"} {
		if fam[name] == "" {
			t.Errorf("%s missing", name)
		}
	}
}
