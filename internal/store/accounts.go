package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/internal/auth"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/model"
)

// UsePasswordParams sets the argon2id parameters new password hashes are
// made with (WAYPOST_ARGON2_*); hashes made with others are replaced at
// the next successful login.
func (s *Store) UsePasswordParams(p auth.Params) { s.argon = p }

func (s *Store) passwordParams() auth.Params {
	if s.argon.Time == 0 {
		return auth.DefaultParams
	}
	return s.argon
}

func toUser(u db.User) model.User {
	return model.User{ID: u.ID, Email: u.Email, Name: u.Name, Owner: u.IsOwner, SSO: u.OidcSubject != nil,
		Disabled: u.DisabledAt != nil, CreatedAt: u.CreatedAt, LastLoginAt: u.LastLoginAt}
}

// CountUsers returns how many accounts exist (0: first-run setup is open).
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	n, err := s.queries().CountUsers(ctx)
	if err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// CreateUser creates an account, hashing its password (none: single
// sign-on only).
func (s *Store) CreateUser(ctx context.Context, in model.CreateUser) (model.User, error) {
	if err := in.Validate(); err != nil {
		return model.User{}, err
	}
	return s.createUser(ctx, in, nil)
}

func (s *Store) createUser(ctx context.Context, in model.CreateUser, oidcSubject *string) (model.User, error) {
	var out model.User
	var hash *string
	if in.Password != "" {
		h, err := s.passwordParams().Hash(in.Password)
		if err != nil {
			return out, err
		}
		hash = &h
	}
	err := s.change(ctx, func(q *db.Queries) error {
		u, err := q.CreateUser(ctx, db.CreateUserParams{Email: in.Email, Name: in.Name, PasswordHash: hash, IsOwner: in.Owner, OidcSubject: oidcSubject})
		if err != nil {
			return mapErr(fmt.Errorf("create user: %w", err))
		}
		out = toUser(u)
		return securityEvent(ctx, q, "user_created", u.Email, nil, map[string]any{"owner": u.IsOwner, "sso": oidcSubject != nil})
	})
	return out, err
}

// ListUsers returns every account.
func (s *Store) ListUsers(ctx context.Context) ([]model.User, error) {
	rows, err := s.queries().ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out := make([]model.User, len(rows))
	for i, u := range rows {
		out[i] = toUser(u)
	}
	return out, nil
}

func getUser(ctx context.Context, q *db.Queries, id int64) (db.User, error) {
	u, err := q.GetUserByID(ctx, id)
	if isNoRows(err) {
		return u, errs.NotFound("user %d", id)
	}
	if err != nil {
		return u, fmt.Errorf("get user %d: %w", id, err)
	}
	return u, nil
}

// UpdateUser renames, promotes, disables or re-enables an account, or sets
// its password. Disabling deletes its sessions; its tokens stop working at
// once (the token check reads the user's state).
func (s *Store) UpdateUser(ctx context.Context, id int64, in model.UpdateUser) (model.User, error) {
	var out model.User
	if err := in.Validate(); err != nil {
		return out, err
	}
	var hash *string
	if in.Password != nil {
		h, err := s.passwordParams().Hash(*in.Password)
		if err != nil {
			return out, err
		}
		hash = &h
	}
	err := s.change(ctx, func(q *db.Queries) error {
		u, err := getUser(ctx, q, id)
		if err != nil {
			return err
		}
		name, owner, disabled := u.Name, u.IsOwner, u.DisabledAt != nil
		if in.Name != nil {
			name = *in.Name
		}
		if in.Owner != nil {
			owner = *in.Owner
		}
		if in.Disabled != nil {
			disabled = *in.Disabled
		}
		nu, err := q.UpdateUser(ctx, db.UpdateUserParams{ID: id, Name: name, IsOwner: owner, Disabled: disabled})
		if err != nil {
			return mapErr(fmt.Errorf("update user: %w", err))
		}
		if owner != u.IsOwner {
			if err := securityEvent(ctx, q, "role_changed", u.Email, nil, map[string]any{"owner": owner}); err != nil {
				return err
			}
		}
		if disabled != (u.DisabledAt != nil) {
			typ := "user_enabled"
			if disabled {
				typ = "user_disabled"
				if _, err := q.DeleteUserSessions(ctx, id); err != nil {
					return fmt.Errorf("delete sessions: %w", err)
				}
			}
			if err := securityEvent(ctx, q, typ, u.Email, nil, nil); err != nil {
				return err
			}
		}
		if hash != nil {
			if err := q.SetPasswordHash(ctx, db.SetPasswordHashParams{ID: id, PasswordHash: hash}); err != nil {
				return fmt.Errorf("set password: %w", err)
			}
			if err := securityEvent(ctx, q, "password_set", u.Email, nil, nil); err != nil {
				return err
			}
		}
		out = toUser(nu)
		return nil
	})
	return out, err
}

// errBadLogin is the one answer to a wrong email or password.
var errBadLogin = errs.Unauthenticated("wrong email or password")

// CheckPassword returns the enabled user with this email and password.
// An unknown email costs the same hash computation as a wrong password and
// gets the same answer; a hash made with old parameters is replaced.
func (s *Store) CheckPassword(ctx context.Context, email, password string) (model.User, error) {
	p := s.passwordParams()
	q := s.queries()
	u, err := q.GetUserByEmail(ctx, email)
	if isNoRows(err) || (err == nil && u.PasswordHash == nil) {
		p.Burn(password)
		return model.User{}, errBadLogin
	}
	if err != nil {
		return model.User{}, fmt.Errorf("get user: %w", err)
	}
	ok, rehash, err := p.Verify(*u.PasswordHash, password)
	if err != nil {
		return model.User{}, fmt.Errorf("user %d: %w", u.ID, err)
	}
	if !ok || u.DisabledAt != nil {
		return model.User{}, errBadLogin
	}
	if rehash {
		h, err := p.Hash(password)
		if err != nil {
			return model.User{}, err
		}
		if err := q.SetPasswordHash(ctx, db.SetPasswordHashParams{ID: u.ID, PasswordHash: &h}); err != nil {
			return model.User{}, fmt.Errorf("rehash password: %w", err)
		}
	}
	return toUser(u), nil
}

// ChangePassword sets a new password for a user who knows the current one.
func (s *Store) ChangePassword(ctx context.Context, email string, in model.ChangePassword) error {
	if err := in.Validate(); err != nil {
		return err
	}
	u, err := s.CheckPassword(ctx, email, in.Current)
	if err != nil {
		return errs.Invalid("current_password", "is not right")
	}
	_, err = s.UpdateUser(ctx, u.ID, model.UpdateUser{Password: &in.New})
	return err
}

// SessionTimeouts bound a session's life.
type SessionTimeouts struct {
	Idle     time.Duration
	Absolute time.Duration
}

// NewSession is a created session: the cookie value (never stored) and
// the CSRF token.
type NewSession struct {
	ID   string
	CSRF string
}

// CreateSession signs user in: a fresh random id whose hash is stored.
func (s *Store) CreateSession(ctx context.Context, userID int64, t SessionTimeouts, clientAddr, userAgent string) (NewSession, error) {
	id, err := auth.NewRandom()
	if err != nil {
		return NewSession{}, err
	}
	csrf, err := auth.NewRandom()
	if err != nil {
		return NewSession{}, err
	}
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	q := s.queries()
	if err := q.CreateSession(ctx, db.CreateSessionParams{IDHash: auth.Hash(id), UserID: userID, CsrfToken: csrf,
		ExpiresAt: time.Now().Add(t.Absolute), ClientAddr: clientAddr, UserAgent: userAgent}); err != nil {
		return NewSession{}, fmt.Errorf("create session: %w", err)
	}
	if err := q.TouchLogin(ctx, userID); err != nil {
		return NewSession{}, fmt.Errorf("touch login: %w", err)
	}
	return NewSession{ID: id, CSRF: csrf}, nil
}

// touchEvery bounds how often last-seen / last-used times are written.
const touchEvery = time.Minute

// SessionPrincipal returns who a session cookie belongs to. Unknown,
// expired (idle or absolute) sessions and those of disabled users are
// refused; expired ones are deleted.
func (s *Store) SessionPrincipal(ctx context.Context, id string, t SessionTimeouts) (*auth.Principal, error) {
	if !auth.WellFormedSessionID(id) {
		return nil, errs.Unauthenticated("session cookie is malformed; sign in again")
	}
	h := auth.Hash(id)
	q := s.queries()
	row, err := q.GetSession(ctx, h)
	if isNoRows(err) {
		return nil, errs.Unauthenticated("session has ended; sign in again")
	}
	if err != nil {
		return nil, fmt.Errorf("get session: %w", err)
	}
	now := time.Now()
	if now.After(row.ExpiresAt) || now.Sub(row.LastSeenAt) > t.Idle || row.User.DisabledAt != nil {
		if err := q.DeleteSession(ctx, h); err != nil {
			return nil, fmt.Errorf("delete session: %w", err)
		}
		return nil, errs.Unauthenticated("session has ended; sign in again")
	}
	if now.Sub(row.LastSeenAt) > touchEvery {
		if err := q.TouchSession(ctx, h); err != nil {
			return nil, fmt.Errorf("touch session: %w", err)
		}
	}
	u := row.User
	return &auth.Principal{UserID: u.ID, Email: u.Email, Name: u.Name, Owner: u.IsOwner, SessionHash: h, CSRFToken: row.CsrfToken}, nil
}

// DeleteSession logs a session out.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	if err := s.queries().DeleteSession(ctx, hash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions logs a user out everywhere and returns how many
// sessions ended.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64) (int64, error) {
	n, err := s.queries().DeleteUserSessions(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("delete sessions: %w", err)
	}
	return n, nil
}

// TokenPrincipal returns who an API token acts as. Malformed, unknown,
// revoked and expired tokens, and tokens of disabled users, are refused.
func (s *Store) TokenPrincipal(ctx context.Context, token string) (*auth.Principal, error) {
	if !auth.WellFormedToken(token) {
		return nil, errs.Unauthenticated("bearer token is malformed: Waypost tokens look like wpt_ and 43 letters, digits, - or _")
	}
	q := s.queries()
	t, err := q.GetAPIToken(ctx, auth.Hash(token))
	if isNoRows(err) {
		return nil, errs.Unauthenticated("bearer token is not valid")
	}
	if err != nil {
		return nil, fmt.Errorf("get token: %w", err)
	}
	now := time.Now()
	switch {
	case t.RevokedAt != nil:
		return nil, errs.Unauthenticated("bearer token was revoked")
	case t.ExpiresAt != nil && now.After(*t.ExpiresAt):
		return nil, errs.Unauthenticated("bearer token has expired")
	case t.UserDisabledAt != nil:
		return nil, errs.Unauthenticated("bearer token's user is disabled")
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > touchEvery {
		if err := q.TouchAPIToken(ctx, t.ID); err != nil {
			return nil, fmt.Errorf("touch token: %w", err)
		}
	}
	p := &auth.Principal{TokenID: t.ID, TokenName: t.Name, ReadOnly: t.ReadOnly}
	if t.ProjectKey != nil {
		p.Project = *t.ProjectKey
	}
	if t.UserID == nil {
		p.ServiceRole = auth.Role(*t.Role)
		return p, nil
	}
	p.UserID, p.Email, p.Name = *t.UserID, *t.UserEmail, *t.UserName
	// A narrowed token never carries the instance-wide owner power.
	p.Owner = *t.UserIsOwner && !t.ReadOnly && p.Project == ""
	return p, nil
}

// ProjectRole is p's role in project (RoleNone: no access). Owners are
// admins everywhere; the credential caps the role (Principal.Cap). An
// owner's narrowed token keeps admin within its limits.
func (s *Store) ProjectRole(ctx context.Context, p *auth.Principal, projectKey string) (auth.Role, error) {
	if p.Service() {
		if p.Project == projectKey {
			return p.ServiceRole, nil
		}
		return auth.RoleNone, nil
	}
	q := s.queries()
	u, err := getUser(ctx, q, p.UserID)
	if err != nil {
		return auth.RoleNone, err
	}
	if u.IsOwner {
		return p.Cap(projectKey, auth.RoleAdmin), nil
	}
	r, err := q.MemberRole(ctx, db.MemberRoleParams{Key: projectKey, UserID: p.UserID})
	if isNoRows(err) {
		return auth.RoleNone, nil
	}
	if err != nil {
		return auth.RoleNone, fmt.Errorf("member role: %w", err)
	}
	return p.Cap(projectKey, auth.Role(r)), nil
}

// ProjectRoles maps every project key p can see to p's role there.
func (s *Store) ProjectRoles(ctx context.Context, p *auth.Principal) (map[string]auth.Role, error) {
	out := map[string]auth.Role{}
	if p.Service() {
		out[p.Project] = p.ServiceRole
		return out, nil
	}
	rows, err := s.queries().ProjectRoles(ctx, p.UserID)
	if err != nil {
		return nil, fmt.Errorf("project roles: %w", err)
	}
	for _, r := range rows {
		role := auth.RoleNone
		if p.Owner || (p.Project != "" && s.isOwner(ctx, p.UserID)) {
			role = auth.RoleAdmin
		} else if r.Role != nil {
			role = auth.Role(*r.Role)
		}
		if role = p.Cap(r.Key, role); role != auth.RoleNone {
			out[r.Key] = role
		}
	}
	return out, nil
}

func (s *Store) isOwner(ctx context.Context, userID int64) bool {
	u, err := s.queries().GetUserByID(ctx, userID)
	return err == nil && u.IsOwner
}

// ListMembers returns a project's members.
func (s *Store) ListMembers(ctx context.Context, projectKey string) ([]model.Member, error) {
	q := s.queries()
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return nil, err
	}
	rows, err := q.ListMembers(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	out := make([]model.Member, len(rows))
	for i, r := range rows {
		out[i] = model.Member{UserID: r.ID, Email: r.Email, Name: r.Name, Role: r.Role, Disabled: r.DisabledAt != nil,
			CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	}
	return out, nil
}

// SetMember gives the user with in.Email a role in the project.
func (s *Store) SetMember(ctx context.Context, projectKey string, in model.SetMember) (model.Member, error) {
	var out model.Member
	if err := in.Validate(); err != nil {
		return out, err
	}
	err := s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		u, err := q.GetUserByEmail(ctx, in.Email)
		if isNoRows(err) {
			return errs.Invalid("email", "no user has this email; an owner creates the account first")
		}
		if err != nil {
			return fmt.Errorf("get user: %w", err)
		}
		m, err := q.UpsertMember(ctx, db.UpsertMemberParams{ProjectID: p.ID, UserID: u.ID, Role: in.Role})
		if err != nil {
			return mapErr(fmt.Errorf("set member: %w", err))
		}
		out = model.Member{UserID: u.ID, Email: u.Email, Name: u.Name, Role: m.Role, Disabled: u.DisabledAt != nil,
			CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
		return securityEvent(ctx, q, "role_changed", u.Email, &projectKey, map[string]any{"role": m.Role})
	})
	return out, err
}

// RemoveMember takes a user's role in a project away.
func (s *Store) RemoveMember(ctx context.Context, projectKey string, userID int64) error {
	return s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		u, err := getUser(ctx, q, userID)
		if err != nil {
			return err
		}
		n, err := q.DeleteMember(ctx, db.DeleteMemberParams{ProjectID: p.ID, UserID: userID})
		if err != nil {
			return fmt.Errorf("remove member: %w", err)
		}
		if n == 0 {
			return errs.NotFound("member %d", userID)
		}
		return securityEvent(ctx, q, "role_changed", u.Email, &projectKey, map[string]any{"role": nil})
	})
}

func toToken(t db.ApiToken, projectKey *string) model.APIToken {
	out := model.APIToken{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Kind: "personal", ReadOnly: t.ReadOnly, CreatedBy: t.CreatedBy,
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt}
	if projectKey != nil {
		out.Project = *projectKey
	}
	if t.UserID == nil {
		out.Kind = "service"
		out.Role = *t.Role
	}
	return out
}

// CreatePersonalToken creates a token acting as userID (optionally
// read-only or limited to one project) and returns it with its secret,
// which is never retrievable again.
func (s *Store) CreatePersonalToken(ctx context.Context, userID int64, in model.CreateToken) (model.APIToken, error) {
	if err := in.Validate(); err != nil {
		return model.APIToken{}, err
	}
	return s.createToken(ctx, in, &userID, nil)
}

// CreateServiceToken creates a token with a role in one project.
func (s *Store) CreateServiceToken(ctx context.Context, projectKey string, in model.CreateToken) (model.APIToken, error) {
	if err := in.ValidateService(); err != nil {
		return model.APIToken{}, err
	}
	in.Project = projectKey
	return s.createToken(ctx, in, nil, &in.Role)
}

func (s *Store) createToken(ctx context.Context, in model.CreateToken, userID *int64, role *string) (model.APIToken, error) {
	var out model.APIToken
	err := s.change(ctx, func(q *db.Queries) error {
		var projectID *int64
		var projectKey *string
		if in.Project != "" {
			p, err := project(ctx, q, in.Project)
			if err != nil {
				return err
			}
			projectID, projectKey = &p.ID, &p.Key
		}
		secret, err := auth.NewToken()
		if err != nil {
			return err
		}
		t, err := q.CreateAPIToken(ctx, db.CreateAPITokenParams{Name: in.Name, Prefix: secret[:visiblePrefix], TokenHash: auth.Hash(secret),
			UserID: userID, ProjectID: projectID, Role: role, ReadOnly: in.ReadOnly, CreatedBy: ActorFrom(ctx), ExpiresAt: in.ExpiresAt})
		if err != nil {
			return mapErr(fmt.Errorf("create token: %w", err))
		}
		out = toToken(t, projectKey)
		out.Secret = secret
		return securityEvent(ctx, q, "token_created", in.Name, projectKey, map[string]any{"kind": out.Kind, "role": out.Role, "read_only": out.ReadOnly})
	})
	return out, err
}

// ListPersonalTokens returns a user's tokens (prefix only).
func (s *Store) ListPersonalTokens(ctx context.Context, userID int64) ([]model.APIToken, error) {
	rows, err := s.queries().ListUserTokens(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out := make([]model.APIToken, len(rows))
	for i, r := range rows {
		out[i] = toToken(db.ApiToken{ID: r.ID, Name: r.Name, Prefix: r.Prefix, UserID: r.UserID, ProjectID: r.ProjectID, Role: r.Role,
			ReadOnly: r.ReadOnly, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, LastUsedAt: r.LastUsedAt, RevokedAt: r.RevokedAt}, r.ProjectKey)
	}
	return out, nil
}

// ListServiceTokens returns a project's service tokens (prefix only).
func (s *Store) ListServiceTokens(ctx context.Context, projectKey string) ([]model.APIToken, error) {
	q := s.queries()
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return nil, err
	}
	rows, err := q.ListServiceTokens(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out := make([]model.APIToken, len(rows))
	for i, r := range rows {
		out[i] = toToken(db.ApiToken{ID: r.ID, Name: r.Name, Prefix: r.Prefix, UserID: r.UserID, ProjectID: r.ProjectID, Role: r.Role,
			ReadOnly: r.ReadOnly, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, LastUsedAt: r.LastUsedAt, RevokedAt: r.RevokedAt}, &r.ProjectKey)
	}
	return out, nil
}

// RevokeToken revokes a token if owns(its user id, its project key) holds
// (the caller's rule: a user's own token, or a service token of the
// project in the URL); else it answers not found.
func (s *Store) RevokeToken(ctx context.Context, id int64, owns func(userID *int64, projectKey *string) bool) (model.APIToken, error) {
	var out model.APIToken
	err := s.change(ctx, func(q *db.Queries) error {
		r, err := q.GetAPITokenByID(ctx, id)
		if isNoRows(err) {
			return errs.NotFound("token %d", id)
		}
		if err != nil {
			return fmt.Errorf("get token: %w", err)
		}
		if !owns(r.UserID, r.ProjectKey) {
			return errs.NotFound("token %d", id)
		}
		t, err := q.RevokeAPIToken(ctx, id)
		if err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		out = toToken(t, r.ProjectKey)
		return securityEvent(ctx, q, "token_revoked", t.Name, r.ProjectKey, map[string]any{"kind": out.Kind})
	})
	return out, err
}

// SetEnvironmentProtected marks an environment protected (only admins
// change flags there) or not.
func (s *Store) SetEnvironmentProtected(ctx context.Context, projectKey, envKey string, protected bool) (model.Environment, error) {
	var out model.Environment
	err := s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		e, err := q.SetEnvironmentProtected(ctx, db.SetEnvironmentProtectedParams{ProjectID: p.ID, Key: envKey, Protected: protected})
		if isNoRows(err) {
			return errs.NotFound("environment %q", envKey)
		}
		if err != nil {
			return fmt.Errorf("protect environment: %w", err)
		}
		out = toEnvironment(e)
		return securityEvent(ctx, q, "environment_protection_changed", envKey, &projectKey, map[string]any{"protected": protected})
	})
	return out, err
}

// EnvironmentProtected reports whether an environment is protected (false
// for one that does not exist: the handler answers 404 then).
func (s *Store) EnvironmentProtected(ctx context.Context, projectKey, envKey string) (bool, error) {
	p, err := s.queries().EnvironmentProtected(ctx, db.EnvironmentProtectedParams{ProjectKey: projectKey, EnvironmentKey: envKey})
	if isNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("environment protected: %w", err)
	}
	return p, nil
}

type clientAddrKey struct{}

// WithClientAddr returns a context whose security events record addr.
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

func securityEvent(ctx context.Context, q *db.Queries, typ, subject string, projectKey *string, detail map[string]any) error {
	return insertSecurityEvent(ctx, q, typ, ActorFrom(ctx), subject, projectKey, detail)
}

func insertSecurityEvent(ctx context.Context, q *db.Queries, typ, actor, subject string, projectKey *string, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	b, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("security event detail: %w", err)
	}
	addr, _ := ctx.Value(clientAddrKey{}).(string)
	if err := q.InsertSecurityEvent(ctx, db.InsertSecurityEventParams{EventType: typ, Actor: actor, Subject: subject,
		ProjectKey: projectKey, ClientAddr: addr, Detail: b}); err != nil {
		return fmt.Errorf("security event %s: %w", typ, err)
	}
	return nil
}

// LogSecurity records a security event outside any change (logins,
// failed logins, logouts). actor is who acted or, for a failed login, the
// email tried.
func (s *Store) LogSecurity(ctx context.Context, typ, actor, subject string, detail map[string]any) error {
	return insertSecurityEvent(ctx, s.queries(), typ, actor, subject, nil, detail)
}

// ListSecurityEvents returns the security log, newest first, before the
// event id before (0: from the newest).
func (s *Store) ListSecurityEvents(ctx context.Context, before int64, limit int) ([]model.SecurityEvent, error) {
	var b *int64
	if before > 0 {
		b = &before
	}
	rows, err := s.queries().ListSecurityEvents(ctx, db.ListSecurityEventsParams{Before: b, Lim: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("list security events: %w", err)
	}
	out := make([]model.SecurityEvent, len(rows))
	for i, r := range rows {
		var d map[string]any
		_ = json.Unmarshal(r.Detail, &d)
		out[i] = model.SecurityEvent{ID: r.ID, At: r.At, Type: r.EventType, Actor: r.Actor, Subject: r.Subject,
			Project: r.ProjectKey, ClientAddr: r.ClientAddr, Detail: d}
	}
	return out, nil
}

// CreatePersonalTokenFor creates a personal token for the user with this
// email (the command line's `waypost tokens create`).
func (s *Store) CreatePersonalTokenFor(ctx context.Context, email string, in model.CreateToken) (model.APIToken, error) {
	u, err := s.queries().GetUserByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if isNoRows(err) {
		return model.APIToken{}, errs.NotFound("user %q", email)
	}
	if err != nil {
		return model.APIToken{}, fmt.Errorf("get user: %w", err)
	}
	return s.CreatePersonalToken(ctx, u.ID, in)
}

// DeleteEndedSessions deletes sessions past their absolute timeout or idle
// longer than idle.
func (s *Store) DeleteEndedSessions(ctx context.Context, idle time.Duration) (int64, error) {
	n, err := s.queries().DeleteExpiredSessions(ctx, time.Now().Add(-idle))
	if err != nil {
		return 0, fmt.Errorf("delete ended sessions: %w", err)
	}
	return n, nil
}

// OIDCIdentity is a verified single-sign-on identity.
type OIDCIdentity struct {
	Subject string // issuer|sub
	Email   string
	Name    string
	Role    string // from the role claim: viewer, editor, admin, owner, or ""
}

// SignInOIDC returns the account of a verified identity: the one linked to
// its subject, else the one with its (verified) email, which is linked,
// else a new account (just-in-time, no password). A role claim sets the
// role at every sign-in (owner, or a role in the default project).
func (s *Store) SignInOIDC(ctx context.Context, in OIDCIdentity) (model.User, error) {
	if in.Name == "" {
		in.Name = in.Email
	}
	cu := model.CreateUser{Email: in.Email, Name: in.Name}
	if err := cu.Validate(); err != nil {
		return model.User{}, err
	}
	var out model.User
	err := s.change(ctx, func(q *db.Queries) error {
		u, err := q.GetUserByOIDCSubject(ctx, &in.Subject)
		if isNoRows(err) {
			u, err = q.GetUserByEmail(ctx, cu.Email)
			if err == nil {
				if u.OidcSubject != nil && *u.OidcSubject != in.Subject {
					return errs.Forbidden("%s is linked to another single sign-on identity", cu.Email)
				}
				err = q.LinkOIDCSubject(ctx, db.LinkOIDCSubjectParams{ID: u.ID, OidcSubject: &in.Subject})
			} else if isNoRows(err) {
				u, err = q.CreateUser(ctx, db.CreateUserParams{Email: cu.Email, Name: cu.Name, IsOwner: in.Role == "owner", OidcSubject: &in.Subject})
				if err == nil {
					err = securityEvent(ctx, q, "user_created", u.Email, nil, map[string]any{"sso": true, "owner": u.IsOwner})
				}
			}
		}
		if err != nil {
			return mapErr(fmt.Errorf("oidc user: %w", err))
		}
		if u.DisabledAt != nil {
			return errs.Forbidden("this account is disabled")
		}
		switch in.Role {
		case "owner":
			if !u.IsOwner {
				if u, err = q.UpdateUser(ctx, db.UpdateUserParams{ID: u.ID, Name: u.Name, IsOwner: true}); err != nil {
					return fmt.Errorf("promote: %w", err)
				}
				if err := securityEvent(ctx, q, "role_changed", u.Email, nil, map[string]any{"owner": true, "by": "role claim"}); err != nil {
					return err
				}
			}
		case "viewer", "editor", "admin":
			p, err := project(ctx, q, "default")
			if err != nil {
				return err
			}
			if cur, err := q.MemberRole(ctx, db.MemberRoleParams{Key: "default", UserID: u.ID}); err != nil || cur != in.Role {
				if _, err := q.UpsertMember(ctx, db.UpsertMemberParams{ProjectID: p.ID, UserID: u.ID, Role: in.Role}); err != nil {
					return fmt.Errorf("member: %w", err)
				}
				if err := securityEvent(ctx, q, "role_changed", u.Email, &p.Key, map[string]any{"role": in.Role, "by": "role claim"}); err != nil {
					return err
				}
			}
		}
		out = toUser(u)
		return nil
	})
	return out, err
}
