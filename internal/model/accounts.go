package model

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/waypost/waypost/internal/errs"
)

// Limits on account input. Passwords are bounded so that hashing an
// attacker's megabyte costs nothing extra.
const (
	MaxEmailLen    = 254
	MinPasswordLen = 10
	MaxPasswordLen = 256
)

// User is an account as the API shows it (never its password hash).
type User struct {
	ID          int64      `json:"id"`
	Email       string     `json:"email"`
	Name        string     `json:"name"`
	Owner       bool       `json:"owner"`
	SSO         bool       `json:"sso"`
	Disabled    bool       `json:"disabled"`
	CreatedAt   time.Time  `json:"created_at"`
	LastLoginAt *time.Time `json:"last_login_at"`
}

// Member is a user's role in a project.
type Member struct {
	UserID    int64     `json:"user_id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// APIToken describes a token. Secret is set only in the response that
// creates it.
type APIToken struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Secret     string     `json:"secret,omitempty"`
	Kind       string     `json:"kind"` // personal or service
	Project    string     `json:"project,omitempty"`
	Role       string     `json:"role,omitempty"`
	ReadOnly   bool       `json:"read_only"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// SecurityEvent is one entry of the security log.
type SecurityEvent struct {
	ID         int64          `json:"id"`
	At         time.Time      `json:"at"`
	Type       string         `json:"type"`
	Actor      string         `json:"actor"`
	Subject    string         `json:"subject"`
	Project    *string        `json:"project"`
	ClientAddr string         `json:"client_addr"`
	Detail     map[string]any `json:"detail"`
}

// Login is the body of POST /auth/login.
type Login struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// Validate checks the shape only; whether the password is right is the
// store's business.
func (r *Login) Validate() error {
	if err := cleanEmail("email", &r.Email); err != nil {
		return err
	}
	return checkPassword("password", r.Password, false)
}

// CreateUser is the body of POST /users (and of the first-run setup).
type CreateUser struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Password string `json:"password"`
	Owner    bool   `json:"owner"`
}

// Validate checks and normalises the request. A user without a password
// can sign in only with single sign-on.
func (r *CreateUser) Validate() error {
	if err := cleanEmail("email", &r.Email); err != nil {
		return err
	}
	if r.Name == "" {
		r.Name = r.Email
	}
	if err := cleanName("name", &r.Name); err != nil {
		return err
	}
	if r.Password == "" {
		return nil
	}
	return checkPassword("password", r.Password, true)
}

// UpdateUser is the body of PATCH /users/{id}; absent fields are kept.
type UpdateUser struct {
	Name     *string `json:"name"`
	Owner    *bool   `json:"owner"`
	Disabled *bool   `json:"disabled"`
	Password *string `json:"password"`
}

// Validate checks and normalises the request.
func (r *UpdateUser) Validate() error {
	if r.Name != nil {
		if err := cleanName("name", r.Name); err != nil {
			return err
		}
	}
	if r.Password != nil {
		return checkPassword("password", *r.Password, true)
	}
	return nil
}

// ChangePassword is the body of POST /auth/password.
type ChangePassword struct {
	Current string `json:"current_password"`
	New     string `json:"new_password"`
}

// Validate checks the request.
func (r *ChangePassword) Validate() error {
	if err := checkPassword("current_password", r.Current, false); err != nil {
		return err
	}
	return checkPassword("new_password", r.New, true)
}

// SetMember is the body of PUT /projects/{project}/members: give the user
// with this email a role.
type SetMember struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

// Validate checks and normalises the request.
func (r *SetMember) Validate() error {
	if err := cleanEmail("email", &r.Email); err != nil {
		return err
	}
	return CheckRole("role", r.Role)
}

// CheckRole refuses anything but viewer, editor or admin.
func CheckRole(field, role string) error {
	switch role {
	case "viewer", "editor", "admin":
		return nil
	}
	return errs.Invalid(field, "must be viewer, editor or admin")
}

// CreateToken is the body of POST /auth/tokens (personal) and of POST
// /projects/{project}/tokens (service: Role required, ReadOnly and Project
// not allowed).
type CreateToken struct {
	Name      string     `json:"name"`
	ReadOnly  bool       `json:"read_only"`
	Project   string     `json:"project"`
	Role      string     `json:"role"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// Validate checks and normalises a personal token request.
func (r *CreateToken) Validate() error {
	if err := r.common(); err != nil {
		return err
	}
	if r.Role != "" {
		return errs.Invalid("role", "personal tokens act with their user's roles; use a service token for a fixed role")
	}
	if r.Project != "" {
		return checkKey("project", r.Project)
	}
	return nil
}

// ValidateService checks and normalises a service token request.
func (r *CreateToken) ValidateService() error {
	if err := r.common(); err != nil {
		return err
	}
	if r.Project != "" || r.ReadOnly {
		return errs.Invalid("project", "a service token belongs to the project in its URL; give it the viewer role to make it read-only")
	}
	return CheckRole("role", r.Role)
}

func (r *CreateToken) common() error {
	if err := cleanName("name", &r.Name); err != nil {
		return err
	}
	if r.ExpiresAt != nil && !r.ExpiresAt.After(time.Now()) {
		return errs.Invalid("expires_at", "must be in the future")
	}
	return nil
}

// SetProtected is the body of PUT .../environments/{environment}/protection.
type SetProtected struct {
	Protected bool `json:"protected"`
}

// Validate has nothing to check.
func (r *SetProtected) Validate() error { return nil }

func cleanEmail(field string, email *string) error {
	e := strings.ToLower(strings.TrimSpace(*email))
	if e == "" {
		return errs.Invalid(field, "is required")
	}
	if len(e) > MaxEmailLen || !utf8.ValidString(e) {
		return errs.Invalid(field, "must be valid text of at most %d bytes", MaxEmailLen)
	}
	at := strings.LastIndexByte(e, '@')
	if at < 1 || at == len(e)-1 || strings.ContainsFunc(e, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return errs.Invalid(field, "must be an email address such as jill@example.com")
	}
	*email = e
	return nil
}

func checkPassword(field, pw string, isNew bool) error {
	if pw == "" {
		return errs.Invalid(field, "is required")
	}
	if len(pw) > MaxPasswordLen || !utf8.ValidString(pw) {
		return errs.Invalid(field, "must be valid text of at most %d bytes", MaxPasswordLen)
	}
	if isNew && utf8.RuneCountInString(pw) < MinPasswordLen {
		return errs.Invalid(field, "must be at least %d characters", MinPasswordLen)
	}
	return nil
}
