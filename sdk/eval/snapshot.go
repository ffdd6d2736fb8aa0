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
	segments    map[string]*compiledSegment
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
