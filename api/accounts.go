package api

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/waypost/waypost/internal/auth"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/store"
)

// AuthOptions configure sign-in.
type AuthOptions struct {
	Sessions store.SessionTimeouts
	// SetupToken, when set, lets POST /api/v1/setup create the first owner
	// on a database with no users (printed in the manager log).
	SetupToken string
	// OIDC, when set, enables "Sign in with SSO".
	OIDC *OIDC
}

// DefaultSessions are the session timeouts unless configured.
var DefaultSessions = store.SessionTimeouts{Idle: 12 * time.Hour, Absolute: 7 * 24 * time.Hour}

// login throttles: per client address a burst of 10 then one try every 6
// s; per account a burst of 30 then one every 10 s, counted only for
// tries that passed the address limit, so one attacking address cannot
// keep an account's owner out.
const (
	loginAddrEvery    = 6 * time.Second
	loginAddrBurst    = 10
	loginAccountEvery = 10 * time.Second
	loginAccountBurst = 30
)

type authState struct {
	AuthOptions
	mu        sync.Mutex
	setupUsed bool
	byAddr    *throttle
	byAccount *throttle
}

// SetAuth configures sign-in; call before serving.
func (s *Server) SetAuth(o AuthOptions) {
	if o.Sessions.Idle == 0 {
		o.Sessions = DefaultSessions
	}
	s.auth.AuthOptions = o
}

func (s *Server) accountRoutes(r chi.Router) {
	r.Get("/setup", s.setupStatus())
	r.Post("/setup", s.setup())
	r.Post("/auth/login", s.login())
	r.Get("/auth/oidc/login", s.oidcLogin())
	r.Get("/auth/oidc/callback", s.oidcCallback())
	r.Get("/auth/me", s.me())
	r.Post("/auth/logout", s.logout())
	r.Post("/auth/logout-everywhere", s.logoutEverywhere())
	r.Post("/auth/password", s.changePassword())
	r.Get("/auth/tokens", s.listPersonalTokens())
	r.Post("/auth/tokens", s.createPersonalToken())
	r.Delete("/auth/tokens/{id}", s.revokePersonalToken())
	r.Get("/users", s.listUsers())
	r.Post("/users", s.createUser())
	r.Patch("/users/{id}", s.updateUser())
	r.Get("/security-events", s.listSecurityEvents())
}

func (s *Server) projectAccountRoutes(r chi.Router) {
	r.Get("/members", s.listMembers())
	r.Put("/members", s.setMember())
	r.Delete("/members/{id}", s.removeMember())
	r.Get("/tokens", s.listServiceTokens())
	r.Post("/tokens", s.createServiceToken())
	r.Delete("/tokens/{id}", s.revokeServiceToken())
	r.Put("/environments/{environment}/protection", s.setProtection())
}

// me is the answer of GET /auth/me and of a login.
type me struct {
	User      *model.User          `json:"user"`
	Token     string               `json:"token,omitempty"` // the acting token's name
	Owner     bool                 `json:"owner"`
	Projects  map[string]auth.Role `json:"projects"`
	CSRFToken string               `json:"csrf_token,omitempty"`
	SSO       bool                 `json:"sso"`
}

func (s *Server) describe(r *http.Request, p *auth.Principal) (me, error) {
	roles, err := s.store.ProjectRoles(r.Context(), p)
	if err != nil {
		return me{}, err
	}
	out := me{Token: p.TokenName, Owner: p.Owner, Projects: roles, CSRFToken: p.CSRFToken, SSO: s.auth.OIDC != nil}
	if !p.Service() {
		out.User = &model.User{ID: p.UserID, Email: p.Email, Name: p.Name, Owner: p.Owner}
	}
	return out, nil
}

func (s *Server) me() http.HandlerFunc {
	return s.handle(200, pNone, func(r *http.Request, _ []string) (any, error) {
		return s.describe(r, auth.From(r.Context()))
	})
}

type setupStatus struct {
	Needed bool `json:"needed"`
	SSO    bool `json:"sso"`
}

func (s *Server) setupStatus() http.HandlerFunc {
	return s.handle(200, pNone, func(r *http.Request, _ []string) (any, error) {
		n, err := s.store.CountUsers(r.Context())
		return setupStatus{Needed: n == 0, SSO: s.auth.OIDC != nil}, err
	})
}

type setupRequest struct {
	Token string `json:"token"`
	model.CreateUser
}

// setup creates the first owner with the one-time setup token and signs
// them in.
func (s *Server) setup() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in setupRequest
		if err := decode(w, r, &in); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := checkSameOrigin(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		st := &s.auth
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.SetupToken == "" || st.setupUsed || subtle.ConstantTimeCompare([]byte(in.Token), []byte(st.SetupToken)) != 1 {
			s.writeError(w, r, errs.Forbidden("setup token is wrong or already used; it is printed in the manager log of a database with no users"))
			return
		}
		n, err := s.store.CountUsers(r.Context())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if n > 0 {
			st.setupUsed = true
			s.writeError(w, r, errs.Forbidden("setup is done: this instance has accounts"))
			return
		}
		in.Owner = true
		if in.Password == "" {
			s.writeError(w, r, errs.Invalid("password", "is required"))
			return
		}
		u, err := s.store.CreateUser(store.WithActor(r.Context(), "setup"), in.CreateUser)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		st.setupUsed = true
		s.startSession(w, r, u, "setup")
	}
}

// login checks an email and password and starts a session. Throttled per
// client address and per account; a wrong email and a wrong password get
// the same answer after the same work.
func (s *Server) login() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in model.Login
		if err := decode(w, r, &in); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := checkSameOrigin(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := in.Validate(); err != nil {
			s.writeError(w, r, err)
			return
		}
		addr := clientAddr(r)
		now := time.Now()
		ok, wait := s.auth.byAddr.allow(addr, now)
		if ok {
			ok, wait = s.auth.byAccount.allow(in.Email, now)
		}
		if !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
			s.writeError(w, r, &errs.Error{Kind: errs.KindTooManyRequests, Code: "too_many_requests",
				Message: "too many sign-in attempts; wait and try again"})
			return
		}
		u, err := s.store.CheckPassword(r.Context(), in.Email, in.Password)
		if err != nil {
			if errs.IsKind(err, errs.KindUnauthenticated) {
				if lerr := s.store.LogSecurity(r.Context(), "login_failed", in.Email, in.Email, map[string]any{"method": "password"}); lerr != nil {
					s.log.ErrorContext(r.Context(), "security log", "err", lerr)
				}
			}
			s.writeError(w, r, err)
			return
		}
		s.startSession(w, r, u, "password")
	}
}

// newSession creates a session for u, logs the sign-in and sets the cookie.
func (s *Server) newSession(w http.ResponseWriter, r *http.Request, u model.User, method string) (store.NewSession, error) {
	ns, err := s.store.CreateSession(r.Context(), u.ID, s.auth.Sessions, clientAddr(r), r.UserAgent())
	if err != nil {
		return ns, err
	}
	if err := s.store.LogSecurity(r.Context(), "login", u.Email, u.Email, map[string]any{"method": method}); err != nil {
		return ns, err
	}
	http.SetCookie(w, s.cookie(r, ns.ID, int(s.auth.Sessions.Absolute/time.Second)))
	return ns, nil
}

// startSession signs u in and answers /me.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u model.User, method string) {
	ns, err := s.newSession(w, r, u, method)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := &auth.Principal{UserID: u.ID, Email: u.Email, Name: u.Name, Owner: u.Owner, CSRFToken: ns.CSRF}
	out, err := s.describe(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// cookie is the session cookie: HttpOnly, SameSite=Lax, and Secure unless
// the dashboard is reached over plain HTTP on a loopback address.
func (s *Server) cookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: sessionCookie, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" || !loopbackHost(r.Host), SameSite: http.SameSiteLaxMode}
}

func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func (s *Server) logout() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := auth.From(r.Context())
		if p.SessionHash != nil {
			if err := s.store.DeleteSession(r.Context(), p.SessionHash); err != nil {
				s.writeError(w, r, err)
				return
			}
			if err := s.store.LogSecurity(r.Context(), "logout", p.Actor(), p.Email, nil); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		http.SetCookie(w, s.cookie(r, "", -1))
		w.WriteHeader(http.StatusNoContent)
	}
}

type countBody struct {
	Sessions int64 `json:"sessions_ended"`
}

func (s *Server) logoutEverywhere() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := auth.From(r.Context())
		n, err := s.store.DeleteUserSessions(r.Context(), p.UserID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := s.store.LogSecurity(r.Context(), "logout_everywhere", p.Actor(), p.Email, map[string]any{"sessions": n}); err != nil {
			s.writeError(w, r, err)
			return
		}
		http.SetCookie(w, s.cookie(r, "", -1))
		writeJSON(w, http.StatusOK, countBody{Sessions: n})
	}
}

func (s *Server) changePassword() http.HandlerFunc {
	return bodyHandler(s, 204, pNone, func(r *http.Request, _ []string, in model.ChangePassword) (any, error) {
		return nil, s.store.ChangePassword(r.Context(), auth.From(r.Context()).Email, in)
	})
}

func (s *Server) listPersonalTokens() http.HandlerFunc {
	return s.handle(200, pNone, func(r *http.Request, _ []string) (any, error) {
		ts, err := s.store.ListPersonalTokens(r.Context(), auth.From(r.Context()).UserID)
		return page[model.APIToken]{Items: ts}, err
	})
}

func (s *Server) createPersonalToken() http.HandlerFunc {
	return bodyHandler(s, 201, pNone, func(r *http.Request, _ []string, in model.CreateToken) (any, error) {
		p := auth.From(r.Context())
		if p.TokenID != 0 && (p.ReadOnly || p.Project != "") {
			return nil, errs.Forbidden("a narrowed token cannot create tokens")
		}
		if in.Project != "" {
			role, err := s.store.ProjectRole(r.Context(), p, in.Project)
			if err != nil {
				return nil, err
			}
			if role == auth.RoleNone {
				return nil, errs.Invalid("project", "you have no role in project %q", in.Project)
			}
		}
		return s.store.CreatePersonalToken(r.Context(), p.UserID, in)
	})
}

// idParam reads a positive integer id from the route.
func idParam(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id < 1 {
		return 0, errs.NotFound("id %q", chi.URLParam(r, "id"))
	}
	return id, nil
}

func (s *Server) revokePersonalToken() http.HandlerFunc {
	return s.handle(200, pNone, func(r *http.Request, _ []string) (any, error) {
		id, err := idParam(r)
		if err != nil {
			return nil, err
		}
		uid := auth.From(r.Context()).UserID
		return s.store.RevokeToken(r.Context(), id, func(owner *int64, _ *string) bool { return owner != nil && *owner == uid })
	})
}

func (s *Server) listUsers() http.HandlerFunc {
	return s.handle(200, pNone, func(r *http.Request, _ []string) (any, error) {
		us, err := s.store.ListUsers(r.Context())
		return page[model.User]{Items: us}, err
	})
}

func (s *Server) createUser() http.HandlerFunc {
	return bodyHandler(s, 201, pNone, func(r *http.Request, _ []string, in model.CreateUser) (any, error) {
		return s.store.CreateUser(r.Context(), in)
	})
}

func (s *Server) updateUser() http.HandlerFunc {
	return bodyHandler(s, 200, pNone, func(r *http.Request, _ []string, in model.UpdateUser) (any, error) {
		id, err := idParam(r)
		if err != nil {
			return nil, err
		}
		if p := auth.From(r.Context()); p.UserID == id && ((in.Owner != nil && !*in.Owner) || (in.Disabled != nil && *in.Disabled)) {
			return nil, errs.Invalid("owner", "you cannot demote or disable yourself; ask another owner")
		}
		return s.store.UpdateUser(r.Context(), id, in)
	})
}

func (s *Server) listSecurityEvents() http.HandlerFunc {
	return s.handle(200, pNone, func(r *http.Request, _ []string) (any, error) {
		q := newQuery(r, "before", "limit")
		before, limit := q.int64("before"), q.limit()
		if q.err != nil {
			return nil, q.err
		}
		evs, err := s.store.ListSecurityEvents(r.Context(), before, limit)
		return page[model.SecurityEvent]{Items: evs}, err
	})
}

func (s *Server) listMembers() http.HandlerFunc {
	return s.handle(200, pProject, func(r *http.Request, k []string) (any, error) {
		ms, err := s.store.ListMembers(r.Context(), k[0])
		return page[model.Member]{Items: ms}, err
	})
}

func (s *Server) setMember() http.HandlerFunc {
	return bodyHandler(s, 200, pProject, func(r *http.Request, k []string, in model.SetMember) (any, error) {
		return s.store.SetMember(r.Context(), k[0], in)
	})
}

func (s *Server) removeMember() http.HandlerFunc {
	return s.handle(204, pProject, func(r *http.Request, k []string) (any, error) {
		id, err := idParam(r)
		if err != nil {
			return nil, err
		}
		return nil, s.store.RemoveMember(r.Context(), k[0], id)
	})
}

func (s *Server) listServiceTokens() http.HandlerFunc {
	return s.handle(200, pProject, func(r *http.Request, k []string) (any, error) {
		ts, err := s.store.ListServiceTokens(r.Context(), k[0])
		return page[model.APIToken]{Items: ts}, err
	})
}

func (s *Server) createServiceToken() http.HandlerFunc {
	return bodyHandler(s, 201, pProject, func(r *http.Request, k []string, in model.CreateToken) (any, error) {
		return s.store.CreateServiceToken(r.Context(), k[0], in)
	})
}

func (s *Server) revokeServiceToken() http.HandlerFunc {
	return s.handle(200, pProject, func(r *http.Request, k []string) (any, error) {
		id, err := idParam(r)
		if err != nil {
			return nil, err
		}
		return s.store.RevokeToken(r.Context(), id, func(owner *int64, project *string) bool {
			return owner == nil && project != nil && *project == k[0]
		})
	})
}

func (s *Server) setProtection() http.HandlerFunc {
	return bodyHandler(s, 200, pEnv, func(r *http.Request, k []string, in model.SetProtected) (any, error) {
		return s.store.SetEnvironmentProtected(r.Context(), k[0], k[1], in.Protected)
	})
}
