package waypost

import (
	"errors"
	"fmt"
)

// State is the connection state of a Client.
type State int

// Connection states.
const (
	// StateStarting: the first connection attempt is under way.
	StateStarting State = iota
	// StateConnected: the stream is open; flags are current.
	StateConnected
	// StateDisconnected: the stream is down and being retried with
	// backoff; the last known flags are served.
	StateDisconnected
	// StateFailed: the provider rejected the key (401, 403 or a
	// key_revoked event). The client does not retry and keeps serving
	// the last known flags.
	StateFailed
	// StateClosed: Close was called.
	StateClosed
)

func (s State) String() string {
	switch s {
	case StateStarting:
		return "starting"
	case StateConnected:
		return "connected"
	case StateDisconnected:
		return "disconnected"
	case StateFailed:
		return "failed"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Source says where the served flag set came from.
type Source string

// Flag set sources.
const (
	SourceNone      Source = ""          // no flag set yet
	SourceBootstrap Source = "bootstrap" // Config.Bootstrap or BootstrapFile
	SourceProvider  Source = "provider"  // the Waypost provider
)

// Status is a point-in-time view of a Client.
type Status struct {
	State State
	// Source of the flag set being served, SourceNone before any.
	Source Source
	// Revision of the flag set being served (0 before any).
	Revision int64
	// Err is the last connection or validation error, nil after a
	// successful connection.
	Err error
}

// Ready reports whether a flag set is being served.
func (s Status) Ready() bool { return s.Source != SourceNone }

// Errors reported by Status().Err and WaitForReady.
var (
	// ErrUnauthorized: the provider answered 401 (unknown or revoked key).
	ErrUnauthorized = errors.New("waypost: sdk key rejected (401)")
	// ErrForbidden: the provider answered 403 (e.g. a client key).
	ErrForbidden = errors.New("waypost: sdk key not allowed (403)")
	// ErrKeyRevoked: the provider revoked the key while streaming.
	ErrKeyRevoked = errors.New("waypost: sdk key revoked")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("waypost: client closed")
)

// isFinal reports whether err must stop reconnection.
func isFinal(err error) bool {
	return errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrForbidden) || errors.Is(err, ErrKeyRevoked)
}

// ChangeEvent reports a new flag set that changed at least one flag.
type ChangeEvent struct {
	Revision    int64
	ChangedKeys []string // sorted; added, changed and deleted flags
}

// EventKind tells which field of an Event is set.
type EventKind int

// Event kinds.
const (
	EventChange EventKind = iota + 1 // Event.Change is set
	EventStatus                      // Event.Status is set
)

// Event is a notification delivered to functions registered with
// Client.Listen.
type Event struct {
	Kind   EventKind
	Change ChangeEvent
	Status Status
}
