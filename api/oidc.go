package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/waypost/waypost/internal/auth"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/store"
)

// OIDCConfig configures single sign-on with an OpenID provider.
type OIDCConfig struct {
	Issuer         string
	ClientID       string
	ClientSecret   string
	RedirectURL    string   // this manager's /api/v1/auth/oidc/callback
	AllowedDomains []string // email domains allowed in (empty: any)
	// RoleClaim names a claim (ID token or userinfo) whose value, viewer,
	// editor, admin or owner, sets the user's role at each sign-in: owner
	// makes an instance owner, the others a role in the default project.
	RoleClaim string
}

// OIDC is single sign-on with an OpenID provider (authorization code flow
// with PKCE, state and nonce), creating accounts just in time.
type OIDC struct {
	cfg      OIDCConfig
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	oauth    oauth2.Config
}

// NewOIDC discovers the provider's endpoints and keys.
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*OIDC, error) {
	p, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc discovery of %s: %w", cfg.Issuer, err)
	}
	for i, d := range cfg.AllowedDomains {
		cfg.AllowedDomains[i] = strings.ToLower(strings.TrimPrefix(d, "@"))
	}
	return &OIDC{cfg: cfg, provider: p, verifier: p.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
		oauth: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
			Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}}, nil
}

const oidcCookie = "waypost_oidc"

// oidcFlow is what the browser keeps (HttpOnly cookie, 10 minutes) between
// the redirect to the provider and the callback.
type oidcFlow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
}

func (s *Server) oidcLogin() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o := s.auth.OIDC
		if o == nil {
			s.writeError(w, r, errs.NotFound("single sign-on (it is not configured)"))
			return
		}
		var f oidcFlow
		var err error
		if f.State, err = auth.NewRandom(); err == nil {
			f.Nonce, err = auth.NewRandom()
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		f.Verifier = oauth2.GenerateVerifier()
		b, _ := json.Marshal(f)
		c := s.cookie(r, url.QueryEscape(string(b)), 600)
		c.Name, c.Path = oidcCookie, "/api/v1/auth/oidc"
		http.SetCookie(w, c)
		http.Redirect(w, r, o.oauth.AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)), http.StatusFound)
	}
}

// oidcCallback finishes the sign-in and sends the browser to the
// dashboard (with ?sso_error=... on the login page when refused).
func (s *Server) oidcCallback() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o := s.auth.OIDC
		if o == nil {
			s.writeError(w, r, errs.NotFound("single sign-on (it is not configured)"))
			return
		}
		fail := func(msg string, err error) {
			if err != nil {
				s.log.WarnContext(r.Context(), "single sign-on refused", "reason", msg, "err", err)
			}
			_ = s.store.LogSecurity(r.Context(), "login_failed", "sso", "", map[string]any{"method": "oidc", "reason": msg})
			http.Redirect(w, r, "/?sso_error="+url.QueryEscape(msg), http.StatusFound)
		}
		clear := s.cookie(r, "", -1)
		clear.Name, clear.Path = oidcCookie, "/api/v1/auth/oidc"
		http.SetCookie(w, clear)
		var f oidcFlow
		c, err := r.Cookie(oidcCookie)
		if err == nil {
			var raw string
			if raw, err = url.QueryUnescape(c.Value); err == nil {
				err = json.Unmarshal([]byte(raw), &f)
			}
		}
		q := r.URL.Query()
		if err != nil || f.State == "" || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1 {
			fail("the sign-in expired or did not start here; try again", err)
			return
		}
		if e := q.Get("error"); e != "" {
			fail("the identity provider said: "+truncate(e+" "+q.Get("error_description"), 200), nil)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
		defer cancel()
		tok, err := o.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(f.Verifier))
		if err != nil {
			fail("the identity provider did not accept the sign-in", err)
			return
		}
		rawID, _ := tok.Extra("id_token").(string)
		idt, err := o.verifier.Verify(ctx, rawID)
		if err != nil || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
			fail("the identity token is not valid", err)
			return
		}
		claims := map[string]any{}
		if err := idt.Claims(&claims); err != nil {
			fail("the identity token is not valid", err)
			return
		}
		// The userinfo endpoint may hold claims the ID token leaves out.
		if ui, err := o.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
			extra := map[string]any{}
			if ui.Claims(&extra) == nil {
				for k, v := range extra {
					if _, ok := claims[k]; !ok {
						claims[k] = v
					}
				}
			}
		}
		in, err := o.identity(idt.Issuer, claims)
		if err != nil {
			fail(err.Error(), nil)
			return
		}
		u, err := s.store.SignInOIDC(store.WithActor(r.Context(), "sso"), in)
		if err != nil {
			if e, ok := errs.As(err); ok && e.Kind != errs.KindInternal {
				fail(e.Message, nil)
				return
			}
			fail("sign-in failed; the server log has the details", err)
			return
		}
		if _, err := s.newSession(w, r, u, "oidc"); err != nil {
			fail("sign-in failed; the server log has the details", err)
			return
		}
		http.Redirect(w, r, "/", http.StatusFound)
	}
}

// identity turns verified claims into the account to sign in, enforcing
// the allowed domains and reading the role claim.
func (o *OIDC) identity(issuer string, claims map[string]any) (store.OIDCIdentity, error) {
	str := func(k string) string { v, _ := claims[k].(string); return v }
	in := store.OIDCIdentity{Subject: issuer + "|" + str("sub"), Email: strings.ToLower(str("email")), Name: str("name")}
	if str("sub") == "" || in.Email == "" {
		return in, fmt.Errorf("the identity provider sent no email address (ask for the email scope)")
	}
	if v, ok := claims["email_verified"].(bool); ok && !v {
		return in, fmt.Errorf("the identity provider has not verified %s", in.Email)
	}
	domain := in.Email[strings.LastIndexByte(in.Email, '@')+1:]
	if len(o.cfg.AllowedDomains) > 0 && !slices.Contains(o.cfg.AllowedDomains, domain) {
		return in, fmt.Errorf("accounts of %s may not sign in here", domain)
	}
	if o.cfg.RoleClaim != "" {
		switch v := str(o.cfg.RoleClaim); v {
		case "viewer", "editor", "admin", "owner":
			in.Role = v
		case "":
		default:
			return in, fmt.Errorf("claim %s has the unknown role %q", o.cfg.RoleClaim, truncate(v, 40))
		}
	}
	return in, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
