// Package api is Waypost's management REST API (JSON under /api/v1), served
// by `waypost manager`. Handlers decode and validate requests, call the
// store, and answer; errors are typed (package errs) and mapped to HTTP
// statuses in one place (respond.go). The OpenAPI description of every
// route is served at /api/v1/openapi.json.
package api

import (
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/waypost/waypost/internal/store"
)

// Server is the management API.
type Server struct {
	store  *store.Store
	log    *slog.Logger
	router chi.Router
	mux    *chi.Mux // the same router, for finding a request's route pattern (access.go)
	jobs   Jobs
	auth   authState
}

// New builds the API on st. Extra route groups (the dashboard, later
// features) can be mounted on Router().
func New(st *store.Store, log *slog.Logger) *Server {
	s := &Server{store: st, log: log}
	s.auth.byAddr = newThrottle(loginAddrEvery, loginAddrBurst)
	s.auth.byAccount = newThrottle(loginAccountEvery, loginAccountBurst)
	s.SetAuth(AuthOptions{})
	r := chi.NewRouter()
	s.mux = r
	r.Use(middleware.RequestID, s.recoverer, s.access)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Route("/api/v1", func(r chi.Router) {
		r.Get("/openapi.json", serveOpenAPI)
		s.accountRoutes(r)
		r.Get("/projects", s.listProjects())
		r.Post("/projects", s.createProject())
		r.Route("/projects/{project}", func(r chi.Router) {
			r.Get("/", s.getProject())
			r.Patch("/", s.renameProject())
			r.Get("/environments", s.listEnvironments())
			r.Post("/environments", s.createEnvironment())
			r.Patch("/environments/{environment}", s.renameEnvironment())
			r.Get("/environments/{environment}/sdk-keys", s.listSDKKeys())
			r.Post("/environments/{environment}/sdk-keys", s.createSDKKey())
			r.Delete("/environments/{environment}/sdk-keys/{id}", s.revokeSDKKey())
			r.Get("/flags", s.listFlags())
			r.Post("/flags", s.createFlag())
			r.Get("/flags/{flag}", s.getFlag())
			r.Patch("/flags/{flag}", s.updateFlag())
			r.Post("/flags/{flag}/archive", s.setArchived(true))
			r.Post("/flags/{flag}/restore", s.setArchived(false))
			r.Patch("/flags/{flag}/environments/{environment}", s.updateState())
			r.Get("/flags/{flag}/environments/{environment}/assignments", s.listAssignments())
			r.Post("/flags/{flag}/environments/{environment}/assignments", s.setAssignments())
			r.Post("/flags/{flag}/environments/{environment}/assignments/remove", s.removeAssignments())
			r.Get("/events", s.listEvents())
			r.Get("/connections", s.listConnections())
			r.Post("/connections", s.createConnection())
			r.Get("/connections/{connection}", s.getConnection())
			r.Put("/connections/{connection}", s.updateConnection())
			r.Delete("/connections/{connection}", s.deleteConnection())
			r.Post("/connections/{connection}/test", s.testConnection())
			r.Get("/metrics", s.listMetrics())
			r.Post("/metrics", s.createMetric())
			r.Post("/metrics/test", s.testMetric())
			r.Get("/metrics/{metric}", s.getMetric())
			r.Put("/metrics/{metric}", s.updateMetric())
			r.Delete("/metrics/{metric}", s.deleteMetric())
			r.Get("/experiments", s.listExperiments())
			r.Post("/experiments", s.createExperiment())
			r.Get("/experiments/{experiment}", s.getExperiment())
			r.Put("/experiments/{experiment}", s.updateExperiment())
			r.Delete("/experiments/{experiment}", s.deleteExperiment())
			r.Post("/experiments/{experiment}/start", s.startExperiment())
			r.Post("/experiments/{experiment}/stop", s.stopExperiment())
			r.Post("/experiments/{experiment}/phases", s.newPhase())
			r.Post("/experiments/{experiment}/refresh", s.refreshResults())
			r.Get("/experiments/{experiment}/refreshes/{job}", s.refreshStatus())
			r.Get("/experiments/{experiment}/results", s.experimentResults())
			r.Post("/experiments/{experiment}/exposures/refresh", s.enqueue("exposures"))
			r.Get("/experiments/{experiment}/exposures", s.experimentExposures())
			r.Get("/experiments/{experiment}/analysis-settings", s.getAnalysisSettings())
			r.Put("/experiments/{experiment}/analysis-settings", s.putAnalysisSettings())
			r.Get("/experiments/{experiment}/results/over-time", s.resultsOverTime())
			r.Post("/power", s.powerEstimate())
			s.projectAccountRoutes(r)
		})
	})
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errorBody{Error: errorDetail{Code: "not_found", Message: "no such route"}})
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: errorDetail{Code: "method_not_allowed", Message: r.Method + " is not allowed here"}})
	})
	s.router = r
	return s
}

// Router returns the chi router, to mount more routes.
func (s *Server) Router() chi.Router { return s.router }

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic serving request", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				writeJSON(w, http.StatusInternalServerError, errorBody{Error: errorDetail{Code: "internal", Message: "internal error; the server log has the details"}})
			}
		}()
		next.ServeHTTP(w, r)
	})
}
