package eval

import "strings"

// semver is a parsed semantic version (semver.org 2.0.0). Minor and patch
// may be omitted ("17", "17.2" read as 17.0.0, 17.2.0); numeric parts have
// no leading zeros and at most 15 digits, so every SDK holds them exactly.
// Build metadata is ignored. pre is the pre-release part ("" for none),
// a substring of the parsed text, so parsing does not allocate.
type semver struct {
	major, minor, patch int64
	pre                 string
}

const maxSemverDigits = 15

// parseSemver parses s. Versions without pre-release or build parts
// ("21.2.0", the common attribute value) take one pass over the bytes;
// the others go through parseSemverFull.
func parseSemver(s string) (semver, bool) {
	var parts [3]int64
	n, start := 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			c := s[i]
			if c >= '0' && c <= '9' {
				continue
			}
			if c == '-' || c == '+' {
				return parseSemverFull(s)
			}
			if c != '.' {
				return semver{}, false
			}
		}
		// s[start:i] is a part of digits only.
		d := i - start
		if d == 0 || d > maxSemverDigits || (d > 1 && s[start] == '0') || n == 3 {
			return semver{}, false
		}
		var x int64
		for j := start; j < i; j++ {
			x = x*10 + int64(s[j]-'0')
		}
		parts[n] = x
		n++
		start = i + 1
	}
	return semver{major: parts[0], minor: parts[1], patch: parts[2]}, true
}

// parseSemverFull is the general parser, pre-release and build included.
func parseSemverFull(s string) (semver, bool) {
	var v semver
	end := len(s)
	if i := strings.IndexByte(s, '+'); i >= 0 {
		if !validIdentifiers(s[i+1:], false) {
			return semver{}, false
		}
		end = i
	}
	core := s[:end]
	if i := strings.IndexByte(core, '-'); i >= 0 {
		v.pre = core[i+1:]
		if !validIdentifiers(v.pre, true) {
			return semver{}, false
		}
		core = core[:i]
	}
	var parts [3]int64
	n := 0
	for {
		i := strings.IndexByte(core, '.')
		part := core
		if i >= 0 {
			part = core[:i]
		}
		x, ok := numericIdentifier(part)
		if !ok || n == 3 {
			return semver{}, false
		}
		parts[n] = x
		n++
		if i < 0 {
			break
		}
		core = core[i+1:]
	}
	v.major, v.minor, v.patch = parts[0], parts[1], parts[2]
	return v, true
}

// numericIdentifier parses 1..15 digits without a leading zero.
func numericIdentifier(s string) (int64, bool) {
	if len(s) == 0 || len(s) > maxSemverDigits || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var x int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		x = x*10 + int64(c-'0')
	}
	return x, true
}

// validIdentifiers checks dot-separated non-empty [0-9A-Za-z-] identifiers;
// for a pre-release, all-digit identifiers must be numeric identifiers.
func validIdentifiers(s string, pre bool) bool {
	if s == "" {
		return false
	}
	for s != "" {
		id := s
		if i := strings.IndexByte(s, '.'); i >= 0 {
			id, s = s[:i], s[i+1:]
			if s == "" {
				return false
			}
		} else {
			s = ""
		}
		if id == "" {
			return false
		}
		allDigits := true
		for i := 0; i < len(id); i++ {
			c := id[i]
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
				allDigits = false
			default:
				return false
			}
		}
		if pre && allDigits {
			if _, ok := numericIdentifier(id); !ok {
				return false
			}
		}
	}
	return true
}

// compareSemver returns -1, 0 or +1 following semver precedence.
func compareSemver(a, b semver) int {
	if c := cmpInt(a.major, b.major); c != 0 {
		return c
	}
	if c := cmpInt(a.minor, b.minor); c != 0 {
		return c
	}
	if c := cmpInt(a.patch, b.patch); c != 0 {
		return c
	}
	switch {
	case a.pre == b.pre:
		return 0
	case a.pre == "":
		return 1
	case b.pre == "":
		return -1
	}
	x, y := a.pre, b.pre
	for {
		if x == "" || y == "" {
			return cmpInt(int64(len(x)), int64(len(y))) // the longer set wins
		}
		var ix, iy string
		ix, x = nextIdentifier(x)
		iy, y = nextIdentifier(y)
		nx, okx := numericIdentifier(ix)
		ny, oky := numericIdentifier(iy)
		switch {
		case okx && oky:
			if c := cmpInt(nx, ny); c != 0 {
				return c
			}
		case okx:
			return -1 // numeric identifiers sort before alphanumeric ones
		case oky:
			return 1
		default:
			if c := strings.Compare(ix, iy); c != 0 {
				return c
			}
		}
	}
}

func nextIdentifier(s string) (id, rest string) {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
