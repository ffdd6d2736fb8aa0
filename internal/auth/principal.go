package auth

import "context"

// Role is a project role. Owners (an instance-wide mark on a user) are
// admins in every project.
type Role string

// Project roles, weakest first.
const (
	RoleNone   Role = ""
	RoleViewer Role = "viewer"
	RoleEditor Role = "editor"
	RoleAdmin  Role = "admin"
)

// Rank orders roles: none 0, viewer 1, editor 2, admin 3; unknown roles 0.
func (r Role) Rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleEditor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of the three project roles.
func (r Role) Valid() bool { return r.Rank() > 0 }

// Principal is who is acting on a request: a user signed in with a
// session, a user's personal token, or a service token.
type Principal struct {
	UserID int64 // 0 for a service token
	Email  string
	Name   string
	Owner  bool // instance owner (never through a narrowed token)

	TokenID   int64  // set when authenticated by an API token
	TokenName string // ditto
	ReadOnly  bool   // a read-only personal token
	// Project narrows a token to one project (service tokens always).
	Project string
	// ServiceRole is a service token's role in Project.
	ServiceRole Role

	SessionHash []byte // set when authenticated by a session cookie
	CSRFToken   string
}

// Service reports whether p is a service token.
func (p *Principal) Service() bool { return p.UserID == 0 }

// Actor is the name written to the audit logs (waypost.actor): the user's
// email, with the token's name when a token acts.
func (p *Principal) Actor() string {
	switch {
	case p.Service():
		return "token:" + p.TokenName
	case p.TokenID != 0:
		return p.Email + " (token " + p.TokenName + ")"
	}
	return p.Email
}

// Cap limits a role the principal's user holds in project to what the
// credential allows: a token narrowed to another project gets none, a
// read-only token at most viewer.
func (p *Principal) Cap(project string, r Role) Role {
	if p.Project != "" && p.Project != project {
		return RoleNone
	}
	if p.ReadOnly && r.Rank() > RoleViewer.Rank() {
		return RoleViewer
	}
	return r
}

type principalKey struct{}

// WithPrincipal attaches p to ctx.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// From returns the principal of ctx, or nil.
func From(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
