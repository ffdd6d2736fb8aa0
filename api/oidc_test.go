package api_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/text/language"

	"github.com/waypost/waypost/api"
	"github.com/waypost/waypost/internal/authtest"
	"github.com/waypost/waypost/internal/store"
)

// The tests sign in against a real OpenID provider: zitadel/oidc's
// certified OP library (its example server: discovery, keys, authorize
// with PKCE, token, userinfo, a username/password login page) in this
// process, on an in-memory storage with our users and client.

type opUsers struct{ users map[string]*storage.User }

func (u opUsers) GetUserByID(id string) *storage.User { return u.users[id] }
func (u opUsers) GetUserByUsername(name string) *storage.User {
	for _, x := range u.users {
		if x.Username == name {
			return x
		}
	}
	return nil
}
func (u opUsers) ExampleClientID() string { return "service" }

// opStorage adds a role claim (waypost_role) to the userinfo answer.
type opStorage struct {
	*storage.Storage
	roles map[string]string // user id -> role claim
}

func (s *opStorage) SetUserinfoFromToken(ctx context.Context, ui *zoidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, ui, tokenID, subject, origin); err != nil {
		return err
	}
	if r, ok := s.roles[ui.Subject]; ok {
		ui.AppendClaims("waypost_role", r)
	}
	return nil
}

type ssoBundle struct {
	*testBundle
	manager *url.URL
}

var opOnce sync.Mutex

func setupSSO(t *testing.T) *ssoBundle {
	t.Helper()
	pool, dsn := testDB(t)
	st := store.New(pool)
	a := api.New(st, quietLog())
	mgr := httptest.NewServer(a)
	t.Cleanup(mgr.Close)

	users := opUsers{users: map[string]*storage.User{
		"u1": {ID: "u1", Username: "jill", Password: "jills-op-password", FirstName: "Jill", LastName: "Acme",
			Email: "jill@acme.example", EmailVerified: true, PreferredLanguage: language.English},
		"u2": {ID: "u2", Username: "bob", Password: "bobs-op-password", FirstName: "Bob", LastName: "Other",
			Email: "bob@other.example", EmailVerified: true, PreferredLanguage: language.English},
	}}
	var opURL string
	opHandler := http.NewServeMux()
	op := httptest.NewServer(opHandler)
	t.Cleanup(op.Close)
	opURL = op.URL
	stor := &opStorage{Storage: storage.NewStorageWithClients(users, map[string]*storage.Client{
		"waypost": storage.WebClient("waypost", "client-secret-xyz", mgr.URL+"/api/v1/auth/oidc/callback"),
	}), roles: map[string]string{"u1": "editor"}}
	opOnce.Lock() // SetupServer touches process-wide defaults
	router := exampleop.SetupServer(opURL, stor, nil, false)
	opOnce.Unlock()
	opHandler.Handle("/", router)

	o, err := api.NewOIDC(context.Background(), api.OIDCConfig{Issuer: opURL, ClientID: "waypost", ClientSecret: "client-secret-xyz",
		RedirectURL: mgr.URL + "/api/v1/auth/oidc/callback", AllowedDomains: []string{"acme.example"}, RoleClaim: "waypost_role"})
	require.NoError(t, err)
	a.SetAuth(api.AuthOptions{OIDC: o})
	mu, _ := url.Parse(mgr.URL)
	b := &testBundle{url: mgr.URL, pool: pool, dsn: dsn, st: st, api: a, token: authtest.Owner(t, st)}
	return &ssoBundle{testBundle: b, manager: mu}
}

// ssoSignIn goes through the whole browser flow with a cookie jar and
// returns where the manager finally sent the browser, and the jar.
func (b *ssoBundle) ssoSignIn(t *testing.T, username, password string, tamper func(*url.URL)) (*url.URL, http.CookieJar) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if tamper != nil && req.URL.Path == "/api/v1/auth/oidc/callback" {
			tamper(req.URL)
		}
		if req.URL.Host == b.manager.Host && !strings.HasPrefix(req.URL.Path, "/api/") {
			return http.ErrUseLastResponse // the dashboard
		}
		return nil
	}}
	res, err := c.Get(b.url + "/api/v1/auth/oidc/login")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode, "the provider's login page")
	id := res.Request.URL.Query().Get("authRequestID")
	require.NotEmpty(t, id, res.Request.URL.String())
	res, err = c.PostForm(res.Request.URL.Scheme+"://"+res.Request.URL.Host+"/login/username",
		url.Values{"username": {username}, "password": {password}, "id": {id}})
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusFound, res.StatusCode)
	loc, err := res.Location()
	require.NoError(t, err)
	return loc, jar
}

func TestSingleSignOnWithARealOpenIDProvider(t *testing.T) {
	t.Parallel()
	b := setupSSO(t)

	// First sign-in: the account is created just in time, with the role
	// from the claim, and the session works.
	loc, jar := b.ssoSignIn(t, "jill", "jills-op-password", nil)
	require.Equal(t, "/", loc.Path, loc.String())
	require.Empty(t, loc.Query().Get("sso_error"))
	var cookie string
	for _, c := range jar.Cookies(b.manager) {
		if c.Name == "waypost_session" {
			cookie = c.Name + "=" + c.Value
		}
	}
	require.NotEmpty(t, cookie)
	me := b.anon().mustDo(t, 200, "GET", "/api/v1/auth/me", nil, "Cookie", cookie)
	require.Equal(t, "jill@acme.example", me.body["user"].(map[string]any)["email"])
	require.Equal(t, map[string]any{"default": "editor"}, me.body["projects"])
	require.Equal(t, true, me.body["sso"])

	// Again: the same account, not a second one.
	b.ssoSignIn(t, "jill", "jills-op-password", nil)
	users := b.mustDo(t, 200, "GET", "/api/v1/users", nil).items()
	require.Len(t, users, 2, "the owner and Jill")
	jill := users[0].(map[string]any) // by email
	require.Equal(t, "jill@acme.example", jill["email"])
	require.Equal(t, true, jill["sso"])
	require.Equal(t, false, jill["owner"])

	// A domain not allowed: refused, nothing created.
	loc, _ = b.ssoSignIn(t, "bob", "bobs-op-password", nil)
	require.Contains(t, loc.Query().Get("sso_error"), "other.example")
	require.Len(t, b.mustDo(t, 200, "GET", "/api/v1/users", nil).items(), 2)

	// A callback whose state was changed (a forged or replayed callback).
	loc, _ = b.ssoSignIn(t, "jill", "jills-op-password", func(u *url.URL) {
		q := u.Query()
		q.Set("state", "forged")
		u.RawQuery = q.Encode()
	})
	require.Contains(t, loc.Query().Get("sso_error"), "try again")

	evs := b.mustDo(t, 200, "GET", "/api/v1/security-events", nil).raw
	require.Contains(t, evs, `"method":"oidc"`)
	require.NotContains(t, evs, "client-secret-xyz")
}

func TestSingleSignOnOffWhenNotConfigured(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.anon().mustDo(t, 404, "GET", "/api/v1/auth/oidc/login", nil)
	require.Equal(t, false, b.anon().mustDo(t, 200, "GET", "/api/v1/setup", nil).body["sso"])
}
