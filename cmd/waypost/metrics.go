package main

import (
	"net/http"

	"github.com/waypost/waypost/api"
	wpmetrics "github.com/waypost/waypost/internal/metrics"
)

// mountMetrics serves the manager's Prometheus metrics at /metrics (outside
// /api, so API authentication does not apply; WAYPOST_METRICS_TOKEN, when
// set, is required as a bearer token instead) and returns the manager's
// handler timed by route.
func mountMetrics(srv *api.Server, token string) http.Handler {
	reg := wpmetrics.NewRegistry("manager", version)
	timing := wpmetrics.NewHTTP(reg, "manager")
	srv.Router().Method(http.MethodGet, "/metrics", wpmetrics.Handler(reg, token))
	return timing.Wrap(srv)
}
