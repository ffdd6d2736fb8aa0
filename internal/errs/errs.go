// Package errs holds Waypost's typed errors. Storage and domain code return
// them; the API maps their Kind to an HTTP status in exactly one place
// (api/respond.go). Anything that is not an *Error is an internal failure:
// logged, and answered with a generic 500 that leaks nothing.
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

const (
	// KindInternal is a failure of Waypost or its database; not the caller's fault.
	KindInternal Kind = iota
	// KindBadRequest: the request could not be read (malformed JSON, unknown field).
	KindBadRequest
	// KindInvalid: the request was read but a value breaks a rule (names Field).
	KindInvalid
	// KindNotFound: the named resource does not exist.
	KindNotFound
	// KindConflict: duplicate key, or the resource changed since the caller read it.
	KindConflict
	// KindUnavailable: a dependency (an events database, say) cannot be reached.
	KindUnavailable
	// KindUnsupportedMediaType: the body is not of the required media type (JSON).
	KindUnsupportedMediaType
)

// Error is a typed, user-facing error.
type Error struct {
	Kind    Kind
	Code    string // stable machine-readable code, e.g. "not_found", "version_conflict"
	Message string // human-readable, safe to show
	Field   string // JSON path of the offending field, for KindInvalid
	Current any    // for version conflicts: the current state of the resource
	Err     error  // optional cause (not shown to callers)
	// Fields, for KindInvalid, lists every invalid field of the request
	// (the first is Field and Message); see Problems.
	Fields []FieldError
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// IsKind reports whether err carries a typed error of kind k.
func IsKind(err error, k Kind) bool {
	e, ok := As(err)
	return ok && e.Kind == k
}

// BadRequest reports an unreadable request.
func BadRequest(format string, a ...any) *Error {
	return &Error{Kind: KindBadRequest, Code: "bad_request", Message: fmt.Sprintf(format, a...)}
}

// Invalid reports a rule broken by the value at field.
func Invalid(field, format string, a ...any) *Error {
	return &Error{Kind: KindInvalid, Code: "invalid", Field: field, Message: fmt.Sprintf(format, a...)}
}

// NotFound reports a missing resource, e.g. NotFound("flag %q", key).
func NotFound(format string, a ...any) *Error {
	return &Error{Kind: KindNotFound, Code: "not_found", Message: fmt.Sprintf(format, a...) + " not found"}
}

// Duplicate reports a unique-key conflict.
func Duplicate(field, format string, a ...any) *Error {
	return &Error{Kind: KindConflict, Code: "duplicate", Field: field, Message: fmt.Sprintf(format, a...)}
}

// VersionConflict reports a stale update; current is the state the caller
// should re-read and re-apply its change to.
func VersionConflict(what string, current any) *Error {
	return &Error{Kind: KindConflict, Code: "version_conflict",
		Message: what + " was changed by someone else; re-apply your change to the current version", Current: current}
}

// Unavailable reports an unreachable dependency.
func Unavailable(msg string, cause error) *Error {
	return &Error{Kind: KindUnavailable, Code: "unavailable", Message: msg, Err: cause}
}

// Kinds for authentication and authorization (accounts, issue 9).
const (
	// KindUnauthenticated: no credentials, or they are not valid (401).
	KindUnauthenticated Kind = iota + 100
	// KindForbidden: valid credentials without the role for this (403).
	KindForbidden
	// KindTooManyRequests: throttled; try again later (429).
	KindTooManyRequests
)

// Unauthenticated reports missing or invalid credentials.
func Unauthenticated(format string, a ...any) *Error {
	return &Error{Kind: KindUnauthenticated, Code: "unauthenticated", Message: fmt.Sprintf(format, a...)}
}

// Forbidden reports a caller without the needed role.
func Forbidden(format string, a ...any) *Error {
	return &Error{Kind: KindForbidden, Code: "forbidden", Message: fmt.Sprintf(format, a...)}
}

// FieldError is one invalid field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problems collects the invalid fields of a request so that all of them
// are reported at once (a form flags every field, not the first only).
// The zero value is ready to use.
type Problems struct {
	list  []*Error
	other error
}

// Add records err (nil is ignored) and reports whether it was an error.
// An error that is not KindInvalid (the request cannot be checked
// further) wins over the invalid fields.
func (p *Problems) Add(err error) bool {
	if err == nil {
		return false
	}
	if e, ok := As(err); ok && e.Kind == KindInvalid {
		// One message per field (the first); an error carrying several
		// fields adds each of them.
		if len(e.Fields) == 0 {
			if !p.Has(e.Field) || e.Field == "" {
				p.list = append(p.list, e)
			}
			return true
		}
		for _, f := range e.Fields {
			if !p.Has(f.Field) {
				p.list = append(p.list, &Error{Kind: KindInvalid, Code: e.Code, Field: f.Field, Message: f.Message})
			}
		}
	} else if p.other == nil {
		p.other = err
	}
	return true
}

// Has reports whether field already has a problem.
func (p *Problems) Has(field string) bool {
	for _, e := range p.list {
		if e.Field == field {
			return true
		}
	}
	return false
}

// Err is nil without problems; otherwise the first invalid field's error
// (Field, Message and Code as before) carrying every invalid field in
// Fields.
func (p *Problems) Err() error {
	if p.other != nil {
		return p.other
	}
	if len(p.list) == 0 {
		return nil
	}
	first := *p.list[0]
	for _, e := range p.list {
		first.Fields = append(first.Fields, FieldError{Field: e.Field, Message: e.Message})
	}
	return &first
}

// BadGateway reports that a server Waypost talks to (an events database)
// could not be reached or answered: the request was fine.
func BadGateway(code, msg string, cause error) *Error {
	return &Error{Kind: KindBadGateway, Code: code, Message: msg, Err: cause}
}

// KindBadGateway: an upstream server (an events database) could not be
// reached; the caller's request was valid (502).
const KindBadGateway Kind = 200
