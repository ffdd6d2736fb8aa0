package api

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/waypost/waypost/internal/auth"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/store"
)

// level is who may call a route.
type level int

const (
	public   level = iota // anyone, no credentials
	signedIn              // any valid credential
	personal              // a user (session or personal token), not a service token
	owner                 // an instance owner
	viewer                // a role of at least viewer in the route's {project}
	editor                // at least editor
	admin                 // project admin
)

// rule is a route's access rule. protect: in a protected {environment}
// the route needs admin.
type rule struct {
	level   level
	protect bool
}

// routeRules holds the access rule of every /api route, keyed by method
// and chi pattern. A route without a rule answers 500 (and fails
// TestEveryRouteHasAnAccessRule): a new route must say who may call it.
var routeRules = map[string]rule{
	"GET /api/v1/openapi.json": {level: public},
	"GET /api/v1/projects":     {level: signedIn}, // lists only the caller's projects
	"POST /api/v1/projects":    {level: owner},

	"GET /api/v1/projects/{project}":                                                             {level: viewer},
	"PATCH /api/v1/projects/{project}":                                                           {level: admin},
	"GET /api/v1/projects/{project}/environments":                                                {level: viewer},
	"POST /api/v1/projects/{project}/environments":                                               {level: admin},
	"PATCH /api/v1/projects/{project}/environments/{environment}":                                {level: admin},
	"GET /api/v1/projects/{project}/environments/{environment}/sdk-keys":                         {level: viewer},
	"POST /api/v1/projects/{project}/environments/{environment}/sdk-keys":                        {level: admin},
	"DELETE /api/v1/projects/{project}/environments/{environment}/sdk-keys/{id}":                 {level: admin},
	"GET /api/v1/projects/{project}/flags":                                                       {level: viewer},
	"POST /api/v1/projects/{project}/flags":                                                      {level: editor},
	"GET /api/v1/projects/{project}/flags/{flag}":                                                {level: viewer},
	"PATCH /api/v1/projects/{project}/flags/{flag}":                                              {level: editor},
	"POST /api/v1/projects/{project}/flags/{flag}/archive":                                       {level: editor},
	"POST /api/v1/projects/{project}/flags/{flag}/restore":                                       {level: editor},
	"PATCH /api/v1/projects/{project}/flags/{flag}/environments/{environment}":                   {level: editor, protect: true},
	"GET /api/v1/projects/{project}/flags/{flag}/environments/{environment}/assignments":         {level: viewer},
	"POST /api/v1/projects/{project}/flags/{flag}/environments/{environment}/assignments":        {level: editor, protect: true},
	"POST /api/v1/projects/{project}/flags/{flag}/environments/{environment}/assignments/remove": {level: editor, protect: true},
	"GET /api/v1/projects/{project}/events":                                                      {level: viewer},
	"GET /api/v1/projects/{project}/connections":                                                 {level: viewer},
	"POST /api/v1/projects/{project}/connections":                                                {level: admin},
	"GET /api/v1/projects/{project}/connections/{connection}":                                    {level: viewer},
	"PUT /api/v1/projects/{project}/connections/{connection}":                                    {level: admin},
	"DELETE /api/v1/projects/{project}/connections/{connection}":                                 {level: admin},
	"POST /api/v1/projects/{project}/connections/{connection}/test":                              {level: admin},
	"GET /api/v1/projects/{project}/metrics":                                                     {level: viewer},
	"POST /api/v1/projects/{project}/metrics":                                                    {level: editor},
	"POST /api/v1/projects/{project}/metrics/test":                                               {level: editor},
	"GET /api/v1/projects/{project}/metrics/{metric}":                                            {level: viewer},
	"PUT /api/v1/projects/{project}/metrics/{metric}":                                            {level: editor},
	"DELETE /api/v1/projects/{project}/metrics/{metric}":                                         {level: editor},
	"GET /api/v1/projects/{project}/experiments":                                                 {level: viewer},
	"POST /api/v1/projects/{project}/experiments":                                                {level: editor},
	"GET /api/v1/projects/{project}/experiments/{experiment}":                                    {level: viewer},
	"PUT /api/v1/projects/{project}/experiments/{experiment}":                                    {level: editor},
	"DELETE /api/v1/projects/{project}/experiments/{experiment}":                                 {level: editor},
	"POST /api/v1/projects/{project}/experiments/{experiment}/start":                             {level: editor},
	"POST /api/v1/projects/{project}/experiments/{experiment}/stop":                              {level: editor},
	"POST /api/v1/projects/{project}/experiments/{experiment}/refresh":                           {level: editor},
	"GET /api/v1/projects/{project}/experiments/{experiment}/results":                            {level: viewer},
	"POST /api/v1/projects/{project}/experiments/{experiment}/exposures/refresh":                 {level: editor},
	"GET /api/v1/projects/{project}/experiments/{experiment}/exposures":                          {level: viewer},
	"GET /api/v1/projects/{project}/experiments/{experiment}/analysis-settings":                  {level: viewer},
	"PUT /api/v1/projects/{project}/experiments/{experiment}/analysis-settings":                  {level: editor},
	"GET /api/v1/projects/{project}/experiments/{experiment}/results/over-time":                  {level: viewer},
	"POST /api/v1/projects/{project}/experiments/{experiment}/phases":                            {level: editor},
	"GET /api/v1/projects/{project}/experiments/{experiment}/refreshes/{job}":                    {level: viewer},
	"POST /api/v1/projects/{project}/power":                                                      {level: viewer}, // a calculation; changes nothing

	// Safe rollouts (issue 14).
	"GET /api/v1/projects/{project}/safe-rollouts":                     {level: viewer},
	"POST /api/v1/projects/{project}/safe-rollouts":                    {level: editor},
	"GET /api/v1/projects/{project}/safe-rollouts/{rollout}":           {level: viewer},
	"POST /api/v1/projects/{project}/safe-rollouts/{rollout}/start":    {level: editor},
	"POST /api/v1/projects/{project}/safe-rollouts/{rollout}/pause":    {level: editor},
	"POST /api/v1/projects/{project}/safe-rollouts/{rollout}/resume":   {level: editor},
	"POST /api/v1/projects/{project}/safe-rollouts/{rollout}/advance":  {level: editor},
	"POST /api/v1/projects/{project}/safe-rollouts/{rollout}/rollback": {level: editor},
	"GET /api/v1/projects/{project}/notification-webhooks":             {level: admin},
	"POST /api/v1/projects/{project}/notification-webhooks":            {level: admin},
	"DELETE /api/v1/projects/{project}/notification-webhooks/{id}":     {level: admin},
	"PATCH /api/v1/projects/{project}/safe-rollouts/{rollout}":         {level: editor},
	"PATCH /api/v1/projects/{project}/notification-webhooks/{id}":      {level: admin},
	"POST /api/v1/projects/{project}/notification-webhooks/{id}/test":  {level: admin},

	// Accounts (accounts.go).
	"GET /api/v1/setup":                                                    {level: public},
	"POST /api/v1/setup":                                                   {level: public}, // needs the one-time setup token
	"POST /api/v1/auth/login":                                              {level: public},
	"GET /api/v1/auth/oidc/login":                                          {level: public},
	"GET /api/v1/auth/oidc/callback":                                       {level: public},
	"GET /api/v1/auth/me":                                                  {level: signedIn},
	"POST /api/v1/auth/logout":                                             {level: signedIn},
	"POST /api/v1/auth/logout-everywhere":                                  {level: personal},
	"POST /api/v1/auth/password":                                           {level: personal},
	"GET /api/v1/auth/tokens":                                              {level: personal},
	"POST /api/v1/auth/tokens":                                             {level: personal},
	"DELETE /api/v1/auth/tokens/{id}":                                      {level: personal},
	"GET /api/v1/users":                                                    {level: owner},
	"POST /api/v1/users":                                                   {level: owner},
	"PATCH /api/v1/users/{id}":                                             {level: owner},
	"GET /api/v1/security-events":                                          {level: owner},
	"GET /api/v1/projects/{project}/members":                               {level: viewer},
	"PUT /api/v1/projects/{project}/members":                               {level: admin},
	"DELETE /api/v1/projects/{project}/members/{id}":                       {level: admin},
	"GET /api/v1/projects/{project}/tokens":                                {level: admin},
	"POST /api/v1/projects/{project}/tokens":                               {level: admin},
	"DELETE /api/v1/projects/{project}/tokens/{id}":                        {level: admin},
	"PUT /api/v1/projects/{project}/environments/{environment}/protection": {level: admin},

	// Targeting (targeting.go): reads viewer, writes editor, like flags;
	// changes to what an environment serves need admin when it is protected.
	"GET /api/v1/projects/{project}/flags/{flag}/environments/{environment}/targeting": {level: viewer},
	"PUT /api/v1/projects/{project}/flags/{flag}/environments/{environment}/targeting": {level: editor, protect: true},
	"GET /api/v1/projects/{project}/environments/{environment}/segments":               {level: viewer},
	"POST /api/v1/projects/{project}/environments/{environment}/segments":              {level: editor, protect: true},
	"GET /api/v1/projects/{project}/environments/{environment}/segments/{segment}":     {level: viewer},
	"PUT /api/v1/projects/{project}/environments/{environment}/segments/{segment}":     {level: editor, protect: true},
	"DELETE /api/v1/projects/{project}/environments/{environment}/segments/{segment}":  {level: editor, protect: true},
	"POST /api/v1/projects/{project}/environments/{environment}/evaluate":              {level: viewer}, // evaluates; changes nothing
	"GET /api/v1/projects/{project}/environments/{environment}/attributes":             {level: viewer},
}

const sessionCookie = "waypost_session"

// access authenticates every /api request (a bearer token or the session
// cookie), checks CSRF on cookie-authenticated changes, and enforces the
// route's rule. Other paths (/healthz, /readyz, /metrics, the dashboard)
// are not API routes and pass; their handlers decide.
func (s *Server) access(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.RawPath
		if path == "" {
			path = r.URL.Path
		}
		if !strings.HasPrefix(path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		rctx := chi.NewRouteContext()
		pattern := s.mux.Find(rctx, r.Method, path)
		if pattern == "" || !strings.HasPrefix(pattern, "/api/") {
			next.ServeHTTP(w, r) // not found or method not allowed: the router answers
			return
		}
		ru, ok := routeRules[ruleKey(r.Method, pattern)]
		if !ok {
			s.log.ErrorContext(r.Context(), "route has no access rule", "method", r.Method, "pattern", pattern)
			writeJSON(w, http.StatusInternalServerError, errorBody{Error: errorDetail{Code: "internal", Message: "this route has no access rule"}})
			return
		}
		ctx := store.WithClientAddr(r.Context(), clientAddr(r))
		r = r.WithContext(ctx)
		p, err := s.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="waypost"`)
			s.writeError(w, r, err)
			return
		}
		if ru.level == public {
			if p != nil {
				r = r.WithContext(auth.WithPrincipal(store.WithActor(r.Context(), p.Actor()), p))
			}
			next.ServeHTTP(w, r)
			return
		}
		if p == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="waypost"`)
			s.writeError(w, r, errs.Unauthenticated("sign in, or send Authorization: Bearer wpt_..."))
			return
		}
		if err := s.authorize(r, p, ru, rctx); err != nil {
			s.writeError(w, r, err)
			return
		}
		ctx = auth.WithPrincipal(store.WithActor(r.Context(), p.Actor()), p)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// ruleKey is the routeRules key of a route: method and pattern, without
// the trailing slash of a subrouter's root ("/projects/{project}/").
func ruleKey(method, pattern string) string {
	return method + " " + strings.TrimSuffix(strings.ReplaceAll(pattern, "/*/", "/"), "/")
}

// authenticate returns the request's principal (nil: no credentials) or
// an error for credentials that are present but not good.
func (s *Server) authenticate(r *http.Request) (*auth.Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return nil, errs.Unauthenticated("Authorization must be Bearer wpt_...")
		}
		return s.store.TokenPrincipal(r.Context(), strings.TrimSpace(tok))
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, nil
	}
	p, err := s.store.SessionPrincipal(r.Context(), c.Value, s.auth.Sessions)
	if err != nil {
		return nil, err
	}
	if !safeMethod(r.Method) {
		if err := checkCSRF(r, p.CSRFToken); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// checkCSRF refuses a cookie-authenticated change that comes from another
// site (Sec-Fetch-Site, Origin) or lacks the session's X-CSRF-Token.
func checkCSRF(r *http.Request, want string) error {
	if err := checkSameOrigin(r); err != nil {
		return err
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return errs.Forbidden("missing or wrong X-CSRF-Token header (GET /api/v1/auth/me gives it)")
	}
	return nil
}

// checkSameOrigin refuses a browser request sent by another site.
func checkSameOrigin(r *http.Request) error {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return errs.Forbidden("cross-site request refused")
	}
	if o := r.Header.Get("Origin"); o != "" {
		host := strings.TrimPrefix(strings.TrimPrefix(o, "https://"), "http://")
		if host == o || host != r.Host {
			return errs.Forbidden("cross-site request refused (Origin %s)", o)
		}
	}
	return nil
}

// authorize checks p against the route's rule.
func (s *Server) authorize(r *http.Request, p *auth.Principal, ru rule, rctx *chi.Context) error {
	if p.ReadOnly && !safeMethod(r.Method) && ru.level != signedIn {
		return errs.Forbidden("this token is read-only")
	}
	switch ru.level {
	case signedIn:
		return nil
	case personal:
		if p.Service() {
			return errs.Forbidden("service tokens cannot do this; use a personal token")
		}
		return nil
	case owner:
		if !p.Owner {
			return errs.Forbidden("only an instance owner can do this")
		}
		return nil
	}
	projectKey := rctx.URLParam("project")
	role, err := s.store.ProjectRole(r.Context(), p, projectKey)
	if err != nil {
		return err
	}
	if role == auth.RoleNone {
		return errs.Forbidden("you have no role in project %q", projectKey)
	}
	need := map[level]auth.Role{viewer: auth.RoleViewer, editor: auth.RoleEditor, admin: auth.RoleAdmin}[ru.level]
	if ru.protect && need != auth.RoleAdmin {
		prot, err := s.store.EnvironmentProtected(r.Context(), projectKey, rctx.URLParam("environment"))
		if err != nil {
			return err
		}
		if prot {
			need = auth.RoleAdmin
			if role.Rank() < need.Rank() {
				return errs.Forbidden("environment %q is protected: only project admins change flags there", rctx.URLParam("environment"))
			}
		}
	}
	if role.Rank() < need.Rank() {
		return errs.Forbidden("needs the %s role in project %q (you have %s)", need, projectKey, role)
	}
	return nil
}

// clientAddr is the request's client address (the peer; a reverse proxy
// in front of the manager is seen as the client).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
