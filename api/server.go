// Package api is Waypost's management REST API (JSON under /api/v1), served
// by `waypost manager`. Handlers decode and validate requests, call the
// store, and answer; errors are typed (package errs) and mapped to HTTP
// statuses in one place (respond.go). The OpenAPI description of every
// route is served at /api/v1/openapi.json.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/waypost/waypost/internal/errs"
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
	// dbTimeout bounds each request's work on Waypost's database
	// (DefaultRequestTimeout; see SetRequestTimeout).
	dbTimeout time.Duration
	recent    *recentAttributes // attributes of recently evaluated contexts (targeting.go)
}

// DefaultRequestTimeout bounds a request on Waypost's database: a frozen
// database gives 503 after this long instead of holding the request.
// Requests that run user SQL on an events database are bounded by that
// connection's statement timeout instead.
const DefaultRequestTimeout = 10 * time.Second

// SetRequestTimeout changes the per-request database deadline (before serving).
func (s *Server) SetRequestTimeout(d time.Duration) { s.dbTimeout = d }

// New builds the API on st. Extra route groups (the dashboard, later
// features) can be mounted on Router().
func New(st *store.Store, log *slog.Logger) *Server {
	s := &Server{store: st, log: log, dbTimeout: DefaultRequestTimeout}
	s.auth.byAddr = newThrottle(loginAddrEvery, loginAddrBurst)
	s.auth.byAccount = newThrottle(loginAccountEvery, loginAccountBurst)
	s.SetAuth(AuthOptions{})
	r := chi.NewRouter()
	s.mux = r
	r.Use(middleware.RequestID, s.recoverer, s.deadline, s.access)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", s.readyz)
	r.Route("/api/v1", func(r chi.Router) {
		r.Use(s.requireJSON)
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
			s.targetingRoutes(r)
			s.safeRolloutRoutes(r) // safe rollouts (issue 14)
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

// requireJSON answers 415 to a POST, PUT or PATCH whose Content-Type is
// not application/json, with a body or without: a browser sends such a
// request cross-site only after a CORS preflight, which this API does not
// grant, so a page elsewhere cannot make a logged-in browser change things.
func (s *Server) requireJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			if !isJSON(r.Header.Get("Content-Type")) {
				s.writeError(w, r, &errs.Error{Kind: errs.KindUnsupportedMediaType, Code: "unsupported_media_type",
					Message: "Content-Type must be application/json (also for requests without a body)"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// readyz answers 200 when the database answers within 2 s, else 503 (a
// readiness probe; /healthz is the liveness probe and does not look at the
// database).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.WarnContext(r.Context(), "not ready", "err", err)
		w.Header().Set("Retry-After", retryAfterSeconds)
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: errorDetail{Code: "database_unavailable", Message: "the database is not answering"}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// deadline puts the per-request database deadline on the request's
// context, except on routes that run user SQL on an events database
// (testing a connection or a query, saving a connection or a metric, whose
// SQL is checked there): those are bounded by the connection's own
// connect and statement timeouts.
func (s *Server) deadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.dbTimeout <= 0 || runsUserSQL(r) {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.dbTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func runsUserSQL(r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodDelete {
		return false
	}
	p := r.URL.Path
	return strings.HasSuffix(p, "/test") || strings.Contains(p, "/connections") || strings.Contains(p, "/metrics")
}
