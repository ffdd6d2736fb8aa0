package eval

// Snapshot is a compiled, immutable flag set. All methods are safe for
// concurrent use; SDKs replace a whole Snapshot (e.g. with atomic.Pointer)
// when a new revision arrives. A nil *Snapshot behaves as an empty set.
type Snapshot struct {
	project     string
	environment string
	revision    int64
	flags       map[string]*compiledFlag
	keys        []string // sorted
}

// Project returns the project the flag set belongs to.
func (s *Snapshot) Project() string {
	if s == nil {
		return ""
	}
	return s.project
}

// Environment returns the environment the flag set belongs to.
func (s *Snapshot) Environment() string {
	if s == nil {
		return ""
	}
	return s.environment
}

// Revision returns the flag set revision.
func (s *Snapshot) Revision() int64 {
	if s == nil {
		return 0
	}
	return s.revision
}

// Keys returns the flag keys in ascending order. The slice is a copy.
func (s *Snapshot) Keys() []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s.keys...)
}

// Flag returns a deep copy of the wire definition of the flag with the
// given key.
func (s *Snapshot) Flag(key string) (Flag, bool) {
	if s == nil {
		return Flag{}, false
	}
	cf, ok := s.flags[key]
	if !ok {
		return Flag{}, false
	}
	return cf.def.clone(), true
}

// NeedsTargetingKey reports whether the flag's default path depends on the
// targeting key: a running experiment or a default rollout that splits.
// Servers use it to tell a caller that forgot the key from one that got
// the default on purpose. False for unknown flags.
func (s *Snapshot) NeedsTargetingKey(key string) bool {
	if s == nil {
		return false
	}
	cf, ok := s.flags[key]
	return ok && (cf.experiment || cf.static < 0)
}
