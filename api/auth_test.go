package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/api"
	"github.com/waypost/waypost/internal/authtest"
	"github.com/waypost/waypost/internal/store"
)

const password = "correct horse battery"

// newUser creates an account with a password and a role in default.
func newUser(t *testing.T, b *testBundle, email, role string) int64 {
	t.Helper()
	u := b.mustDo(t, 201, "POST", "/api/v1/users", map[string]any{"email": email, "name": "Jill", "password": password}).body
	if role != "" {
		b.mustDo(t, 200, "PUT", "/api/v1/projects/default/members", map[string]any{"email": email, "role": role})
	}
	return int64(u["id"].(float64))
}

type session struct {
	cookie string // "waypost_session=..."
	csrf   string
}

func login(t *testing.T, b *testBundle, email, pw string) session {
	t.Helper()
	r := b.anon().mustDo(t, 200, "POST", "/api/v1/auth/login", map[string]any{"email": email, "password": pw})
	var sc string
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "waypost_session" {
			require.True(t, c.HttpOnly)
			require.Equal(t, http.SameSiteLaxMode, c.SameSite)
			require.False(t, c.Secure, "plain http on 127.0.0.1: no Secure, or the browser would drop it")
			sc = c.Name + "=" + c.Value
		}
	}
	require.NotEmpty(t, sc)
	return session{cookie: sc, csrf: r.body["csrf_token"].(string)}
}

// with returns headers sending the cookie (and the CSRF token, same origin).
func (s session) with(extra ...string) []string {
	return append([]string{"Cookie", s.cookie, "X-CSRF-Token", s.csrf}, extra...)
}

func TestSessionsCookiesAndCSRF(t *testing.T) {
	t.Parallel()
	b := setup(t)
	anon := b.anon()
	uid := newUser(t, b, "jill@example.com", "editor")
	s := login(t, b, "Jill@Example.com ", password)

	me := anon.mustDo(t, 200, "GET", "/api/v1/auth/me", nil, "Cookie", s.cookie)
	require.Equal(t, "jill@example.com", me.body["user"].(map[string]any)["email"])
	require.Equal(t, map[string]any{"default": "editor"}, me.body["projects"])
	flags := "/api/v1/projects/default/flags"
	anon.mustDo(t, 201, "POST", flags, map[string]any{"key": "a"}, s.with("Origin", b.url, "Sec-Fetch-Site", "same-origin")...)

	// CSRF: missing token, wrong token, cross-site Origin or Sec-Fetch-Site.
	r := anon.mustDo(t, 403, "POST", flags, map[string]any{"key": "b"}, "Cookie", s.cookie)
	require.Contains(t, r.raw, "X-CSRF-Token")
	anon.mustDo(t, 403, "POST", flags, map[string]any{"key": "b"}, "Cookie", s.cookie, "X-CSRF-Token", s.csrf+"x")
	anon.mustDo(t, 403, "POST", flags, map[string]any{"key": "b"}, s.with("Origin", "https://evil.example")...)
	anon.mustDo(t, 403, "POST", flags, map[string]any{"key": "b"}, s.with("Sec-Fetch-Site", "cross-site")...)
	anon.mustDo(t, 404, "GET", flags+"/b", nil, "Cookie", s.cookie) // nothing was written

	// Forged and malformed cookies.
	anon.mustDo(t, 401, "GET", "/api/v1/auth/me", nil, "Cookie", "waypost_session="+strings.Repeat("A", 43))
	r = anon.mustDo(t, 401, "GET", "/api/v1/auth/me", nil, "Cookie", "waypost_session=<script>")
	require.Equal(t, "unauthenticated", r.errCode())

	// Idle and absolute timeouts.
	ctx := context.Background()
	s2 := login(t, b, "jill@example.com", password)
	_, err := b.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = now() - interval '13 hours' WHERE user_id = $1 AND csrf_token = $2`, uid, s2.csrf)
	require.NoError(t, err)
	anon.mustDo(t, 401, "GET", "/api/v1/auth/me", nil, "Cookie", s2.cookie)
	s3 := login(t, b, "jill@example.com", password)
	_, err = b.pool.Exec(ctx, `UPDATE sessions SET expires_at = now() - interval '1 second' WHERE csrf_token = $1`, s3.csrf)
	require.NoError(t, err)
	anon.mustDo(t, 401, "GET", "/api/v1/auth/me", nil, "Cookie", s3.cookie)

	// Logout: the same cookie replayed afterwards is refused.
	anon.mustDo(t, 204, "POST", "/api/v1/auth/logout", nil, s.with()...)
	anon.mustDo(t, 401, "GET", "/api/v1/auth/me", nil, "Cookie", s.cookie)

	// Log out everywhere.
	a, c := login(t, b, "jill@example.com", password), login(t, b, "jill@example.com", password)
	r = anon.mustDo(t, 200, "POST", "/api/v1/auth/logout-everywhere", nil, a.with()...)
	require.Equal(t, 2.0, r.body["sessions_ended"])
	anon.mustDo(t, 401, "GET", "/api/v1/auth/me", nil, "Cookie", c.cookie)

	// A disabled user's sessions and tokens stop on the next request.
	d := login(t, b, "jill@example.com", password)
	tok := anon.mustDo(t, 201, "POST", "/api/v1/auth/tokens", map[string]any{"name": "ci"}, d.with()...).body["secret"].(string)
	jt := b.withToken(tok)
	jt.mustDo(t, 200, "GET", flags, nil)
	b.mustDo(t, 200, "PATCH", fmt.Sprintf("/api/v1/users/%d", uid), map[string]any{"disabled": true})
	anon.mustDo(t, 401, "GET", "/api/v1/auth/me", nil, "Cookie", d.cookie)
	r = jt.mustDo(t, 401, "GET", flags, nil)
	require.Contains(t, r.raw, "disabled")
	r = anon.mustDo(t, 401, "POST", "/api/v1/auth/login", map[string]any{"email": "jill@example.com", "password": password})
	require.Equal(t, "wrong email or password", r.body["error"].(map[string]any)["message"])
	b.mustDo(t, 200, "PATCH", fmt.Sprintf("/api/v1/users/%d", uid), map[string]any{"disabled": false})
	jt.mustDo(t, 200, "GET", flags, nil)
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mustDo(t, 201, "POST", "/api/v1/projects", map[string]any{"key": "other"})
	editor := b.as(t, "editor")
	flags := "/api/v1/projects/default/flags"

	// Personal, narrowed to one project.
	nt := editor.mustDo(t, 201, "POST", "/api/v1/auth/tokens", map[string]any{"name": "deploy", "project": "default"}).body
	require.Regexp(t, `^wpt_[A-Za-z0-9_-]{43}$`, nt["secret"])
	narrow := b.withToken(nt["secret"].(string))
	narrow.mustDo(t, 201, "POST", flags, map[string]any{"key": "n"})
	require.Len(t, narrow.mustDo(t, 200, "GET", "/api/v1/projects", nil).items(), 1)
	// An owner's token narrowed to default is not an owner anywhere.
	ot := b.mustDo(t, 201, "POST", "/api/v1/auth/tokens", map[string]any{"name": "o", "project": "default"}).body["secret"].(string)
	b.withToken(ot).mustDo(t, 403, "GET", "/api/v1/projects/other/flags", nil)
	b.withToken(ot).mustDo(t, 403, "GET", "/api/v1/users", nil)
	editor.mustDo(t, 422, "POST", "/api/v1/auth/tokens", map[string]any{"name": "x", "project": "other"})

	// Read-only.
	ro := b.withToken(editor.mustDo(t, 201, "POST", "/api/v1/auth/tokens", map[string]any{"name": "ro", "read_only": true}).body["secret"].(string))
	ro.mustDo(t, 200, "GET", flags, nil)
	require.Contains(t, ro.mustDo(t, 403, "POST", flags, map[string]any{"key": "r"}).raw, "read-only")

	// Service token: a role in one project.
	st := b.mustDo(t, 201, "POST", "/api/v1/projects/default/tokens", map[string]any{"name": "ci", "role": "editor"}).body
	require.Equal(t, "service", st["kind"])
	svc := b.withToken(st["secret"].(string))
	svc.mustDo(t, 201, "POST", flags, map[string]any{"key": "s"})
	svc.mustDo(t, 403, "POST", "/api/v1/projects/default/environments/production/sdk-keys", map[string]any{"name": "k", "kind": "server"})
	svc.mustDo(t, 403, "GET", "/api/v1/projects/other/flags", nil)
	svc.mustDo(t, 403, "GET", "/api/v1/auth/tokens", nil)

	// The audit names the token and its person.
	ev := b.mustDo(t, 200, "GET", "/api/v1/projects/default/events?type=flag_created", nil).items()
	actors := map[string]bool{}
	for _, e := range ev {
		actors[e.(map[string]any)["actor"].(string)] = true
	}
	require.True(t, actors["token:ci"], "%v", actors)
	require.Contains(t, fmt.Sprint(actors), "(token deploy)")

	// Lists show prefixes, never secrets; last use is recorded.
	list := editor.mustDo(t, 200, "GET", "/api/v1/auth/tokens", nil)
	require.NotContains(t, list.raw, nt["secret"])
	require.NotContains(t, list.raw, `"secret"`)
	var deploy map[string]any
	for _, it := range list.items() {
		if m := it.(map[string]any); m["name"] == "deploy" {
			deploy = m
		}
	}
	require.NotNil(t, deploy["last_used_at"])
	require.Equal(t, nt["secret"].(string)[:12], deploy["prefix"])

	// Revocation: someone else's token is not theirs to revoke.
	id := fmt.Sprint(nt["id"])
	b.mustDo(t, 404, "DELETE", "/api/v1/auth/tokens/"+id, nil)
	editor.mustDo(t, 200, "DELETE", "/api/v1/auth/tokens/"+id, nil)
	require.Contains(t, narrow.mustDo(t, 401, "GET", flags, nil).raw, "revoked")
	b.mustDo(t, 404, "DELETE", fmt.Sprintf("/api/v1/projects/other/tokens/%v", st["id"]), nil)
	b.mustDo(t, 200, "DELETE", fmt.Sprintf("/api/v1/projects/default/tokens/%v", st["id"]), nil)
	svc.mustDo(t, 401, "GET", flags, nil)

	// Expiry.
	exp := editor.mustDo(t, 201, "POST", "/api/v1/auth/tokens", map[string]any{"name": "soon", "expires_at": "2099-01-01T00:00:00Z"}).body
	_, err := b.pool.Exec(context.Background(), `UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, exp["id"])
	require.NoError(t, err)
	require.Contains(t, b.withToken(exp["secret"].(string)).mustDo(t, 401, "GET", flags, nil).raw, "expired")
	editor.mustDo(t, 422, "POST", "/api/v1/auth/tokens", map[string]any{"name": "past", "expires_at": "2001-01-01T00:00:00Z"})
}

func TestBadAccountInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	anon := b.anon()
	long := strings.Repeat("a", 250) + "@example.com"
	cases := []struct {
		method, path string
		body         any
		status       int
		field        string
	}{
		{"POST", "/api/v1/auth/login", map[string]any{"email": long, "password": "x"}, 422, "email"},
		{"POST", "/api/v1/auth/login", map[string]any{"email": "a@b.c", "password": strings.Repeat("p", 257)}, 422, "password"},
		{"POST", "/api/v1/auth/login", "{\"email\":\"a@b.c\",\"password\":\"\xff\xfe\"}", 400, "password"},
		{"POST", "/api/v1/auth/login", map[string]any{"email": "not an email", "password": "x"}, 422, "email"},
		{"POST", "/api/v1/auth/login", `{"email":"a@b.c","password":"x","admin":true}`, 400, "admin"},
		{"POST", "/api/v1/users", map[string]any{"email": long, "password": password}, 422, "email"},
		{"POST", "/api/v1/users", map[string]any{"email": "a@b.c", "password": "short"}, 422, "password"},
		{"POST", "/api/v1/users", "{\"email\":\"a@b.c\",\"name\":\"\xff\",\"password\":\"correct horse battery\"}", 400, "name"},
		{"POST", "/api/v1/users", map[string]any{"email": "a@b.c", "name": strings.Repeat("n", 201), "password": password}, 422, "name"},
		{"PUT", "/api/v1/projects/default/members", map[string]any{"email": "owner@waypost.test", "role": "god"}, 422, "role"},
		{"PUT", "/api/v1/projects/default/members", map[string]any{"email": "nobody@example.com", "role": "viewer"}, 422, "email"},
		{"POST", "/api/v1/projects/default/tokens", map[string]any{"name": "ci", "role": "root"}, 422, "role"},
		{"POST", "/api/v1/projects/default/tokens", map[string]any{"name": "ci"}, 422, "role"},
		{"POST", "/api/v1/auth/tokens", map[string]any{"name": "ci", "role": "admin"}, 422, "role"},
		{"POST", "/api/v1/auth/tokens", map[string]any{"name": ""}, 422, "name"},
	}
	for _, c := range cases {
		who := b
		if strings.HasSuffix(c.path, "/login") {
			who = anon
		}
		r := who.do(t, c.method, c.path, c.body)
		require.Equal(t, c.status, r.status, "%s %s %v: %s", c.method, c.path, c.body, r.raw)
		require.Equal(t, c.field, r.errField(), "%s: %s", c.path, r.raw)
		require.NotEmpty(t, r.body["error"].(map[string]any)["message"])
	}
	// Tokens of the wrong shape.
	for _, h := range []string{"Bearer abc", "Bearer wpt_short", "Basic dXNlcjpwdw==", "Bearer " + "wpt_" + strings.Repeat("!", 43), "Bearer wps_" + strings.Repeat("a", 43)} {
		r := anon.mustDo(t, 401, "GET", "/api/v1/projects", nil, "Authorization", h)
		require.Equal(t, "unauthenticated", r.errCode())
		require.NotEmpty(t, r.header.Get("WWW-Authenticate"))
	}
	// Nothing was half-written.
	require.Len(t, b.mustDo(t, 200, "GET", "/api/v1/users", nil).items(), 1)
	require.Empty(t, b.mustDo(t, 200, "GET", "/api/v1/projects/default/members", nil).items())
	require.Empty(t, b.mustDo(t, 200, "GET", "/api/v1/projects/default/tokens", nil).items())
}

// TestLoginBruteForceIsThrottled: 1,000 wrong passwords from one address
// are throttled (429, without hashing), the server keeps answering, and
// the account's owner still signs in from another address.
func TestLoginBruteForceIsThrottled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	newUser(t, b, "jill@example.com", "viewer")
	try := func(addr, email, pw string) *httptest.ResponseRecorder {
		body, _ := json.Marshal(map[string]string{"email": email, "password": pw})
		req := httptest.NewRequest("POST", "/api/v1/auth/login", strings.NewReader(string(body)))
		req.RemoteAddr = addr + ":4242"
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		b.api.ServeHTTP(w, req)
		return w
	}
	_, burst := api.LoginThrottle()
	var wg sync.WaitGroup
	counts := map[int]int{}
	var mu sync.Mutex
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 250; i++ {
				r := try("203.0.113.9", "jill@example.com", fmt.Sprintf("guess-%d", i))
				mu.Lock()
				counts[r.Code]++
				mu.Unlock()
				if r.Code == 429 {
					require.NotEmpty(t, r.Header().Get("Retry-After"))
				}
			}
		}()
	}
	// Meanwhile the server answers others.
	for i := 0; i < 20; i++ {
		b.mustDo(t, 200, "GET", "/api/v1/projects", nil)
	}
	wg.Wait()
	require.Equal(t, 1000, counts[401]+counts[429], "%v", counts)
	require.LessOrEqual(t, counts[401], burst+2, "only the burst is checked: %v", counts)
	require.GreaterOrEqual(t, counts[429], 1000-burst-2)

	// Not locked: the real person, elsewhere, signs in.
	require.Equal(t, 200, try("198.51.100.7", "jill@example.com", password).Code)
	// An unknown email and a wrong password get the same answer.
	u, p := try("198.51.100.8", "nobody@example.com", "guess"), try("198.51.100.8", "jill@example.com", "guess")
	require.Equal(t, 401, u.Code)
	require.Equal(t, u.Body.String(), p.Body.String())

	// The security log has the failed attempts (as the email tried) and the login.
	evs := b.mustDo(t, 200, "GET", "/api/v1/security-events?limit=500", nil).items()
	kinds := map[string]int{}
	for _, e := range evs {
		m := e.(map[string]any)
		kinds[m["type"].(string)]++
		if m["type"] == "login_failed" {
			require.NotEmpty(t, m["client_addr"])
		}
	}
	require.Equal(t, counts[401]+2, kinds["login_failed"], "%v", kinds)
	require.Equal(t, 1, kinds["login"])
}

// TestSecretsNeverLoggedOrReturned drives accounts end to end with the
// API logging at debug level, then greps the log and every later response
// for the passwords, tokens and session ids used.
func TestSecretsNeverLoggedOrReturned(t *testing.T) {
	t.Parallel()
	b := setup(t)
	newUser(t, b, "jill@example.com", "admin")
	s := login(t, b, "jill@example.com", password)
	_ = b.anon().do(t, "POST", "/api/v1/auth/login", map[string]any{"email": "jill@example.com", "password": "wrong-password-123"})
	pt := b.anon().mustDo(t, 201, "POST", "/api/v1/auth/tokens", map[string]any{"name": "mine"}, s.with()...).body["secret"].(string)
	svc := b.mustDo(t, 201, "POST", "/api/v1/projects/default/tokens", map[string]any{"name": "ci", "role": "viewer"}).body["secret"].(string)
	b.anon().mustDo(t, 204, "POST", "/api/v1/auth/password", map[string]any{"current_password": password, "new_password": "another long one"}, s.with()...)
	// Provoke a server-side error log with a secret-bearing request.
	b.anon().do(t, "GET", "/api/v1/projects", nil, "Authorization", "Bearer "+pt[:len(pt)-1]+"!")
	var out strings.Builder
	for _, path := range []string{"/api/v1/users", "/api/v1/auth/tokens", "/api/v1/projects/default/tokens", "/api/v1/security-events", "/api/v1/auth/me", "/api/v1/projects/default/members"} {
		out.WriteString(b.mustDo(t, 200, "GET", path, nil).raw)
		out.WriteString(b.anon().do(t, "GET", path, nil, "Authorization", "Bearer "+pt).raw)
	}
	cookieValue := strings.TrimPrefix(s.cookie, "waypost_session=")
	for name, secret := range map[string]string{"password": password, "wrong password": "wrong-password-123", "new password": "another long one",
		"personal token": pt, "service token": svc, "session id": cookieValue, "owner token": b.token} {
		require.NotContains(t, b.logs.String(), secret, "%s in the log", name)
		require.NotContains(t, out.String(), secret, "%s in a response", name)
	}
	require.NotContains(t, out.String(), "argon2id", "no password hash in a response")
	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM security_events WHERE detail::text LIKE '%'||$1||'%' OR actor LIKE '%'||$1||'%'`, password).Scan(&n))
	require.Zero(t, n)
}

func TestFirstRunSetup(t *testing.T) {
	t.Parallel()
	pool, _ := testDB(t)
	st := store.New(pool)
	st.UsePasswordParams(authtest.FastParams)
	a := api.New(st, quietLog())
	a.SetAuth(api.AuthOptions{SetupToken: "setup-token-0123456789"})
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	b := &testBundle{url: srv.URL, pool: pool, st: st, api: a}
	require.Equal(t, true, b.mustDo(t, 200, "GET", "/api/v1/setup", nil).body["needed"])
	body := map[string]any{"token": "wrong", "email": "ada@example.com", "name": "Ada", "password": password}
	b.mustDo(t, 403, "POST", "/api/v1/setup", body)
	body["token"] = "setup-token-0123456789"
	body["password"] = "short"
	b.mustDo(t, 422, "POST", "/api/v1/setup", body)
	body["password"] = password
	r := b.mustDo(t, 200, "POST", "/api/v1/setup", body)
	require.Equal(t, true, r.body["owner"])
	require.NotEmpty(t, r.header.Get("Set-Cookie"))
	b.mustDo(t, 403, "POST", "/api/v1/setup", body) // one time only
	require.Equal(t, false, b.mustDo(t, 200, "GET", "/api/v1/setup", nil).body["needed"])
	login(t, b, "ada@example.com", password)
}
