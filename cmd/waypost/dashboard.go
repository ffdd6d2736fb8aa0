package main

import (
	"github.com/waypost/waypost/api"
	"github.com/waypost/waypost/ui"
)

// mountDashboard serves the web dashboard (package ui, the embedded build of
// ui/) on the manager: GET and HEAD of every path that the API does not
// claim. /api/* and /healthz keep their handlers; client-side routes get the
// app's index.html. A binary built without `make ui` serves a page saying
// how to build the dashboard.
func mountDashboard(srv *api.Server) {
	ui.Mount(srv.Router())
}
