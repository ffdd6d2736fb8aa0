package api

import "net/http"

// OIDC is single sign-on with an OpenID Connect provider.
type OIDC struct{}

func (s *Server) oidcLogin() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errorBody{Error: errorDetail{Code: "not_found", Message: "single sign-on is not configured"}})
	}
}

func (s *Server) oidcCallback() http.HandlerFunc { return s.oidcLogin() }
